"""The watermark payload: a keyed, versioned mark ID with error correction and a presence test.

Deep Synthesis Provisions Art. 16 and the Labeling Measures Art. 5 ask for an implicit mark that
survives in the content itself and points back to the record of who produced it. What the image,
video and audio embedders carry is this payload (issue #4, item 1):

* 64 bits for image/video: version 4 | key id 4 | mark id 40 | CRC-16/CCITT;
* 32 bits for audio:       version 2 | key id 2 | mark id 20 | CRC-8 (poly 0x07).

The mark id resolves to a content id through the store (``WatermarkRecord``); the key id names the
provider key, so keys rotate without making old marks unreadable. The bits are protected by a
rate-1/4, constraint-length-7 convolutional code (free distance 20) decoded with a soft-decision
Viterbi decoder, then interleaved and XOR-scrambled with a keystream derived from the provider's
32-byte secret (SHAKE-256), so that without the key the channel bits are indistinguishable from
noise, and marks of different providers do not decode under each other's keys.

Presence test ("a decode is right or reported absent"): a decode counts only if the CRC holds, the
key id inside matches the key that descrambled it, and the number of channel bits whose sign
disagrees with the re-encoded codeword is at most a threshold. The threshold comes from an
analytic bound: on content without a mark the channel signs are fair coins independent of every
codeword, so the chance that *any* CRC-valid codeword lies within ``e`` errors is at most
``2^(payload - crc) * P[Binomial(n, 1/2) <= e]`` (union bound), times the number of keys and the
number of independent search trials the caller made. The threshold is the largest ``e`` that keeps
this at or below ``MAX_FALSE_POSITIVE`` (1e-6) and the bound is reported as ``p_value``.

Why hand-written: the code is ~150 lines of numpy; the libraries that exist (``commpy``,
``bchlib``, ``reedsolo``, ``galois``) either decode hard bits only (throwing away the soft
correlations the embedders measure, worth ~2 dB) or pull large dependencies for one function.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from synthguard.errors import ConfigError

WATERMARK_KEY_FILE = "watermark.key"
MAX_FALSE_POSITIVE = 1e-6
FORMAT_VERSION = 1

# Convolutional code: rate 1/4, K=7 (octal generators from the standard tables, free distance 20).
_K = 7
_GENERATORS = (0o117, 0o127, 0o155, 0o171)
_RATE = len(_GENERATORS)
_STATES = 1 << (_K - 1)


@dataclass(frozen=True)
class _Layout:
    version_bits: int
    key_bits: int
    mark_bits: int
    crc_bits: int

    @property
    def total(self) -> int:
        return self.version_bits + self.key_bits + self.mark_bits + self.crc_bits


_LAYOUTS = {
    64: _Layout(version_bits=4, key_bits=4, mark_bits=40, crc_bits=16),
    32: _Layout(version_bits=2, key_bits=2, mark_bits=20, crc_bits=8),
}


def _layout(payload_bits: int) -> _Layout:
    try:
        return _LAYOUTS[payload_bits]
    except KeyError:
        raise ValueError(f"payload_bits must be one of {sorted(_LAYOUTS)}, not {payload_bits}") from None


def mark_id_bits(payload_bits: int) -> int:
    """How many bits of mark id a payload of this size carries (40 for 64, 20 for 32)."""
    return _layout(payload_bits).mark_bits


def channel_bits(payload_bits: int) -> int:
    """Length of ``encode_payload``'s output (and of the soft vector ``decode_payload`` takes)."""
    return (payload_bits + _K - 1) * _RATE


# --- keys -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WatermarkKey:
    key_id: int  # 0..15 for image/video; audio payloads carry only 0..3
    secret: bytes  # 32 bytes, per provider

    def __post_init__(self) -> None:
        if not 0 <= self.key_id <= 15:
            raise ValueError("watermark key_id must be 0..15")
        if len(self.secret) != 32:
            raise ValueError("watermark secret must be 32 bytes")


class Keyring:
    """The provider's watermark keys by id; the newest (``active``) one marks, all of them detect.

    Stored as JSON in ``<data_dir>/keys/watermark.key`` (mode 0600). Replicas must share the file,
    as they share the signing key: a mark embedded by one is detected by the other.
    """

    def __init__(self, keys: dict[int, WatermarkKey], active: int, path: Path | None = None) -> None:
        if active not in keys:
            raise ValueError("the active watermark key must be in the keyring")
        self._keys = dict(keys)
        self.active_id = active
        self.path = path

    @property
    def active(self) -> WatermarkKey:
        return self._keys[self.active_id]

    def get(self, key_id: int) -> WatermarkKey | None:
        return self._keys.get(key_id)

    def __iter__(self) -> Iterator[WatermarkKey]:
        # Active first: it is the likeliest to match, and a decoder may stop at the first hit.
        yield self.active
        for key_id in sorted(self._keys):
            if key_id != self.active_id:
                yield self._keys[key_id]

    def __len__(self) -> int:
        return len(self._keys)

    @classmethod
    def generate(cls, key_id: int = 0) -> Keyring:
        """An in-memory keyring with one fresh key (tests, benchmarks)."""
        return cls({key_id: WatermarkKey(key_id, secrets.token_bytes(32))}, key_id)

    @classmethod
    def load_or_create(cls, keys_dir: Path) -> Keyring:
        path = keys_dir / WATERMARK_KEY_FILE
        if path.exists():
            return cls.load(path)
        ring = cls.generate(0)
        ring.path = path
        try:
            ring._save(exclusive=True)
        except FileExistsError:
            return cls.load(path)  # another process created it between our check and our write
        return ring

    @classmethod
    def load(cls, path: Path) -> Keyring:
        try:
            data = json.loads(path.read_text("utf-8"))
            keys = {
                int(k): WatermarkKey(int(k), base64.b64decode(v, validate=True))
                for k, v in data["keys"].items()
            }
            return cls(keys, int(data["active"]), path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"{path}: unreadable watermark keyring ({exc})",
                message_zh=f"{path}：水印密钥文件无法读取（{exc}）",
            ) from exc

    def rotate(self) -> WatermarkKey:
        """Add a fresh key with the next free id and make it the active one; old keys still detect."""
        free = [i for i in range(16) if i not in self._keys]
        if not free:
            raise ConfigError(
                "all 16 watermark key ids are in use; retire one before rotating",
                message_zh="16 个水印密钥编号已用完，请先停用一个再轮换",
            )
        key = WatermarkKey(free[0], secrets.token_bytes(32))
        self._keys[key.key_id] = key
        self.active_id = key.key_id
        if self.path is not None:
            self._save(exclusive=False)
        return key

    def _save(self, *, exclusive: bool) -> None:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps(
            {
                "active": self.active_id,
                "keys": {str(k): base64.b64encode(v.secret).decode() for k, v in self._keys.items()},
            }
        ).encode()
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, body)
            os.fsync(fd)
        finally:
            os.close(fd)
        if exclusive:
            try:
                os.link(tmp, self.path)  # fails if it exists: never overwrite another process's key
            finally:
                os.unlink(tmp)
        else:
            os.replace(tmp, self.path)


# --- CRC ------------------------------------------------------------------------------------------


def _crc(bits: npt.NDArray[np.uint8], width: int) -> int:
    poly = 0x1021 if width == 16 else 0x07
    top = 1 << (width - 1)
    mask = (1 << width) - 1
    reg = mask  # non-zero init: an all-zero payload must not have an all-zero CRC
    for bit in bits:
        feedback = bool(reg & top) ^ bool(bit)
        reg = (reg << 1) & mask
        if feedback:
            reg ^= poly
    return reg


def _to_bits(value: int, width: int) -> list[int]:
    return [(value >> (width - 1 - i)) & 1 for i in range(width)]


def _from_bits(bits: npt.NDArray[np.uint8]) -> int:
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return value


# --- convolutional code ---------------------------------------------------------------------------


@cache
def _trellis() -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """For each next state and each of its two predecessors: the predecessor and its +-1 outputs."""
    prev = np.zeros((_STATES, 2), dtype=np.intp)
    outs = np.zeros((_STATES, 2, _RATE), dtype=np.float64)
    for state in range(_STATES):
        for bit in (0, 1):
            reg = (bit << (_K - 1)) | state  # newest bit at the top, state = previous K-1 bits
            nxt = reg >> 1
            which = state & 1  # the bit shifted out tells the two predecessors of ``nxt`` apart
            prev[nxt, which] = state
            for g, gen in enumerate(_GENERATORS):
                parity = bin(reg & gen).count("1") & 1
                outs[nxt, which, g] = 1.0 - 2.0 * parity  # bit 0 -> +1, bit 1 -> -1
    return prev, outs


@cache
def _taps() -> npt.NDArray[np.int64]:
    """Generator taps by delay: ``taps[g, m]`` multiplies the input bit ``m`` steps back."""
    return np.array([[(gen >> (_K - 1 - m)) & 1 for m in range(_K)] for gen in _GENERATORS], np.int64)


def _conv_encode(bits: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Zero-tailed encoding: each output is a mod-2 convolution of the input with a generator."""
    padded = np.concatenate([np.asarray(bits, np.int64), np.zeros(_K - 1, np.int64)])
    steps = len(padded)
    out = np.stack([np.convolve(padded, taps)[:steps] & 1 for taps in _taps()], axis=1)
    return out.astype(np.uint8).reshape(-1)


def _viterbi(soft: npt.NDArray[np.float64], n_bits: int) -> npt.NDArray[np.uint8]:
    """Soft-decision Viterbi (correlation metric); ``soft`` > 0 means channel bit 0. Zero-tailed."""
    prev, outs = _trellis()
    steps = n_bits + _K - 1
    rx = soft.reshape(steps, _RATE)
    # Every step's branch metrics in one product, so the loop below is only add-compare-select.
    branches = rx @ outs.reshape(_STATES * 2, _RATE).T  # (steps, states * 2)
    branches = branches.reshape(steps, _STATES, 2)
    metric = np.full(_STATES, -np.inf)
    metric[0] = 0.0
    choice = np.zeros((steps, _STATES), dtype=np.uint8)
    for t in range(steps):
        cand = metric[prev] + branches[t]
        pick = cand[:, 1] > cand[:, 0]  # argmax of two; ties keep the first, as argmax did
        choice[t] = pick
        metric = np.where(pick, cand[:, 1], cand[:, 0])
    state = 0  # the tail drives the encoder back to state 0
    decoded = np.zeros(steps, dtype=np.uint8)
    for t in range(steps - 1, -1, -1):
        decoded[t] = state >> (_K - 2)  # the newest input bit is the top bit of the state
        state = int(prev[state, choice[t, state]])
    return decoded[:n_bits]


# --- keyed scrambling -----------------------------------------------------------------------------


@cache
def _scrambler(secret: bytes, n: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.uint8]]:
    """A key-derived interleaver and XOR mask for ``n`` channel bits (stable across numpy versions)."""
    stream = hashlib.shake_256(b"synthguard/watermark/v1/" + n.to_bytes(4, "big") + secret).digest(5 * n)
    raw = np.frombuffer(stream, dtype=np.uint8)
    order = np.frombuffer(raw[: 4 * n].tobytes(), dtype=">u4")
    perm = np.argsort(order, kind="stable").astype(np.intp)
    mask = (raw[4 * n :] & 1).astype(np.uint8)
    return perm, mask


# --- the public face ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecodedPayload:
    mark_id: int
    key_id: int
    version: int
    bit_errors: int  # channel bits whose sign disagreed with the decoded codeword
    p_value: float  # bound on the chance that unmarked content decodes this well


def encode_payload(mark_id: int, key: WatermarkKey, *, payload_bits: int) -> npt.NDArray[np.uint8]:
    """Channel bits (0/1) to embed: payload + CRC, convolutionally coded, interleaved, scrambled."""
    lay = _layout(payload_bits)
    if not 0 <= mark_id < (1 << lay.mark_bits):
        raise ValueError(f"mark_id must fit in {lay.mark_bits} bits")
    if key.key_id >= (1 << lay.key_bits):
        raise ValueError(f"a {payload_bits}-bit payload carries key ids 0..{(1 << lay.key_bits) - 1}")
    head = np.array(
        _to_bits(FORMAT_VERSION, lay.version_bits)
        + _to_bits(key.key_id, lay.key_bits)
        + _to_bits(mark_id, lay.mark_bits),
        dtype=np.uint8,
    )
    bits = np.concatenate([head, np.array(_to_bits(_crc(head, lay.crc_bits), lay.crc_bits), np.uint8)])
    coded = _conv_encode(bits)
    perm, mask = _scrambler(key.secret, len(coded))
    channel = np.empty_like(coded)
    channel[perm] = coded ^ mask
    return channel


@cache
def _log_binom_cdf_table(n: int) -> npt.NDArray[np.float64]:
    """log P[Binomial(n, 1/2) <= e] for e = 0..n, computed exactly in log space."""
    logs = np.array([math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) for k in range(n + 1)])
    logs -= n * math.log(2.0)
    return np.logaddexp.accumulate(logs)


def false_positive_bound(bit_errors: int, *, payload_bits: int, keys: int = 1, trials: int = 1) -> float:
    """Union bound on P[unmarked content yields a CRC-valid decode with <= ``bit_errors`` errors]."""
    lay = _layout(payload_bits)
    n = channel_bits(payload_bits)
    log_p = float(_log_binom_cdf_table(n)[min(max(bit_errors, 0), n)])
    log_p += (payload_bits - lay.crc_bits) * math.log(2.0) + math.log(max(keys, 1) * max(trials, 1))
    return min(1.0, math.exp(log_p))


@cache  # a pure function of a handful of values, asked on every decode: ~0.5 ms saved each time
def error_threshold(
    *, payload_bits: int, keys: int = 1, trials: int = 1, fpr: float = MAX_FALSE_POSITIVE
) -> int:
    """The most channel-bit errors a decode may have and still count as present at rate ``fpr``."""
    n = channel_bits(payload_bits)
    best = -1
    for e in range(n + 1):
        if false_positive_bound(e, payload_bits=payload_bits, keys=keys, trials=trials) > fpr:
            break
        best = e
    return best


def decode_payload(
    soft: npt.NDArray[np.floating] | npt.NDArray[np.integer],
    keyring: Keyring,
    *,
    payload_bits: int,
    trials: int = 1,
    fpr: float = MAX_FALSE_POSITIVE,
) -> DecodedPayload | None:
    """Decode soft channel values (> 0 means bit 0, e.g. +-1 correlations or LLRs); None if absent.

    ``trials`` is how many independent decode attempts the caller makes for one detection (e.g.
    candidate flips or scales); the threshold is tightened so the whole detection stays within
    ``fpr``.
    """
    lay = _layout(payload_bits)
    n = channel_bits(payload_bits)
    values = np.asarray(soft, dtype=np.float64).reshape(-1)
    if values.shape[0] != n:
        raise ValueError(f"expected {n} soft values for a {payload_bits}-bit payload, got {values.shape[0]}")
    if not np.all(np.isfinite(values)) or not np.any(values):
        return None
    scale = float(np.mean(np.abs(values)))
    values = values / scale  # metric scale does not change Viterbi's choice, only keeps it tame
    limit = error_threshold(payload_bits=payload_bits, keys=len(keyring), trials=trials, fpr=fpr)
    best: DecodedPayload | None = None
    for key in keyring:
        if key.key_id >= (1 << lay.key_bits):
            continue
        perm, mask = _scrambler(key.secret, n)
        signs = 1.0 - 2.0 * mask.astype(np.float64)
        coded_soft = values[perm] * signs
        bits = _viterbi(coded_soft, payload_bits)
        head, crc_bits = bits[: payload_bits - lay.crc_bits], bits[payload_bits - lay.crc_bits :]
        if _crc(head, lay.crc_bits) != _from_bits(crc_bits):
            continue
        version = _from_bits(head[: lay.version_bits])
        key_id = _from_bits(head[lay.version_bits : lay.version_bits + lay.key_bits])
        if key_id != key.key_id or version != FORMAT_VERSION:
            continue
        recoded = _conv_encode(bits)
        errors = int(np.count_nonzero((coded_soft < 0) != (recoded == 1)))
        if errors > limit:
            continue
        found = DecodedPayload(
            mark_id=_from_bits(head[lay.version_bits + lay.key_bits :]),
            key_id=key_id,
            version=version,
            bit_errors=errors,
            p_value=false_positive_bound(errors, payload_bits=payload_bits, keys=len(keyring), trials=trials),
        )
        if best is None or found.bit_errors < best.bit_errors:
            best = found
    return best
