"""Property tests: mutated files give a verdict or a SynthguardError, never a crash or a hang,
and a failed write never changes the file (GB 45438 writers must not damage content)."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthguard.errors import SynthguardError
from synthguard.labels import implicit
from synthguard.labels.model import AIGCLabel
from tests.conftest import PRODUCER
from tests.media import all_samples

SAMPLES = all_samples()
LABEL = AIGCLabel.produce(PRODUCER, "fuzz-1")
_cache: dict[str, bytes] = {}


def _sample_bytes(name: str) -> bytes:
    if name not in _cache:
        with tempfile.TemporaryDirectory() as folder:
            _cache[name] = SAMPLES[name](Path(folder)).read_bytes()
    return _cache[name]


@st.composite
def mutated(draw: st.DrawFn, name: str) -> bytes:
    data = bytearray(_sample_bytes(name))
    kind = draw(st.sampled_from(["flip", "truncate", "insert", "zero-run"]))
    if not data:
        return bytes(data)
    pos = draw(st.integers(0, len(data) - 1))
    if kind == "flip":
        for _ in range(draw(st.integers(1, 8))):
            at = draw(st.integers(0, len(data) - 1))
            data[at] ^= draw(st.integers(1, 255))
    elif kind == "truncate":
        del data[pos:]
    elif kind == "insert":
        data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
    else:
        data[pos : pos + draw(st.integers(1, 64))] = b"\x00" * 4
    return bytes(data)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_mutated_files_give_a_verdict_or_our_error(name: str, tmp_path: Path) -> None:
    suffix = Path(name).suffix

    @settings(max_examples=40, deadline=2000, suppress_health_check=list(HealthCheck), database=None)
    @given(mutated(name))
    def check(data: bytes) -> None:
        path = tmp_path / f"m{suffix}"
        path.write_bytes(data)
        try:
            implicit.read_label(path)
            implicit.content_digest(path)
        except SynthguardError:
            pass
        before = hashlib.sha256(data).digest()
        try:
            implicit.write_label(path, LABEL, fsync=False)
        except SynthguardError:
            assert hashlib.sha256(path.read_bytes()).digest() == before
        else:
            implicit.read_label(path)

    check()


@pytest.mark.parametrize(
    "data", [b"", b"\x00", b"GIF89a", b"\xff\xd8", b"\x89PNG\r\n\x1a\n", b"RIFF\x04\x00\x00\x00WAVE"]
)
def test_tiny_and_empty_files_raise_our_errors(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "tiny.bin"
    path.write_bytes(data)
    with pytest.raises(SynthguardError):
        implicit.write_label(path, LABEL)
    assert path.read_bytes() == data
