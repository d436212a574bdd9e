"""JPEG plugin: XMP TC260:AIGC in APP1, App. B wrapper forms, interop with exiftool and Pillow."""

from __future__ import annotations

import hashlib
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from synthguard.errors import CorruptFile, MetadataTooLarge
from synthguard.labels import implicit
from synthguard.labels.implicit import _xmp, jpeg
from synthguard.labels.model import AIGCLabel, Verdict
from tests.conftest import PLATFORM
from tests.labels.implicit.image_support import (
    CountingReader,
    assert_exiftool_reads_our_labels,
    assert_same_pixels,
    assert_we_read_exiftools_label,
    exiftool_labels,
    exiftool_tags,
    label_and_copy,
)
from tests.media import images

JPEG_SAMPLES = {name: make for name, make in images.SAMPLES.items() if name.endswith(".jpg")}


def _segments(path: Path) -> list[tuple[int, bytes]]:
    """(marker, payload) of every segment before the first scan."""
    data = path.read_bytes()
    out: list[tuple[int, bytes]] = []
    pos = 2
    while data[pos + 1] != 0xDA:
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        out.append((data[pos + 1], data[pos + 4 : pos + 2 + length]))
        pos += 2 + length
    return out


def _insert_segment(path: Path, segment: bytes, after: int = 0) -> None:
    """Insert ``segment`` after the ``after``-th header segment (0: right after SOI)."""
    data = path.read_bytes()
    pos = 2
    for _ in range(after):
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        pos += 2 + length
    path.write_bytes(data[:pos] + segment + data[pos:])


def _app(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def test_exiftool_reads_the_label_we_write_into_every_sample(
    tmp_path: Path, label: AIGCLabel, exiftool: list[str]
) -> None:
    sources = [make(tmp_path) for make in JPEG_SAMPLES.values()]
    assert_exiftool_reads_our_labels(exiftool, sources, label, tmp_path)


@pytest.mark.parametrize("name", ["photo_exif_icc_xmp.jpg", "progressive.jpg"])
def test_we_read_the_label_exiftool_writes(
    name: str, tmp_path: Path, label: AIGCLabel, exiftool: list[str]
) -> None:
    src = JPEG_SAMPLES[name](tmp_path)
    assert_we_read_exiftools_label(exiftool, src, tmp_path / "exiftool.jpg", label)


@pytest.mark.parametrize("name", sorted(JPEG_SAMPLES))
def test_pixels_and_content_digest_are_unchanged_by_labeling(
    name: str, tmp_path: Path, label: AIGCLabel
) -> None:
    src = JPEG_SAMPLES[name](tmp_path)
    out = label_and_copy(src, label, tmp_path)
    assert_same_pixels(src, out)
    assert implicit.content_digest(out) == implicit.content_digest(src)
    # Everything from the first non-metadata segment on is byte-identical.
    tail = src.read_bytes()
    start = tail.index(b"\xff\xdb")
    assert out.read_bytes().endswith(tail[start:])


def test_exif_icc_and_adobe_xmp_properties_survive(
    tmp_path: Path, label: AIGCLabel, exiftool: list[str]
) -> None:
    src = JPEG_SAMPLES["photo_exif_icc_xmp.jpg"](tmp_path)
    out = label_and_copy(src, label, tmp_path)
    before, after = exiftool_tags(exiftool, src), exiftool_tags(exiftool, out)
    assert after == before
    assert after["XMP-xmp:CreatorTool"] == "Adobe Photoshop 25.0"
    assert after["XMP-dc:Creator"] == "Jane Doe"
    assert after["IFD0:Make"] == "SynthCam"
    assert "ICC_Profile:ProfileDescription" in after


def test_existing_xmp_packet_is_merged_in_place_not_duplicated(tmp_path: Path, label: AIGCLabel) -> None:
    src = JPEG_SAMPLES["photo_exif_icc_xmp.jpg"](tmp_path)
    out = label_and_copy(src, label, tmp_path)
    markers_before = [(m, p[:29] == jpeg.XMP_ID) for m, p in _segments(src)]
    markers_after = [(m, p[:29] == jpeg.XMP_ID) for m, p in _segments(out)]
    assert markers_after == markers_before
    (packet,) = [p[29:] for m, p in _segments(out) if p.startswith(jpeg.XMP_ID)]
    assert _xmp.find_values(packet) == [label.to_json()]
    assert b"Adobe Photoshop 25.0" in packet


def test_new_xmp_segment_goes_after_app0_and_exif_before_the_tables(tmp_path: Path, label: AIGCLabel) -> None:
    src = tmp_path / "exif_icc.jpg"
    Image.new("RGB", (16, 16), "teal").save(src, exif=images._exif(), icc_profile=images._icc())
    out = label_and_copy(src, label, tmp_path)
    kinds = []
    for marker, payload in _segments(out):
        if payload.startswith(jpeg.XMP_ID):
            kinds.append("xmp")
        elif payload.startswith(b"Exif\x00"):
            kinds.append("exif")
        elif marker == 0xE0:
            kinds.append("app0")
        elif marker == 0xE2:
            kinds.append("icc")
        else:
            kinds.append(f"{marker:02x}")
    assert kinds[:4] == ["app0", "exif", "xmp", "icc"]
    assert kinds[4] == "db"  # DQT follows the metadata


def test_rewriting_updates_the_label_and_keeps_exactly_one(tmp_path: Path, label: AIGCLabel) -> None:
    path = JPEG_SAMPLES["photo_exif_icc_xmp.jpg"](tmp_path)
    implicit.write_label(path, label)
    propagated = label.replace(ContentPropagator=PLATFORM, PropagateID="p-9", ReservedCode2="c2ln")
    implicit.write_label(path, propagated)
    finding = implicit.read_label(path)
    assert finding.verdict is Verdict.COMPLIANT
    assert finding.label == propagated
    assert len([p for _, p in _segments(path) if p.startswith(jpeg.XMP_ID)]) == 1


def test_usercomment_wrapper_is_read_as_an_unnamed_wrapped_slot(tmp_path: Path) -> None:
    src = JPEG_SAMPLES["usercomment_label.jpg"](tmp_path)
    _, raws = implicit.read_raw(src)
    assert len(raws) == 1
    assert raws[0].carrier == "EXIF UserComment (JPEG APP1)"
    assert raws[0].named_slot is False and raws[0].wrapped is True
    assert implicit.read_label(src).label == images.THIRD_PARTY


def test_usercomment_label_is_blanked_in_place_and_the_rest_of_exif_kept(
    tmp_path: Path, label: AIGCLabel, exiftool: list[str]
) -> None:
    src = JPEG_SAMPLES["usercomment_label.jpg"](tmp_path)
    out = label_and_copy(src, label, tmp_path)
    (exif_before,) = [p for _, p in _segments(src) if p.startswith(b"Exif")]
    (exif_after,) = [p for _, p in _segments(out) if p.startswith(b"Exif")]
    assert len(exif_after) == len(exif_before)
    changed = [i for i, (a, b) in enumerate(zip(exif_before, exif_after, strict=True)) if a != b]
    comment = exif_before.index(b"ASCII\x00\x00\x00")
    assert changed and min(changed) >= comment
    tags = exiftool_tags(exiftool, out)
    assert tags["ExifIFD:UserComment"] == ""
    assert tags["IFD0:Make"] == "SynthCam" and tags["ExifIFD:DateTimeOriginal"] == "2025:09:01 12:00:00"
    finding = implicit.read_label(out)
    assert finding.carriers == ("XMP TC260:AIGC (JPEG APP1)",) and finding.label == label


@pytest.mark.parametrize(
    ("text", "wrapped"),
    [
        pytest.param(images.THIRD_PARTY.to_wrapped_json(), True, id="ascii-wrapper"),
        pytest.param(images.THIRD_PARTY.to_json(), False, id="ascii-bare-object"),
        pytest.param('{"AIGC":{"Label":"1","ContentProducer":"厂商"}}', True, id="unicode-utf16"),
    ],
)
def test_usercomment_forms_exiftool_writes_are_read_and_then_blanked(
    text: str, wrapped: bool, tmp_path: Path, label: AIGCLabel, exiftool: list[str]
) -> None:
    src = JPEG_SAMPLES["progressive.jpg"](tmp_path)
    subprocess.run([*exiftool, "-q", "-overwrite_original", f"-UserComment={text}", str(src)], check=True)
    _, raws = implicit.read_raw(src)
    assert [(r.carrier, r.text, r.named_slot, r.wrapped) for r in raws] == [
        ("EXIF UserComment (JPEG APP1)", text, False, wrapped)
    ]
    implicit.write_label(src, label)
    assert implicit.read_label(src).carriers == ("XMP TC260:AIGC (JPEG APP1)",)
    assert exiftool_tags(exiftool, src)["ExifIFD:UserComment"] == ""


def test_bare_aigc_blob_in_an_app_segment_is_read_and_removed(tmp_path: Path, label: AIGCLabel) -> None:
    src = JPEG_SAMPLES["progressive.jpg"](tmp_path)
    digest = implicit.content_digest(src)
    _insert_segment(src, _app(0xEB, b"AIGC" + images.THIRD_PARTY.to_json().encode()), after=1)
    _, raws = implicit.read_raw(src)
    assert [(r.carrier, r.named_slot) for r in raws] == [("AIGC blob (JPEG APP11)", False)]
    assert implicit.read_label(src).label == images.THIRD_PARTY
    implicit.write_label(src, label)
    finding = implicit.read_label(src)
    assert finding.carriers == ("XMP TC260:AIGC (JPEG APP1)",) and finding.label == label
    assert all(not p.startswith(b"AIGC") for _, p in _segments(src))
    assert implicit.content_digest(src) == digest


def test_duplicate_xmp_packets_end_with_one_label_and_their_other_properties(
    tmp_path: Path, label: AIGCLabel, exiftool: list[str]
) -> None:
    src = JPEG_SAMPLES["foreign_xmp_label.jpg"](tmp_path)
    # A second standard XMP packet with another copy of the label and a property of its own.
    second = _xmp.merge_packet(
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Label="Red"/>'
        b"</rdf:RDF></x:xmpmeta>",
        images.THIRD_PARTY.to_json(),
    )
    _insert_segment(src, _app(0xE1, jpeg.XMP_ID + second), after=2)
    before = implicit.read_label(src)
    assert len(before.carriers) == 2 and before.verdict is Verdict.NON_COMPLIANT
    implicit.write_label(src, label)
    after = implicit.read_label(src)
    assert after.verdict is Verdict.COMPLIANT and len(after.carriers) == 1 and after.label == label
    packets = b"".join(p for _, p in _segments(src) if p.startswith(jpeg.XMP_ID))
    assert b'photoshop:Credit="Vendor"' in packets and b"Red" in packets


def test_extended_xmp_label_is_read_and_rewritten_without_it(
    tmp_path: Path, label: AIGCLabel, exiftool: list[str]
) -> None:
    src = JPEG_SAMPLES["progressive.jpg"](tmp_path)
    extended = _xmp.merge_packet(
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        b"<dc:source>" + b"s" * 70000 + b"</dc:source></rdf:Description></rdf:RDF></x:xmpmeta>",
        images.THIRD_PARTY.to_json(),
    )
    guid, parts = jpeg._extended_segments(extended)
    main = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:xmpNote="http://ns.adobe.com/xmp/note/" '
        b'xmpNote:HasExtendedXMP="' + guid + b'"/></rdf:RDF></x:xmpmeta>'
    )
    _insert_segment(src, _app(0xE1, jpeg.XMP_ID + main) + b"".join(parts), after=1)
    assert exiftool_labels(exiftool, [src]) == [images.THIRD_PARTY.to_json()]  # our extended XMP is valid
    _, raws = implicit.read_raw(src)
    assert [r.carrier for r in raws] == ["XMP TC260:AIGC (JPEG Extended XMP)"]

    implicit.write_label(src, label)
    finding = implicit.read_label(src)
    assert finding.carriers == ("XMP TC260:AIGC (JPEG APP1)",) and finding.label == label
    tags = exiftool_tags(exiftool, src)
    assert tags["XMP-dc:Source"] == "s" * 70000  # the extended packet still resolves (new GUID)
    assert exiftool_labels(exiftool, [src]) == [label.to_json()]


def test_label_that_overflows_the_app1_segment_raises_and_leaves_the_file(
    tmp_path: Path, label: AIGCLabel
) -> None:
    src = tmp_path / "big_xmp.jpg"
    big = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        b"<dc:source>" + b"s" * 65200 + b"</dc:source></rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    Image.new("RGB", (8, 8)).save(src, xmp=big)
    before = src.read_bytes()
    with pytest.raises(MetadataTooLarge):
        implicit.write_label(src, label)
    assert src.read_bytes() == before


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda d: d[:3], id="truncated-after-soi"),
        pytest.param(lambda d: d[: d.index(b"\xff\xdb") + 20], id="truncated-in-dqt"),
        pytest.param(lambda d: d[:20] + b"\x00" * (len(d) - 20), id="zeroed-header"),
        pytest.param(lambda d: d[:4] + b"\x00\x01" + d[6:], id="length-below-two"),
        pytest.param(lambda d: d[:4] + b"\xff\xff" + d[6:], id="length-past-eof"),
        pytest.param(lambda d: b"\xff\xd8\xff\xd8" + d[2:], id="second-soi"),
    ],
)
def test_broken_headers_raise_corruptfile_and_leave_the_file_unchanged(
    damage: Callable[[bytes], bytes], tmp_path: Path, label: AIGCLabel
) -> None:
    src = JPEG_SAMPLES["progressive.jpg"](tmp_path)
    src.write_bytes(damage(src.read_bytes()))
    before = src.read_bytes()
    with pytest.raises(CorruptFile):
        implicit.write_label(src, label)
    with pytest.raises(CorruptFile):
        implicit.read_label(src)
    assert src.read_bytes() == before


def test_unparseable_xmp_with_a_label_reads_inconclusive_and_is_not_overwritten(
    tmp_path: Path, label: AIGCLabel
) -> None:
    src = JPEG_SAMPLES["progressive.jpg"](tmp_path)
    broken = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><TC260:AIGC>{"Label":"1"</x:xmpmeta>'
    _insert_segment(src, _app(0xE1, jpeg.XMP_ID + broken), after=1)
    finding = implicit.read_label(src)
    assert finding.verdict is Verdict.INCONCLUSIVE
    assert finding.carriers == ("XMP TC260:AIGC (JPEG APP1)",)
    before = src.read_bytes()
    with pytest.raises(CorruptFile, match="not well-formed"):
        implicit.write_label(src, label)
    assert src.read_bytes() == before


def test_reading_a_label_reads_only_the_header_of_a_large_jpeg(tmp_path: Path, label: AIGCLabel) -> None:
    src = tmp_path / "large.jpg"
    pixels = np.random.default_rng(1).integers(0, 255, (1000, 1000, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(src, quality=90, exif=images._exif(), icc_profile=images._icc())
    implicit.write_label(src, label)
    reader = CountingReader(src)
    try:
        raws = jpeg.read(reader)  # type: ignore[arg-type]
    finally:
        reader.close()
    assert [r.text for r in raws] == [label.to_json()]
    assert src.stat().st_size > 500_000
    assert reader.bytes_read < 8_000


def test_content_digest_changes_when_one_compressed_byte_changes(tmp_path: Path) -> None:
    src = JPEG_SAMPLES["progressive.jpg"](tmp_path)
    digest = implicit.content_digest(src)
    data = bytearray(src.read_bytes())
    data[-100] ^= 0x01
    src.write_bytes(bytes(data))
    assert implicit.content_digest(src) != digest
    assert hashlib.sha256(bytes(data)).digest() != digest
