"""LLM text watermark: a keyed green list (Kirchenbauer et al. 2023) over token ids, and its detector.

Deep Synthesis Provisions Art. 16 and the Labeling Measures Art. 5 ask for implicit marks in
generated content; GB 45438 lets the implicit label of text be a watermark. A technology supporter
(Art. 5 of the Measures) plugs :class:`GreenListProcessor` into its sampler: logits in (numpy, one
row per sequence), logits out, with ``delta`` added to the "green" part of the vocabulary. Which
tokens are green depends on the provider key and the previous token (a keyed order of the
vocabulary and a keyed hash of the context), so the list changes at every step and cannot be
read off a few outputs without the key.
Anyone holding the key recounts the green tokens (:func:`detect_tokens`); under H0 (text written
without the key) each token is green with probability ``gamma`` independently, so the count gives
a one-sided z-score and an exact-enough normal p-value.

It works on token ids only, so it is tokenizer-agnostic: the detector needs the same tokenizer
as the generator (the provider's own), nothing else.

Why hand-written: the reference implementation (``lm-watermarking``) is torch/transformers-bound;
this is ~100 lines of numpy whose per-step work is one gather of the green ids.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import cast

import numpy as np
import numpy.typing as npt

DEFAULT_GAMMA = 0.25
DEFAULT_DELTA = 1.75
DEFAULT_Z_THRESHOLD = 4.0  # one-sided p ~ 3.2e-5 per text

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    # splitmix64 finaliser: a fast keyed hash whose low and high bits are both well mixed.
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
        return x ^ (x >> np.uint64(31))


@cache
def _ranks(key: bytes, vocab_size: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], np.uint64]:
    """A keyed random order of the vocabulary (token -> rank, rank -> token) and the context seed."""
    seed = np.uint64(
        int.from_bytes(hashlib.sha256(b"synthguard/watermark/text/v1/" + key).digest()[:8], "big")
    )
    order = np.argsort(_mix(np.arange(vocab_size, dtype=np.uint64) ^ seed), kind="stable").astype(np.int64)
    rank = np.empty(vocab_size, dtype=np.int64)
    rank[order] = np.arange(vocab_size)
    return rank, order, seed


def _offsets(previous: npt.NDArray[np.uint64], seed: np.uint64, vocab_size: int) -> npt.NDArray[np.int64]:
    with np.errstate(over="ignore"):
        return (_mix(seed ^ (previous * _GOLDEN)) % np.uint64(vocab_size)).astype(np.int64)


@dataclass(frozen=True)
class TextDetection:
    tokens_scored: int
    green: int
    z: float
    p_value: float
    detected: bool


class GreenListProcessor:
    """Bias the logits of the next token towards the key's green list for the previous token.

    The green list for a context is a window of ``gamma * vocab`` consecutive ranks in a keyed
    random order of the vocabulary, starting at a keyed hash of the previous token: one gather
    of the window's token ids per step, so the cost stays ~tens of microseconds at 150k tokens.
    """

    def __init__(
        self, key: bytes, vocab_size: int, *, gamma: float = DEFAULT_GAMMA, delta: float = DEFAULT_DELTA
    ) -> None:
        if not 0.0 < gamma < 1.0:
            raise ValueError("gamma must be in (0, 1)")
        if vocab_size < 2:
            raise ValueError("vocab_size must be at least 2")
        self.vocab_size = vocab_size
        self.gamma = gamma
        self.delta = delta
        self._rank, self._order, self._seed = _ranks(key, vocab_size)
        self._width = max(1, round(gamma * vocab_size))
        self._window = np.arange(self._width, dtype=np.int64)

    def green_ids(self, previous: int) -> npt.NDArray[np.int64]:
        start = int(_offsets(np.asarray([previous % 2**64], dtype=np.uint64), self._seed, self.vocab_size)[0])
        ids: npt.NDArray[np.int64] = self._order[(start + self._window) % self.vocab_size]
        return ids

    def green_mask(self, previous: int) -> npt.NDArray[np.bool_]:
        mask = np.zeros(self.vocab_size, dtype=bool)
        mask[self.green_ids(previous)] = True
        return mask

    def __call__(
        self, input_ids: Sequence[Sequence[int]] | Sequence[int], logits: npt.NDArray[np.floating]
    ) -> npt.NDArray[np.float64]:
        """``input_ids``: the tokens so far (one sequence, or one per row of ``logits``)."""
        scores = np.array(logits, dtype=np.float64, copy=True)
        rows = scores.reshape(-1, scores.shape[-1])
        single = len(input_ids) == 0 or isinstance(input_ids[0], (int, np.integer))
        batch: list[Sequence[int]] = (
            [cast("Sequence[int]", input_ids)] if single else list(cast("Sequence[Sequence[int]]", input_ids))
        )
        for row, ids in zip(rows, batch, strict=True):
            if len(ids) == 0:
                continue
            green = self.green_ids(int(ids[-1]))
            row[green[green < row.shape[0]]] += self.delta
        return scores

    def is_green(self, previous: int, token: int) -> bool:
        start = int(_offsets(np.asarray([previous % 2**64], dtype=np.uint64), self._seed, self.vocab_size)[0])
        return bool((self._rank[token] - start) % self.vocab_size < self._width)


def detect_tokens(
    tokens: Sequence[int],
    key: bytes,
    vocab_size: int,
    *,
    gamma: float = DEFAULT_GAMMA,
    z_threshold: float = DEFAULT_Z_THRESHOLD,
) -> TextDetection:
    """Count green tokens; a repeated (previous, token) pair counts once, so loops cannot inflate z."""
    ids = [int(t) for t in tokens]
    pairs = [
        (a, b)
        for a, b in dict.fromkeys(itertools.pairwise(ids))
        if 0 <= a < vocab_size and 0 <= b < vocab_size
    ]
    if not pairs:
        return TextDetection(0, 0, 0.0, 1.0, False)
    rank, _, seed = _ranks(key, vocab_size)
    width = max(1, round(gamma * vocab_size))
    prev = np.array([a for a, _ in pairs], dtype=np.uint64)
    tok = np.array([b for _, b in pairs], dtype=np.int64)
    green = int(np.count_nonzero((rank[tok] - _offsets(prev, seed, vocab_size)) % vocab_size < width))
    n = len(pairs)
    gam = width / vocab_size
    z = (green - gam * n) / math.sqrt(n * gam * (1 - gam))
    p_value = 0.5 * math.erfc(z / math.sqrt(2))
    return TextDetection(n, green, z, p_value, z >= z_threshold)
