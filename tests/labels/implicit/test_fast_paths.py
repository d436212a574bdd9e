"""The shortcuts the label hot path takes must give the answers of the plain paths they skip.

* A small file held in memory (``MemorySource``) is hashed and copied through ``memoryview`` slices:
  same digests, same bytes and the same ``CorruptFile`` on a truncated range as the chunked reads.
* ``identify`` tries the plugins that claim the file's extension first: the same plugin (or the same
  error) as scanning every plugin, for every extension we know and heads of every family.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from synthguard.errors import CorruptFile, UnsupportedFormat
from synthguard.labels.implicit import registry
from synthguard.labels.implicit.registry import FormatPlugin, MemorySource, copy_range, hash_ranges

DATA = os.urandom(3 * registry.COPY_CHUNK_BYTES + 12345)
RANGES = [
    [(0, len(DATA))],
    [(0, 8), (100, 5000), (registry.COPY_CHUNK_BYTES - 3, registry.COPY_CHUNK_BYTES + 7)],
    [(len(DATA) - 1, 1), (0, 0), (17, 1)],
]


@pytest.mark.parametrize("ranges", RANGES)
def test_memory_hash_equals_streamed_hash(ranges: list[tuple[int, int]]) -> None:
    assert hash_ranges(MemorySource(DATA), ranges) == hash_ranges(io.BytesIO(DATA), ranges)


@pytest.mark.parametrize(("start", "length"), [(0, len(DATA)), (5, 1), (registry.COPY_CHUNK_BYTES, 99999)])
def test_memory_copy_equals_streamed_copy(start: int, length: int) -> None:
    fast, slow = io.BytesIO(), io.BytesIO()
    copy_range(MemorySource(DATA), fast, start, length)
    copy_range(io.BytesIO(DATA), slow, start, length)
    assert fast.getvalue() == slow.getvalue() == DATA[start : start + length]


@pytest.mark.parametrize("source", [MemorySource, io.BytesIO])
def test_a_range_past_the_end_is_corrupt_either_way(source: type[io.BytesIO]) -> None:
    with pytest.raises(CorruptFile, match="truncated"):
        hash_ranges(source(DATA), [(len(DATA) - 10, 11)], "PNG")
    with pytest.raises(CorruptFile, match="truncated"):
        copy_range(source(DATA), io.BytesIO(), len(DATA) + 5, 1, "PNG")


def _full_scan(head: bytes, filename: str) -> FormatPlugin:
    """``identify`` without the extension shortcut, as it was written first."""
    ext = os.path.splitext(filename)[1].lower().lstrip(".")
    candidates = [
        p for p in registry.plugins() if p.accept(head) and (not p.needs_extension or ext in p.extensions)
    ]
    if not candidates:
        raise UnsupportedFormat(filename)
    for plugin in candidates:
        if ext in plugin.extensions:
            return plugin
    return candidates[0]


def _heads(tmp_path: Path) -> list[bytes]:
    from tests.conftest import make_jpeg, make_png

    return [
        make_png(tmp_path / "a.png").read_bytes()[:64],
        make_jpeg(tmp_path / "a.jpg").read_bytes()[:64],
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00",
        b"RIFF\x24\x00\x00\x00WEBPVP8 ",
        b"RIFF\x24\x00\x00\x00WAVEfmt ",
        b"RIFF\x24\x00\x00\x00AVI LIST",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml",
        b"fLaC\x00\x00\x00\x22",
        b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00",
        b"ID3\x03\x00\x00\x00\x00\x00\x00",
        b"\xff\xfb\x90\x64\x00\x00\x00\x00",
        b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2",
        b"\x00\x00\x00\x1cftypheic\x00\x00\x00\x00mif1heic",
        b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1",
        b"II*\x00\x08\x00\x00\x00",
        b"MM\x00*\x00\x00\x00\x08",
        b"\x1aE\xdf\xa3\x9fB\x86\x81\x01",
        b"FLV\x01\x05\x00\x00\x00\x09",
        b"hello, world\n",
        b"# Title\n\nSome *markdown*.\n",
        b"<!DOCTYPE html><html><body>x</body></html>",
        "中文文本\n".encode(),
        b"\x00\x01\x02\x03 not a format",
    ]


def test_identify_shortcut_matches_the_full_scan(tmp_path: Path) -> None:
    extensions = sorted({ext for p in registry.plugins() for ext in p.extensions} | {"", "bin", "JPG"})
    compared = 0
    for head in _heads(tmp_path):
        for ext in extensions:
            name = f"file.{ext}" if ext else "file"
            try:
                expected: str = _full_scan(head, name).name
            except UnsupportedFormat:
                expected = "unsupported"
            try:
                found: str = registry.identify(head, name).name
            except UnsupportedFormat:
                found = "unsupported"
            assert found == expected, (head[:16], name)
            compared += 1
    assert compared > 500
