"""A small word-bigram language model for measuring the text watermark offline.

Trained on the licence texts Debian's base-files package ships (/usr/share/common-licenses), so it
needs no download; interpolated (Jelinek-Mercer) bigram/unigram probabilities, sampled at
temperature 1. It stands in for an LLM: the watermark only ever sees logits over token ids.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

CORPUS_DIR = Path("/usr/share/common-licenses")
LAMBDA = 0.9


class BigramLM:
    def __init__(self, text: str) -> None:
        words = re.findall(r"[a-z]+|[0-9]+|[^\sa-z0-9]", text.lower())
        vocab = sorted(set(words))
        self.vocab = vocab
        self.index = {w: i for i, w in enumerate(vocab)}
        ids = np.array([self.index[w] for w in words], dtype=np.int64)
        self.size = len(vocab)
        uni = np.bincount(ids, minlength=self.size).astype(np.float64) + 0.1
        self.unigram = uni / uni.sum()
        order = np.lexsort((ids[1:], ids[:-1]))
        prev, nxt = ids[:-1][order], ids[1:][order]
        self.starts = np.searchsorted(prev, np.arange(self.size + 1))
        self.next = nxt
        self.prev_counts = np.diff(self.starts).astype(np.float64)
        self.train_ids = ids

    @classmethod
    def from_system(cls) -> BigramLM:
        files = sorted(p for p in CORPUS_DIR.iterdir() if p.is_file())
        return cls("\n".join(p.read_text("utf-8", errors="replace") for p in files))

    def probs(self, prev: int) -> npt.NDArray[np.float64]:
        row = (1 - LAMBDA) * self.unigram
        a, b = self.starts[prev], self.starts[prev + 1]
        if b > a:
            row = row + LAMBDA * np.bincount(self.next[a:b], minlength=self.size) / (b - a)
        else:
            row = row / (1 - LAMBDA)
        return row

    def logits(self, prev: int) -> npt.NDArray[np.float64]:
        return np.log(self.probs(prev))

    def generate(
        self,
        n: int,
        rng: np.random.Generator,
        processor: Callable[[list[int], npt.NDArray[np.float64]], npt.NDArray[np.float64]] | None = None,
        start: int = 0,
    ) -> list[int]:
        tokens = [start]
        for _ in range(n):
            logits = self.logits(tokens[-1])
            if processor is not None:
                logits = processor(tokens, logits)
            p = np.exp(logits - logits.max())
            tokens.append(int(rng.choice(self.size, p=p / p.sum())))
        return tokens

    def perplexity(self, tokens: list[int]) -> float:
        logp = [np.log(self.probs(a)[b]) for a, b in itertools.pairwise(tokens)]
        return float(np.exp(-np.mean(logp)))
