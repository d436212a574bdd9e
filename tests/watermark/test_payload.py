"""The watermark payload: round trip, error correction, keys, and the false-positive bound."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthguard.errors import ConfigError
from synthguard.watermark.payload import (
    MAX_FALSE_POSITIVE,
    Keyring,
    WatermarkKey,
    channel_bits,
    decode_payload,
    encode_payload,
    error_threshold,
    false_positive_bound,
    mark_id_bits,
)

KEY = WatermarkKey(3, bytes(range(32)))
RING = Keyring({3: KEY}, 3)


def _signs(bits: np.ndarray) -> np.ndarray:
    return 1.0 - 2.0 * bits.astype(np.float64)


@settings(max_examples=40, deadline=None)
@given(
    payload_bits=st.sampled_from([64, 32]),
    mark=st.integers(min_value=0, max_value=(1 << 20) - 1),
    key_id=st.integers(min_value=0, max_value=3),
    secret=st.binary(min_size=32, max_size=32),
)
def test_every_payload_round_trips_exactly(payload_bits: int, mark: int, key_id: int, secret: bytes) -> None:
    key = WatermarkKey(key_id, secret)
    channel = encode_payload(mark, key, payload_bits=payload_bits)
    assert channel.shape == (channel_bits(payload_bits),)
    found = decode_payload(_signs(channel), Keyring({key_id: key}, key_id), payload_bits=payload_bits)
    assert found is not None
    assert (found.mark_id, found.key_id, found.version, found.bit_errors) == (mark, key_id, 1, 0)


def test_the_largest_image_mark_id_fits_forty_bits() -> None:
    top = (1 << mark_id_bits(64)) - 1
    found = decode_payload(_signs(encode_payload(top, KEY, payload_bits=64)), RING, payload_bits=64)
    assert found is not None and found.mark_id == top
    with pytest.raises(ValueError):
        encode_payload(top + 1, KEY, payload_bits=64)


@pytest.mark.parametrize("payload_bits", [64, 32])
def test_error_correction_recovers_a_tenth_of_the_channel_flipped(payload_bits: int) -> None:
    rng = np.random.default_rng(5)
    n = channel_bits(payload_bits)
    for trial in range(30):
        mark = int(rng.integers(0, 1 << mark_id_bits(payload_bits)))
        soft = _signs(encode_payload(mark, KEY, payload_bits=payload_bits))
        flip = rng.choice(n, size=n // 10, replace=False)  # 10% hard errors, random positions
        soft[flip] *= -1
        found = decode_payload(soft, RING, payload_bits=payload_bits)
        assert found is not None, trial
        assert found.mark_id == mark and found.bit_errors == n // 10


def test_soft_decoding_survives_noise_stronger_than_the_signal() -> None:
    rng = np.random.default_rng(9)
    ok = 0
    for _ in range(100):
        mark = int(rng.integers(0, 1 << 40))
        clean = _signs(encode_payload(mark, KEY, payload_bits=64))
        found = decode_payload(clean + rng.normal(0, 1.0, clean.shape), RING, payload_bits=64)
        ok += found is not None and found.mark_id == mark
    assert ok >= 99  # raw bit error rate ~16% at sigma 1


def test_a_mark_made_with_another_providers_key_reads_as_absent() -> None:
    other = WatermarkKey(3, bytes(32 * [7]))
    soft = _signs(encode_payload(123, other, payload_bits=64))
    assert decode_payload(soft, RING, payload_bits=64) is None


def test_rotated_keys_still_detect_old_marks(tmp_path: Path) -> None:
    ring = Keyring.load_or_create(tmp_path / "keys")
    old = ring.active
    old_mark = _signs(encode_payload(99, old, payload_bits=64))
    new = ring.rotate()
    assert new.key_id != old.key_id and ring.active == new
    again = Keyring.load_or_create(tmp_path / "keys")  # a second replica reads the same file
    assert again.active == new
    found = decode_payload(old_mark, again, payload_bits=64)
    assert found is not None and (found.mark_id, found.key_id) == (99, old.key_id)
    assert (tmp_path / "keys" / "watermark.key").stat().st_mode & 0o777 == 0o600


def test_a_damaged_keyring_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "watermark.key"
    path.parent.mkdir()
    path.write_text(json.dumps({"active": 0, "keys": {"0": "not base64!"}}))
    with pytest.raises(ConfigError):
        Keyring.load_or_create(tmp_path / "keys")


def test_soft_vector_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError):
        decode_payload(np.ones(10), RING, payload_bits=64)


@pytest.mark.parametrize("payload_bits", [64, 32])
def test_threshold_keeps_the_analytic_false_positive_rate_under_one_in_a_million(payload_bits: int) -> None:
    for keys, trials in ((1, 1), (4, 8), (16, 32)):
        limit = error_threshold(payload_bits=payload_bits, keys=keys, trials=trials)
        assert limit > channel_bits(payload_bits) // 6  # and still leaves room for real errors
        bound = false_positive_bound(limit, payload_bits=payload_bits, keys=keys, trials=trials)
        assert bound <= MAX_FALSE_POSITIVE
        assert false_positive_bound(limit + 1, payload_bits=payload_bits, keys=keys, trials=trials) > bound


@pytest.mark.parametrize("payload_bits", [64, 32])
def test_ten_thousand_unmarked_inputs_give_no_detection(payload_bits: int) -> None:
    """Random soft vectors (Gaussian, Laplacian, and sign-only) are what unmarked content yields."""
    rng = np.random.default_rng(20260101 + payload_bits)
    keys = {0: WatermarkKey(0, bytes(32))}
    if payload_bits == 64:  # two keys: the test also covers the Bonferroni step over the keyring
        keys[1] = WatermarkKey(1, bytes(range(1, 33)))
    ring = Keyring(keys, 0)
    n = channel_bits(payload_bits)
    detections = 0
    for i in range(10_000):
        kind = i % 3
        if kind == 0:
            soft = rng.normal(size=n)
        elif kind == 1:
            soft = rng.laplace(size=n)
        else:
            soft = np.sign(rng.normal(size=n))
        detections += decode_payload(soft, ring, payload_bits=payload_bits) is not None
    assert detections == 0


def _shift_register_encode(bits: list[int]) -> list[int]:
    """The textbook encoder, one bit at a time: what the vectorised ``_conv_encode`` must equal."""
    from synthguard.watermark.payload import _GENERATORS, _K

    out, state = [], 0
    for bit in [*bits, *([0] * (_K - 1))]:
        reg = (bit << (_K - 1)) | state
        out += [bin(reg & gen).count("1") & 1 for gen in _GENERATORS]
        state = reg >> 1
    return out


@given(st.lists(st.integers(min_value=0, max_value=1), min_size=1, max_size=80))
@settings(max_examples=200, deadline=None)
def test_convolutional_encoder_matches_the_shift_register_definition(bits: list[int]) -> None:
    from synthguard.watermark.payload import _conv_encode

    assert _conv_encode(np.array(bits, np.uint8)).tolist() == _shift_register_encode(bits)


def test_viterbi_returns_the_maximum_correlation_codeword_on_short_messages() -> None:
    """Exhaustive check on 8-bit messages: the decoder picks the codeword closest to the soft input."""
    from synthguard.watermark.payload import _conv_encode, _viterbi

    messages = np.array([[(m >> (7 - i)) & 1 for i in range(8)] for m in range(256)], np.uint8)
    codewords = np.array([1.0 - 2.0 * _conv_encode(m) for m in messages])
    rng = np.random.default_rng(5)
    for _ in range(40):
        soft = codewords[rng.integers(256)] * 0.5 + rng.normal(size=codewords.shape[1])
        best = int(np.argmax(codewords @ soft))
        assert _viterbi(soft, 8).tolist() == messages[best].tolist()
