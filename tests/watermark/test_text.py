"""The green-list text watermark on a word-bigram LM: detected at 200 tokens, and after 20 % edits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthguard.watermark.text import GreenListProcessor, detect_tokens
from tests.watermark.textlm import BigramLM

KEY = bytes(range(32))


@pytest.fixture(scope="module")
def lm() -> BigramLM:
    return BigramLM.from_system()


def test_watermarked_200_tokens_score_z_at_least_4_even_after_20_percent_replaced(lm: BigramLM) -> None:
    proc = GreenListProcessor(KEY, lm.size)
    for seed in range(5):
        rng = np.random.default_rng(seed)
        tokens = lm.generate(200, rng, proc, start=int(rng.integers(lm.size)))
        assert detect_tokens(tokens, KEY, lm.size).z >= 4
        edited = list(tokens)
        for i in rng.choice(len(edited), size=len(edited) // 5, replace=False):
            edited[i] = int(rng.integers(lm.size))
        found = detect_tokens(edited, KEY, lm.size)
        assert found.detected and found.z >= 4


def test_unwatermarked_text_and_other_keys_are_not_detected(lm: BigramLM) -> None:
    proc = GreenListProcessor(KEY, lm.size)
    for seed in range(5):
        plain = lm.generate(200, np.random.default_rng(100 + seed))
        assert not detect_tokens(plain, KEY, lm.size).detected
        marked = lm.generate(200, np.random.default_rng(seed), proc)
        assert not detect_tokens(marked, b"another provider key 32 bytes!!", lm.size).detected


def test_processor_only_raises_green_logits_by_delta() -> None:
    proc = GreenListProcessor(KEY, 1000, delta=2.0)
    logits = np.zeros((1, 1000))
    out = proc([5, 9], logits)
    mask = proc.green_mask(9)
    assert np.allclose(out[0][mask], 2.0) and np.allclose(out[0][~mask], 0.0)
    assert 0.15 < mask.mean() < 0.35
    assert proc.is_green(9, int(np.flatnonzero(mask)[0]))
    batch = proc([[1, 2], [3]], np.zeros((2, 1000)))
    assert np.array_equal(batch[1] > 0, proc.green_mask(3))


@given(st.lists(st.integers(min_value=-5, max_value=3000), max_size=300))
@settings(max_examples=200, deadline=None)
def test_detector_accepts_any_token_sequence_without_crashing(tokens: list[int]) -> None:
    found = detect_tokens(tokens, KEY, 2500)
    assert found.tokens_scored <= max(0, len(tokens) - 1)
    assert 0.0 <= found.p_value <= 1.0
    assert found.detected == (found.z >= 4.0)
