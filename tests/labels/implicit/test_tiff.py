"""TIFF: ``TC260:AIGC`` in the XMP packet of IFD0 tag 700 (TC260-PG-20259A), checked against Pillow
decoding and ExifTool reading and writing, in both byte orders and BigTIFF."""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from synthguard.errors import CorruptFile
from synthguard.labels import implicit
from synthguard.labels.implicit import tiff
from synthguard.labels.model import AIGCLabel, Verdict
from tests.conftest import PLATFORM
from tests.media import images_tiff

ALL = sorted(images_tiff.SAMPLES)


def make(name: str, folder: Path) -> Path:
    return images_tiff.SAMPLES[name](folder)


def pages(path: Path) -> list[np.ndarray]:
    with Image.open(path) as image:
        out = []
        for i in range(getattr(image, "n_frames", 1)):
            image.seek(i)
            out.append(np.asarray(image).copy())
        return out


def strip_offsets(path: Path) -> tuple[int, ...]:
    with Image.open(path) as image:
        return tuple(image.tag_v2[tiff.STRIP_OFFSETS])  # type: ignore[attr-defined]


def exiftool_json(exiftool: list[str], path: Path, *tags: str) -> dict[str, object]:
    out = subprocess.run([*exiftool, "-j", *tags, str(path)], check=True, capture_output=True, text=True)
    result: dict[str, object] = json.loads(out.stdout)[0]
    return result


def xmp_entry(path: Path) -> tiff.Entry:
    with open(path, "rb") as src:
        entry = tiff.open_tiff(src).chain[0].get(tiff.XMP_TAG)
    assert entry is not None
    return entry


@pytest.mark.parametrize("name", ALL)
def test_every_page_decodes_to_identical_pixels(name: str, tmp_path: Path, label: AIGCLabel) -> None:
    path = make(name, tmp_path)
    before, offsets = pages(path), strip_offsets(path)
    implicit.write_label(path, label)
    implicit.write_label(path, label.replace(ContentPropagator=PLATFORM, PropagateID="p-" + "1" * 50))
    after = pages(path)
    assert len(after) == len(before)
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    assert strip_offsets(path) == offsets  # the image data never moved


@pytest.mark.parametrize("name", ALL)
def test_exiftool_reads_our_label(name: str, tmp_path: Path, label: AIGCLabel, exiftool: list[str]) -> None:
    path = make(name, tmp_path)
    implicit.write_label(path, label)
    assert exiftool_json(exiftool, path, "-XMP-TC260:AIGC")["AIGC"] == label.to_json()


def test_label_is_tag_700_of_type_undefined_in_ifd0(tmp_path: Path, label: AIGCLabel) -> None:
    for name in ("strips_le.tif", "gray16_be.tif", "bigtiff.tif"):
        path = make(name, tmp_path)
        implicit.write_label(path, label)
        entry = xmp_entry(path)
        assert entry.type == tiff.UNDEFINED


def test_both_byte_orders_keep_their_header(tmp_path: Path, label: AIGCLabel) -> None:
    for name, magic in (
        ("strips_le.tif", b"II*\x00"),
        ("gray16_be.tif", b"MM\x00*"),
        ("bigtiff.tif", b"II+\x00"),
    ):
        path = make(name, tmp_path)
        implicit.write_label(path, label)
        assert path.read_bytes()[:4] == magic


def test_existing_xmp_of_byte_type_is_read_and_merged(
    tmp_path: Path, label: AIGCLabel, exiftool: list[str]
) -> None:
    path = make("with_xmp.tif", tmp_path)
    assert xmp_entry(path).type == 1  # Pillow writes tag 700 as BYTE
    implicit.write_label(path, label)
    tags = exiftool_json(exiftool, path, "-XMP-TC260:AIGC", "-XMP-dc:Creator", "-IFD0:Software")
    assert tags["AIGC"] == label.to_json()
    assert tags["Creator"] == "Studio Scanner"
    assert tags["Software"] == "ScanStation 2"


def test_we_read_the_label_exiftool_writes_and_replace_it(
    tmp_path: Path, label: AIGCLabel, exiftool: list[str]
) -> None:
    path = make("aigc_by_exiftool.tif", tmp_path)
    finding = implicit.read_label(path)
    assert finding.verdict is Verdict.COMPLIANT and finding.label == images_tiff.THIRD_PARTY
    implicit.write_label(path, label)
    finding = implicit.read_label(path)
    assert finding.label == label and finding.carriers == ("XMP TC260:AIGC (TIFF IFD0 tag 700)",)
    assert exiftool_json(exiftool, path, "-XMP-TC260:AIGC")["AIGC"] == label.to_json()


def test_wrapper_in_exif_usercomment_is_read_then_replaced_keeping_camera_tags(
    tmp_path: Path, label: AIGCLabel, exiftool: list[str]
) -> None:
    path = make("exif_usercomment.tif", tmp_path)
    (raw,) = implicit.read_raw(path)[1]
    assert (raw.carrier, raw.named_slot, raw.wrapped) == ("EXIF UserComment (TIFF Exif IFD)", False, True)
    implicit.write_label(path, label)
    assert implicit.read_label(path).carriers == ("XMP TC260:AIGC (TIFF IFD0 tag 700)",)
    tags = exiftool_json(exiftool, path, "-Make", "-Model", "-DateTimeOriginal", "-UserComment")
    assert tags["Make"] == "Canon" and tags["Model"] == "EOS R5"
    assert tags["DateTimeOriginal"] == "2024:05:01 10:00:00"
    assert "UserComment" not in tags
    assert b"third-party-tiff-1" not in path.read_bytes()  # the old comment bytes are zeroed


def test_label_on_a_later_page_is_removed_so_one_carrier_remains(tmp_path: Path, label: AIGCLabel) -> None:
    path = make("two_pages.tif", tmp_path)
    implicit.write_label(path, label)
    data = bytearray(path.read_bytes())
    with open(path, "rb") as src:
        parsed = tiff.open_tiff(src)
    page1 = parsed.chain[1]
    # Give page 2 a copy of IFD0's XMP entry: a duplicate carrier, as some batch tools leave.
    entry = parsed.chain[0].get(tiff.XMP_TAG)
    assert entry is not None
    count_at = page1.offset
    entries = [*page1.entries, entry]
    table = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHI", e.tag, e.type, e.count) + e.field for e in sorted(entries, key=lambda e: e.tag)
    )
    table += struct.pack("<I", 0)
    new_at = len(data)
    data += table
    struct.pack_into("<I", data, parsed.chain[0].offset + parsed.chain[0].table_size - 4, new_at)
    assert count_at != new_at
    path.write_bytes(bytes(data))
    assert len(implicit.read_label(path).carriers) == 2
    implicit.write_label(path, label)
    assert implicit.read_label(path).carriers == ("XMP TC260:AIGC (TIFF IFD0 tag 700)",)
    assert len(pages(path)) == 2


def test_relabeling_does_not_grow_the_file(tmp_path: Path, label: AIGCLabel) -> None:
    path = make("lzw.tif", tmp_path)
    implicit.write_label(path, label)
    implicit.write_label(path, label)
    size = path.stat().st_size
    for i in range(3):
        implicit.write_label(path, label.replace(PropagateID=f"platform-{i:03d}"))  # as long as ours
        assert path.stat().st_size == size
    assert path.read_bytes().count(b"platform-") == 1


def test_content_digest_ignores_layout_but_not_pixels(
    tmp_path: Path, label: AIGCLabel, exiftool: list[str]
) -> None:
    path = make("strips_le.tif", tmp_path)
    before = implicit.content_digest(path)
    implicit.write_label(path, label)
    assert implicit.content_digest(path) == before
    # ExifTool rewrites the whole file (IFDs and values move); the pixels, and so the digest, stay.
    subprocess.run([*exiftool, "-q", "-overwrite_original", "-Artist=someone", str(path)], check=True)
    assert implicit.content_digest(path) == before
    data = bytearray(path.read_bytes())
    data[strip_offsets(path)[3] + 5] ^= 0x01
    path.write_bytes(bytes(data))
    assert implicit.content_digest(path) != before


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 3]


def _ifd_past_eof(data: bytes) -> bytes:
    return data[:4] + struct.pack("<I", len(data) + 100) + data[8:]


def _ifd_loop(data: bytes) -> bytes:
    (first,) = struct.unpack_from("<I", data, 4)
    (count,) = struct.unpack_from("<H", data, first)
    out = bytearray(data)
    struct.pack_into("<I", out, first + 2 + 12 * count, first)
    return bytes(out)


def _strip_count_huge(data: bytes) -> bytes:
    (first,) = struct.unpack_from("<I", data, 4)
    (count,) = struct.unpack_from("<H", data, first)
    out = bytearray(data)
    for i in range(count):
        at = first + 2 + 12 * i
        if struct.unpack_from("<H", out, at)[0] == tiff.STRIP_OFFSETS:
            struct.pack_into("<I", out, at + 4, 10**8)
    return bytes(out)


def _zeroed_header(data: bytes) -> bytes:
    return data[:4] + b"\x00\x00\x00\x00" + data[8:]


@pytest.mark.parametrize("damage", [_truncated, _ifd_past_eof, _ifd_loop, _strip_count_huge, _zeroed_header])
def test_corrupt_files_raise_corrupt_file_and_stay_unchanged(
    damage: object, tmp_path: Path, label: AIGCLabel
) -> None:
    path = make("strips_le.tif", tmp_path)
    broken = damage(path.read_bytes())  # type: ignore[operator]
    path.write_bytes(broken)
    with pytest.raises(CorruptFile):
        implicit.write_label(path, label)
    assert path.read_bytes() == broken
