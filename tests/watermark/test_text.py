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


def test_green_list_start_matches_the_vectorised_detector_hash() -> None:
    """The per-step offset (plain integers) and the detector's (numpy, batched) must agree exactly."""
    from synthguard.watermark.text import _offset, _offsets, _ranks

    _rank, _order, seed = _ranks(KEY, 50_257)
    previous = [0, 1, 7, 50_256, 2**31, 2**63 + 11, 2**64 - 1]
    batched = _offsets(np.array(previous, dtype=np.uint64), seed, 50_257)
    assert [_offset(p, int(seed), 50_257) for p in previous] == batched.tolist()


def test_green_list_is_a_quarter_of_the_vocabulary_and_matches_is_green() -> None:
    proc = GreenListProcessor(KEY, 50_257)
    for previous in (0, 3, 50_256):
        ids = proc.green_ids(previous)
        assert len(ids) == len(set(ids.tolist())) == round(0.25 * 50_257)
        assert all(proc.is_green(previous, int(t)) for t in ids[::997])
        assert not any(
            proc.is_green(previous, int(t)) for t in np.flatnonzero(~proc.green_mask(previous))[:50]
        )


def test_numpy_batches_and_narrower_logits_are_biased_per_row() -> None:
    proc = GreenListProcessor(KEY, 1000, delta=2.0)
    ids = np.array([[4, 7], [1, 9]])
    out = proc(ids, np.zeros((2, 1000), np.float32))
    assert out.dtype == np.float64
    assert np.array_equal(out[0] > 0, proc.green_mask(7)) and np.array_equal(out[1] > 0, proc.green_mask(9))
    narrow = proc([7], np.zeros(900))  # a model head smaller than the tokenizer's vocabulary
    assert np.array_equal(narrow > 0, proc.green_mask(7)[:900])
    with pytest.raises(ValueError, match="rows"):
        proc([[1], [2], [3]], np.zeros((2, 1000)))


def test_torch_logits_stay_torch_tensors_on_their_dtype_and_match_numpy() -> None:
    torch = pytest.importorskip("torch")  # optional: synthguard itself never imports torch
    proc = GreenListProcessor(KEY, 50_257)
    input_ids = torch.tensor([[5, 17, 42], [8, 9, 50_000]])
    for dtype in (torch.float32, torch.bfloat16):
        logits = torch.randn(2, 50_257).to(dtype)
        before = logits.clone()
        out = proc(input_ids, logits)
        assert isinstance(out, torch.Tensor) and out.dtype == dtype and out.shape == logits.shape
        assert torch.equal(logits, before)  # the caller's logits are not modified
        expected = proc(input_ids.numpy(), logits.float().numpy())
        diff = (out.float() - logits.float()).numpy()
        assert np.array_equal(diff > 1.0, expected - logits.float().numpy() > 1.0)
    single = proc(torch.tensor([3, 4]), torch.zeros(50_257))  # one sequence, 1-D
    assert torch.equal(single > 0, torch.from_numpy(proc.green_mask(4)))
