"""PNG plugin: XMP TC260:AIGC in an uncompressed iTXt before IDAT; AIGC text chunks; CRCs; interop."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngImageFile, PngInfo

from synthguard.errors import CorruptFile
from synthguard.labels import implicit
from synthguard.labels.implicit import _xmp, png
from synthguard.labels.model import AIGCLabel
from tests.labels.implicit.image_support import (
    CountingReader,
    assert_exiftool_reads_our_labels,
    assert_same_pixels,
    assert_we_read_exiftools_label,
    exiftool_tags,
    label_and_copy,
)
from tests.media import images

PNG_SAMPLES = {name: make for name, make in images.SAMPLES.items() if name.endswith(".png")}


def _chunks(path: Path) -> list[tuple[bytes, bytes]]:
    data = path.read_bytes()
    out: list[tuple[bytes, bytes]] = []
    pos = 8
    while pos < len(data):
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        out.append((ctype, data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return out


def _chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def _save(path: Path, info: PngInfo) -> Path:
    images._rgb(24, 16).save(path, "PNG", pnginfo=info)
    return path


def test_exiftool_reads_the_label_we_write_into_every_sample(
    tmp_path: Path, label: AIGCLabel, exiftool: list[str]
) -> None:
    sources = [make(tmp_path) for make in PNG_SAMPLES.values()]
    assert_exiftool_reads_our_labels(exiftool, sources, label, tmp_path)


def test_libpng_pngfix_finds_no_error_in_our_output(tmp_path: Path, label: AIGCLabel) -> None:
    if shutil.which("pngfix") is None:
        pytest.fail("pngfix (Debian package libpng-tools) is not installed; `make test` installs it")
    outs = [label_and_copy(make(tmp_path), label, tmp_path) for make in PNG_SAMPLES.values()]
    for out in outs:
        result = subprocess.run(["pngfix", str(out)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, (out.name, result.stdout, result.stderr)


@pytest.mark.parametrize("name", ["rgb.png", "text_chunks.png"])
def test_we_read_the_label_exiftool_writes(
    name: str, tmp_path: Path, label: AIGCLabel, exiftool: list[str]
) -> None:
    src = PNG_SAMPLES[name](tmp_path)
    assert_we_read_exiftools_label(exiftool, src, tmp_path / "exiftool.png", label)


@pytest.mark.parametrize("name", sorted(PNG_SAMPLES))
def test_pixels_image_chunks_and_digest_are_unchanged(name: str, tmp_path: Path, label: AIGCLabel) -> None:
    src = PNG_SAMPLES[name](tmp_path)
    out = label_and_copy(src, label, tmp_path)
    assert_same_pixels(src, out)
    assert implicit.content_digest(out) == implicit.content_digest(src)
    content = [c for c in _chunks(src) if c[0] not in png.METADATA_CHUNKS]
    assert [c for c in _chunks(out) if c[0] not in png.METADATA_CHUNKS] == content


def test_our_itxt_is_uncompressed_right_after_ihdr_and_before_idat(tmp_path: Path, label: AIGCLabel) -> None:
    out = label_and_copy(PNG_SAMPLES["palette.png"](tmp_path), label, tmp_path)
    types = [t for t, _ in _chunks(out)]
    assert types[:2] == [b"IHDR", b"iTXt"]
    assert types.index(b"iTXt") < types.index(b"PLTE") < types.index(b"IDAT")
    data = dict(_chunks(out))[b"iTXt"]
    assert data.startswith(b"XML:com.adobe.xmp\x00\x00\x00\x00\x00")  # flag 0, method 0, no lang/tkey
    assert _xmp.find_values(data[len(b"XML:com.adobe.xmp") + 5 :]) == [label.to_json()]


def test_text_chunks_and_existing_xmp_are_kept(tmp_path: Path, label: AIGCLabel, exiftool: list[str]) -> None:
    src = PNG_SAMPLES["text_chunks.png"](tmp_path)
    out = label_and_copy(src, label, tmp_path)
    with Image.open(src) as a, Image.open(out) as b:
        assert isinstance(a, PngImageFile) and isinstance(b, PngImageFile)
        old = {k: v for k, v in a.text.items() if k != "XML:com.adobe.xmp"}
        new = {k: v for k, v in b.text.items() if k != "XML:com.adobe.xmp"}
    assert new == old and "Description" in new
    assert exiftool_tags(exiftool, out) == exiftool_tags(exiftool, src)
    assert [t for t, d in _chunks(out) if d.startswith(b"XML:com.adobe.xmp")] == [b"iTXt"]


def test_aigc_text_chunk_is_read_as_wrapper_and_replaced_by_xmp(tmp_path: Path, label: AIGCLabel) -> None:
    src = PNG_SAMPLES["text_label.png"](tmp_path)
    _, raws = implicit.read_raw(src)
    assert [(r.carrier, r.named_slot, r.wrapped) for r in raws] == [("tEXt keyword AIGC (PNG)", False, True)]
    assert implicit.read_label(src).label == images.THIRD_PARTY
    implicit.write_label(src, label)
    finding = implicit.read_label(src)
    assert finding.carriers == ("XMP TC260:AIGC (PNG iTXt)",) and finding.label == label
    with Image.open(src) as image:
        assert isinstance(image, PngImageFile)
        assert "AIGC" not in image.text and image.text["Software"] == "vendor-tool 2.1"


@pytest.mark.parametrize(
    ("add", "carrier"),
    [
        (lambda info, text: info.add_text("AIGC", text, zip=True), "zTXt keyword AIGC (PNG)"),
        (lambda info, text: info.add_itxt("AIGC", text), "iTXt keyword AIGC (PNG)"),
        (lambda info, text: info.add_itxt("AIGC", text, zip=True), "iTXt keyword AIGC (PNG)"),
    ],
)
def test_compressed_and_international_aigc_chunks_are_read(
    add: Callable[[PngInfo, str], None], carrier: str, tmp_path: Path, label: AIGCLabel
) -> None:
    info = PngInfo()
    add(info, images.THIRD_PARTY.to_wrapped_json())
    src = _save(tmp_path / "aigc.png", info)
    _, raws = implicit.read_raw(src)
    assert [(r.carrier, r.named_slot) for r in raws] == [(carrier, False)]
    implicit.write_label(src, label)
    assert implicit.read_label(src).carriers == ("XMP TC260:AIGC (PNG iTXt)",)


def test_compressed_xmp_after_idat_is_merged_and_moved_before_idat(
    tmp_path: Path, label: AIGCLabel, exiftool: list[str]
) -> None:
    src = _save(tmp_path / "late_xmp.png", PngInfo())
    xmp = images.ADOBE_XMP.decode()
    late = _chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + zlib.compress(xmp.encode()))
    data = src.read_bytes()
    src.write_bytes(data[:-12] + late + data[-12:])  # just before IEND
    assert exiftool_tags(exiftool, src)["XMP-xmp:CreatorTool"] == "Adobe Photoshop 25.0"
    implicit.write_label(src, label)
    types = [t for t, _ in _chunks(src)]
    assert types.count(b"iTXt") == 1 and types.index(b"iTXt") < types.index(b"IDAT")
    tags = exiftool_tags(exiftool, src)
    assert tags["XMP-xmp:CreatorTool"] == "Adobe Photoshop 25.0" and tags["XMP-dc:Creator"] == "Jane Doe"


def test_exif_usercomment_wrapper_in_exif_chunk_is_read_and_blanked(tmp_path: Path, label: AIGCLabel) -> None:
    src = tmp_path / "exif_label.png"
    comment = b"ASCII\x00\x00\x00" + images.THIRD_PARTY.to_wrapped_json().encode()
    images._rgb(16, 16).save(src, "PNG", exif=images._exif(comment))
    _, raws = implicit.read_raw(src)
    assert [(r.carrier, r.named_slot, r.wrapped) for r in raws] == [
        ("EXIF UserComment (PNG eXIf)", False, True)
    ]
    implicit.write_label(src, label)
    assert implicit.read_label(src).carriers == ("XMP TC260:AIGC (PNG iTXt)",)
    with Image.open(src) as image:
        assert image.getexif()[0x010F] == "SynthCam"


def _flip_crc(data: bytes) -> bytes:
    at = data.index(b"IHDR") + 4 + 13
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(_flip_crc, id="bad-ihdr-crc"),
        pytest.param(lambda d: d[:-12], id="missing-iend"),
        pytest.param(lambda d: d[: len(d) // 2], id="truncated-in-idat"),
        pytest.param(lambda d: d[:8] + b"\x00" * 16 + d[24:], id="zeroed-ihdr"),
        pytest.param(lambda d: d[:8] + b"\x7f\xff\xff\xff" + d[12:], id="length-past-eof"),
        pytest.param(lambda d: d[:12] + b"IH\x00R" + d[16:], id="bad-chunk-type"),
    ],
)
def test_broken_files_raise_corruptfile_and_stay_unchanged(
    damage: Callable[[bytes], bytes], tmp_path: Path, label: AIGCLabel
) -> None:
    src = PNG_SAMPLES["rgb.png"](tmp_path)
    src.write_bytes(damage(src.read_bytes()))
    before = src.read_bytes()
    with pytest.raises(CorruptFile):
        implicit.write_label(src, label)
    with pytest.raises(CorruptFile):
        implicit.read_label(src)
    assert src.read_bytes() == before


def test_bad_crc_in_a_text_chunk_is_reported(tmp_path: Path) -> None:
    src = PNG_SAMPLES["text_label.png"](tmp_path)
    data = bytearray(src.read_bytes())
    data[data.index(b"AIGC") + 10] ^= 0x20
    src.write_bytes(bytes(data))
    with pytest.raises(CorruptFile, match="CRC mismatch in tEXt"):
        implicit.read_label(src)


def test_reading_a_label_does_not_read_the_image_data(tmp_path: Path, label: AIGCLabel) -> None:
    src = tmp_path / "large.png"
    pixels = np.random.default_rng(2).integers(0, 255, (600, 800, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(src, compress_level=1)
    implicit.write_label(src, label)
    reader = CountingReader(src)
    try:
        raws = png.read(reader)  # type: ignore[arg-type]
    finally:
        reader.close()
    assert [r.text for r in raws] == [label.to_json()]
    assert src.stat().st_size > 1_000_000
    assert reader.bytes_read < 20_000


def test_content_digest_changes_when_one_idat_byte_changes(tmp_path: Path) -> None:
    src = PNG_SAMPLES["rgb.png"](tmp_path)
    digest = implicit.content_digest(src)
    data = bytearray(src.read_bytes())
    data[data.index(b"IDAT") + 40] ^= 0x01
    src.write_bytes(bytes(data))
    assert implicit.content_digest(src) != digest
