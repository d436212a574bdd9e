"""LLM text watermark: a keyed green list (Kirchenbauer et al. 2023) over token ids, and its detector.

Deep Synthesis Provisions Art. 16 and the Labeling Measures Art. 5 ask for implicit marks in
generated content; GB 45438 lets the implicit label of text be a watermark. A technology supporter
(Art. 5 of the Measures) plugs :class:`GreenListProcessor` into its sampler: logits in (a numpy
array or a torch tensor, one row per sequence), logits out, with ``delta`` added to the "green" part
of the vocabulary. Which tokens are green depends on the provider key and the previous token (a
keyed order of the vocabulary and a keyed hash of the context), so the list changes at every step
and cannot be read off a few outputs without the key.
Anyone holding the key recounts the green tokens (:func:`detect_tokens`); under H0 (text written
without the key) each token is green with probability ``gamma`` independently, so the count gives
a one-sided z-score and an exact-enough normal p-value.

It works on token ids only, so it is tokenizer-agnostic: the detector needs the same tokenizer
as the generator (the provider's own), nothing else.

Why hand-written: the reference implementation (``lm-watermarking``) is torch/transformers-bound;
this is ~150 lines of numpy whose per-step work is one slice of a precomputed id table and one
indexed add. torch is never imported here: a tensor is recognised by its type and handled with its
own methods, so a sampler that runs torch gets tensors back (same device and dtype) and synthguard
does not depend on torch. The cost per step is measured against a GPT-2-small-sized model in
benchmarks/watermark_text.py (numbers.md: <= 5 % of generation time).
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

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


_MASK64 = (1 << 64) - 1


def _offset(previous: int, seed: int, vocab_size: int) -> int:
    """``_offsets`` for one token in plain integers: a generation step pays ~1 us, not numpy's ~10."""
    x = seed ^ (((previous & _MASK64) * int(_GOLDEN)) & _MASK64)
    x = ((x ^ (x >> 30)) * int(_M1)) & _MASK64
    x = ((x ^ (x >> 27)) * int(_M2)) & _MASK64
    return (x ^ (x >> 31)) % vocab_size


def _is_torch(value: object) -> bool:
    # Duck-typed so that torch stays an optional dependency of the caller, never of synthguard.
    return type(value).__module__.partition(".")[0] == "torch"


def _last_tokens(input_ids: Any, rows: int) -> list[int | None]:
    """The previous token of each of ``rows`` sequences (None for an empty one).

    ``input_ids`` is one sequence or one per row, as a list, a numpy array or a torch tensor.
    """
    ndim = getattr(input_ids, "ndim", None)
    if ndim in (1, 2) and input_ids.shape[-1] > 0:
        # An array or tensor: read only its last column (converting the whole history to Python
        # lists would cost more than the processor itself after a few hundred tokens).
        last = input_ids[..., -1].tolist()
        previous: list[int | None] = [int(last)] if ndim == 1 else [int(t) for t in last]
    else:
        ids = input_ids.tolist() if hasattr(input_ids, "tolist") else input_ids
        single = len(ids) == 0 or isinstance(ids[0], (int, np.integer))
        batch: list[Sequence[int]] = [cast("Sequence[int]", ids)] if single else list(ids)
        previous = [int(seq[-1]) if len(seq) else None for seq in batch]
    if len(previous) != rows:
        raise ValueError(f"{len(previous)} token sequences for {rows} rows of logits")
    return previous


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
    random order of the vocabulary, starting at a keyed hash of the previous token. The order is
    stored twice over (``_ring``), so every window is one contiguous slice: a step costs a slice
    and an indexed add of the window's ids, whatever the vocabulary, with no mask rebuilt.
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
        self._rank, self._order, seed = _ranks(key, vocab_size)
        self._seed = int(seed)
        self._width = max(1, round(gamma * vocab_size))
        self._ring = np.concatenate([self._order, self._order[: self._width]])
        self._torch_tables: dict[tuple[Any, Any], tuple[Any, Any]] = {}  # per (device, dtype)

    def _start(self, previous: int) -> int:
        return _offset(previous, self._seed, self.vocab_size)

    def green_ids(self, previous: int) -> npt.NDArray[np.int64]:
        start = self._start(previous)
        ids: npt.NDArray[np.int64] = self._ring[start : start + self._width]
        return ids

    def green_mask(self, previous: int) -> npt.NDArray[np.bool_]:
        mask = np.zeros(self.vocab_size, dtype=bool)
        mask[self.green_ids(previous)] = True
        return mask

    def __call__(self, input_ids: Any, logits: Any) -> Any:
        """``input_ids``: the tokens so far (one sequence, or one per row of ``logits``).

        numpy logits give a new float64 array; a torch tensor gives a new tensor of its own dtype and
        device (the Hugging Face ``LogitsProcessor`` call, ``(input_ids, scores)``, fits as is).
        """
        if _is_torch(logits):
            return self._call_torch(input_ids, logits)
        scores = np.array(logits, dtype=np.float64, copy=True)
        rows = scores.reshape(-1, scores.shape[-1])
        for row, previous in zip(rows, _last_tokens(input_ids, rows.shape[0]), strict=True):
            if previous is None:
                continue
            green = self.green_ids(previous)
            if row.shape[0] < self.vocab_size:
                green = green[green < row.shape[0]]
            row[green] += self.delta
        return scores

    def _call_torch(self, input_ids: Any, logits: Any) -> Any:
        scores = logits.clone()
        rows = scores.reshape(-1, scores.shape[-1])  # a view: edits land in ``scores``
        tables = self._torch_tables.get((scores.device, scores.dtype))
        if tables is None:
            int64 = logits.new_zeros(()).long().dtype  # torch.int64, without importing torch
            ring = logits.new_tensor(self._ring, dtype=int64)
            tables = (ring, logits.new_full((self._width,), self.delta))
            self._torch_tables[(scores.device, scores.dtype)] = tables
        ring, bias = tables
        for i, previous in enumerate(_last_tokens(input_ids, rows.shape[0])):
            if previous is None:
                continue
            start = self._start(previous)
            green = ring[start : start + self._width]
            if rows.shape[1] < self.vocab_size:
                green = green[green < rows.shape[1]]
            # scatter_add_ (no duplicate ids in a window): ~20 us at 50k tokens, where
            # ``rows[i, green] += delta`` (gather, add, scatter) costs ~5x that.
            rows[i].scatter_add_(0, green, bias[: green.shape[0]])
        return scores

    def is_green(self, previous: int, token: int) -> bool:
        start = self._start(previous)
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
