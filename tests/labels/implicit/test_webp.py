"""WebP plugin: the 'XMP ' chunk in an extended (VP8X) file; simple -> extended conversion; interop."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from synthguard.errors import CorruptFile
from synthguard.labels import implicit
from synthguard.labels.implicit import _xmp, webp
from synthguard.labels.model import AIGCLabel
from tests.labels.implicit.image_support import (
    assert_exiftool_reads_our_labels,
    assert_same_pixels,
    assert_we_read_exiftools_label,
    exiftool_tags,
    label_and_copy,
)
from tests.media import images

WEBP_SAMPLES = {name: make for name, make in images.SAMPLES.items() if name.endswith(".webp")}


def _chunks(path: Path) -> list[tuple[bytes, bytes]]:
    """(fourcc, data) of every chunk, checking the RIFF size and padding as a strict reader would."""
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
    out: list[tuple[bytes, bytes]] = []
    pos = 12
    while pos < len(data):
        fourcc, size = struct.unpack("<4sI", data[pos : pos + 8])
        out.append((fourcc, data[pos + 8 : pos + 8 + size]))
        pos += 8 + size + (size & 1)
    assert pos == len(data)
    return out


def test_exiftool_reads_the_label_we_write_into_every_sample(
    tmp_path: Path, label: AIGCLabel, exiftool: list[str]
) -> None:
    sources = [make(tmp_path) for make in WEBP_SAMPLES.values()]
    assert_exiftool_reads_our_labels(exiftool, sources, label, tmp_path)


@pytest.mark.parametrize("name", sorted(WEBP_SAMPLES))
def test_we_read_the_label_exiftool_writes(
    name: str, tmp_path: Path, label: AIGCLabel, exiftool: list[str]
) -> None:
    src = WEBP_SAMPLES[name](tmp_path)
    assert_we_read_exiftools_label(exiftool, src, tmp_path / "exiftool.webp", label)


@pytest.mark.parametrize("name", sorted(WEBP_SAMPLES))
def test_all_frames_decode_identically_and_the_digest_holds(
    name: str, tmp_path: Path, label: AIGCLabel
) -> None:
    src = WEBP_SAMPLES[name](tmp_path)
    out = label_and_copy(src, label, tmp_path)
    assert_same_pixels(src, out)
    assert implicit.content_digest(out) == implicit.content_digest(src)
    image_chunks = [c for c in _chunks(src) if c[0] not in webp.METADATA_CHUNKS]
    assert [c for c in _chunks(out) if c[0] not in webp.METADATA_CHUNKS] == image_chunks


@pytest.mark.parametrize(
    ("name", "size", "flags"),
    [
        ("lossy.webp", (101, 67), webp.FLAG_XMP),
        ("lossless_alpha.webp", (63, 45), webp.FLAG_XMP | webp.FLAG_ALPHA),
    ],
)
def test_simple_file_becomes_extended_with_canvas_from_the_bitstream(
    name: str, size: tuple[int, int], flags: int, tmp_path: Path, label: AIGCLabel
) -> None:
    src = WEBP_SAMPLES[name](tmp_path)
    assert _chunks(src)[0][0] in (b"VP8 ", b"VP8L")
    out = label_and_copy(src, label, tmp_path)
    chunks = _chunks(out)
    assert [c[0] for c in chunks] == [b"VP8X", _chunks(src)[0][0], b"XMP "]
    vp8x = chunks[0][1]
    assert vp8x[0] == flags
    width = int.from_bytes(vp8x[4:7], "little") + 1
    height = int.from_bytes(vp8x[7:10], "little") + 1
    assert (width, height) == size
    with Image.open(out) as image:
        assert image.size == size


def test_existing_metadata_is_kept_and_xmp_follows_exif(
    tmp_path: Path, label: AIGCLabel, exiftool: list[str]
) -> None:
    src = WEBP_SAMPLES["lossy_alpha_exif_xmp.webp"](tmp_path)
    out = label_and_copy(src, label, tmp_path)
    order = [c[0] for c in _chunks(out)]
    assert order == [b"VP8X", b"ICCP", b"ALPH", b"VP8 ", b"EXIF", b"XMP "]
    tags = exiftool_tags(exiftool, out)
    assert tags == exiftool_tags(exiftool, src)
    assert tags["XMP-dc:Creator"] == "Jane Doe" and tags["IFD0:Make"] == "SynthCam"
    packet = dict(_chunks(out))[b"XMP "]
    assert _xmp.find_values(packet) == [label.to_json()]


def test_animated_file_keeps_its_flags_frames_and_loop(tmp_path: Path, label: AIGCLabel) -> None:
    src = WEBP_SAMPLES["animated.webp"](tmp_path)
    out = label_and_copy(src, label, tmp_path)
    before, after = _chunks(src), _chunks(out)
    assert after[0][1][0] == before[0][1][0] | webp.FLAG_XMP
    assert after[0][1][1:] == before[0][1][1:]
    assert [c[0] for c in after][-1] == b"XMP "
    with Image.open(src) as a, Image.open(out) as b:
        assert (getattr(a, "n_frames", 1), a.info.get("loop"), a.info.get("duration")) == (
            getattr(b, "n_frames", 1),
            b.info.get("loop"),
            b.info.get("duration"),
        )


@pytest.mark.parametrize("extra", [0, 1])
def test_odd_and_even_packets_are_padded_and_riff_size_is_exact(
    extra: int, tmp_path: Path, label: AIGCLabel
) -> None:
    src = WEBP_SAMPLES["lossy.webp"](tmp_path)
    labelled = label.replace(PropagateID="p" * (10 + extra))
    out = label_and_copy(src, labelled, tmp_path)
    chunks = _chunks(out)  # asserts RIFF size and padding
    sizes = {len(data) % 2 for fourcc, data in chunks if fourcc == b"XMP "}
    assert len(sizes) == 1
    assert implicit.read_label(out).label == labelled
    assert_same_pixels(src, out)


def test_both_padding_parities_occur(tmp_path: Path, label: AIGCLabel) -> None:
    src = WEBP_SAMPLES["lossy.webp"](tmp_path)
    parities = set()
    for extra in (0, 1):
        out = tmp_path / f"p{extra}.webp"
        implicit.write_label(src, label.replace(PropagateID="p" * (10 + extra)), out)
        parities |= {len(d) % 2 for f, d in _chunks(out) if f == b"XMP "}
    assert parities == {0, 1}


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda d: d[: len(d) // 2], id="truncated"),
        pytest.param(lambda d: d[:4] + struct.pack("<I", len(d) * 2) + d[8:], id="riff-size-past-eof"),
        pytest.param(lambda d: d[:16] + struct.pack("<I", 0x7FFFFFF0) + d[20:], id="chunk-past-riff-end"),
        pytest.param(lambda d: d[:12] + b"JUNK" + d[16:], id="first-chunk-not-image"),
        pytest.param(lambda d: d[:4] + struct.pack("<I", 4) + d[8:12], id="empty-riff"),
        pytest.param(lambda d: d[:20] + b"\x00" * (len(d) - 20), id="zeroed-bitstream"),
    ],
)
def test_broken_files_raise_corruptfile_and_stay_unchanged(
    damage: Callable[[bytes], bytes], tmp_path: Path, label: AIGCLabel
) -> None:
    src = WEBP_SAMPLES["lossy.webp"](tmp_path)
    src.write_bytes(damage(src.read_bytes()))
    before = src.read_bytes()
    with pytest.raises(CorruptFile):
        implicit.write_label(src, label)
    assert src.read_bytes() == before


def test_content_digest_changes_when_one_bitstream_byte_changes(tmp_path: Path) -> None:
    src = WEBP_SAMPLES["lossy.webp"](tmp_path)
    digest = implicit.content_digest(src)
    data = bytearray(src.read_bytes())
    data[-30] ^= 0x01
    src.write_bytes(bytes(data))
    assert implicit.content_digest(src) != digest
