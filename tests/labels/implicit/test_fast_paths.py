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
from hypothesis import given, settings
from hypothesis import strategies as st

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


# --- the labeled file's own fast paths: one read, one writev, no tempfile module ------------------


def _jpeg(path: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (64, 48), (200, 90, 30)).save(path, quality=90)
    return path


@pytest.mark.parametrize("in_memory", [True, False])
def test_the_labeled_file_keeps_the_source_permissions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_memory: bool
) -> None:
    from synthguard.labels.implicit import files, write_label
    from synthguard.labels.model import AIGCLabel

    if not in_memory:  # the streamed path (large files) takes the mode from its open file instead
        monkeypatch.setattr(files, "IN_MEMORY_MAX_BYTES", 10)
    source = _jpeg(tmp_path / "a.jpg")
    os.chmod(source, 0o640)
    label = AIGCLabel.produce("001191110102MACQD9K64010000", "ID1")
    out = write_label(source, label, tmp_path / "out.jpg", fsync=False)
    assert os.stat(out).st_mode & 0o7777 == 0o640
    os.chmod(source, 0o604)
    write_label(source, label, fsync=False)  # in place
    assert os.stat(source).st_mode & 0o7777 == 0o604


def test_read_all_reads_a_file_that_grew_after_its_stat(tmp_path: Path) -> None:
    from synthguard.labels.implicit.files import _read_all

    path = tmp_path / "growing"
    data = os.urandom(3 * registry.COPY_CHUNK_BYTES + 5)
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert _read_all(fd, 100) == data  # fstat said 100 bytes; the file has more by now
    finally:
        os.close(fd)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert _read_all(fd, len(data)) == data
        assert _read_all(fd, 0) == b""  # at the end
    finally:
        os.close(fd)


def test_gather_writer_writes_pieces_in_order_and_copies_mutable_ones(tmp_path: Path) -> None:
    from synthguard.labels.implicit.files import GatherWriter

    path = tmp_path / "out"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        writer = GatherWriter(fd)
        scratch = bytearray(b"mutable")
        big = os.urandom(GatherWriter.FLUSH_BYTES + 3)  # forces a flush in the middle
        assert writer.write(b"head") == 4
        assert writer.write(scratch) == 7
        scratch[:] = b"changed"  # after write() returned: must not change what is written
        assert writer.write(memoryview(big)[1:]) == len(big) - 1
        assert writer.write(b"") == 0
        for index in range(GatherWriter.FLUSH_PIECES + 5):  # more pieces than one writev takes
            writer.write(b"%d," % index)
        writer.flush()
    finally:
        os.close(fd)
    tail = b"".join(b"%d," % index for index in range(GatherWriter.FLUSH_PIECES + 5))
    expected = b"head" + b"mutable" + big[1:] + tail
    assert path.read_bytes() == expected
    assert writer.tell() == len(expected)


def test_a_short_writev_resumes_where_it_stopped() -> None:
    from synthguard.labels.implicit.files import _unwritten

    pieces: list[bytes | memoryview] = [b"abc", memoryview(b"defgh"), b"ij"]
    assert [bytes(p) for p in _unwritten(pieces, 4)] == [b"efgh", b"ij"]
    assert [bytes(p) for p in _unwritten(pieces, 3)] == [b"defgh", b"ij"]
    assert _unwritten(pieces, 10) == []
    with pytest.raises(OSError, match="wrote nothing"):
        _unwritten(pieces, 0)


def test_temp_names_skip_a_leftover_with_the_same_name(tmp_path: Path) -> None:
    from synthguard.labels.implicit import files

    target = tmp_path / "photo.jpg"
    upcoming = next(files._temp_counter) + 1  # the name the next call tries first
    leftover = tmp_path / f".photo.jpg.{os.getpid()}-{upcoming}.sgtmp"
    leftover.write_bytes(b"from a crashed run")
    fd, name = files._create_temp(target)
    os.close(fd)
    assert Path(name).parent == tmp_path and Path(name).name.startswith(".photo.jpg.")
    assert Path(name) != leftover and leftover.read_bytes() == b"from a crashed run"
    assert os.stat(name).st_mode & 0o777 == 0o600


def test_gather_writer_finishes_after_short_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from synthguard.labels.implicit import files

    def stingy(fd: int, pieces: list[bytes | memoryview]) -> int:  # a disk or signal that cuts writes
        return os.write(fd, b"".join(bytes(piece) for piece in pieces)[:5])

    monkeypatch.setattr(files.os, "writev", stingy)
    path = tmp_path / "out.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        writer = files.GatherWriter(fd)
        for piece in (b"head-", memoryview(b"0123456789abcdef"), b"-tail"):
            writer.write(piece)
        writer.flush()
    finally:
        os.close(fd)
    assert path.read_bytes() == b"head-0123456789abcdef-tail"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_temp_names_in_a_forked_child_carry_its_own_pid(tmp_path: Path) -> None:
    from synthguard.labels.implicit import files

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child reports the temp name it made and leaves
        status = 1
        try:
            fd, name = files._create_temp(tmp_path / "photo.jpg")
            os.close(fd)
            os.write(write_end, name.encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    name = os.read(read_end, 4096).decode()
    os.close(read_end)
    assert status == 0
    assert f".photo.jpg.{pid}-" in name


# --- JPEG: a file with no label carrier gets our segment spliced in, as the general write would ----


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(payload) + 2).to_bytes(2, "big") + payload


_HEADER_PARTS = {
    "jfif": _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
    "jfxx": _segment(0xE0, b"JFXX\x00\x10thumbnail"),
    "icc": _segment(0xE2, b"ICC_PROFILE\x00\x01\x01" + bytes(40)),
    "adobe": _segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x01"),
    "comment": _segment(0xFE, b"made by a generator"),
    "fill": b"\xff\xff",
    "dqt": _segment(0xDB, bytes(65)),
    "app1-other": _segment(0xE1, b"not xmp, not exif"),
}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(sorted(_HEADER_PARTS)), max_size=8))
def test_jpeg_splice_shortcut_matches_the_general_write(parts: list[str]) -> None:
    from synthguard.labels.implicit import jpeg
    from synthguard.labels.model import AIGCLabel

    data = b"\xff\xd8" + b"".join(_HEADER_PARTS[p] for p in parts) + _HEADER_PARTS["dqt"]
    data += _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00") + b"\x12\x34entropy-coded\xff\x00data\xff\xd9"
    label = AIGCLabel.produce("001191110102MACQD9K64010000", "ID-1")
    shortcut = io.BytesIO()
    jpeg.write(MemorySource(data), shortcut, label)
    general = io.BytesIO()
    every_kind = frozenset({"xmp", "xmp-ext", "exif", "blob", "app", "com", "table"})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jpeg, "_CARRIER_KINDS", every_kind)  # no file qualifies: the general path
        jpeg.write(MemorySource(data), general, label)
    assert shortcut.getvalue() == general.getvalue()
    assert [raw.text for raw in jpeg.read(MemorySource(shortcut.getvalue()))] == [label.to_json()]
