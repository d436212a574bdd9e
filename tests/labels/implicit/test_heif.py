"""HEIF/HEIC/AVIF: ``TC260:AIGC`` in the primary item's XMP metadata item (TC260-PG-20259A), checked
against pillow-heif / Pillow decoding and ExifTool reading and writing."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from synthguard.errors import CorruptFile
from synthguard.labels import implicit
from synthguard.labels.implicit import heif
from synthguard.labels.implicit._isobmff import Node, top_level
from synthguard.labels.model import AIGCLabel, Verdict
from tests.conftest import PLATFORM
from tests.media import video

IMAGES = ["photo.heic", "photo_xmp.heic", "photo.avif", "aigc_by_exiftool.heic"]


def make(name: str, folder: Path) -> Path:
    return video.SAMPLES[name](folder)


def pixels(path: Path) -> np.ndarray:
    if path.suffix == ".heic":
        import pillow_heif

        return np.asarray(pillow_heif.open_heif(str(path)).to_pillow())
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def exiftool_json(exiftool: list[str], path: Path, *tags: str) -> dict[str, str]:
    out = subprocess.run([*exiftool, "-j", *tags, str(path)], check=True, capture_output=True, text=True)
    result: dict[str, str] = json.loads(out.stdout)[0]
    return result


def meta_of(path: Path) -> heif.Meta:
    with open(path, "rb") as src:
        return heif._load_meta(src, top_level(src, "HEIF"))[0]


@pytest.mark.parametrize("name", IMAGES)
def test_decoders_see_identical_pixels_after_labeling(name: str, tmp_path: Path, label: AIGCLabel) -> None:
    path = make(name, tmp_path)
    before = pixels(path)
    implicit.write_label(path, label)
    assert np.array_equal(pixels(path), before)
    implicit.write_label(path, label.replace(PropagateID="second-write-" + "x" * 40))
    assert np.array_equal(pixels(path), before)


@pytest.mark.parametrize("name", ["photo.heic", "photo.avif", "photo_xmp.heic"])
def test_exiftool_reads_our_label(name: str, tmp_path: Path, label: AIGCLabel, exiftool: list[str]) -> None:
    path = make(name, tmp_path)
    implicit.write_label(path, label)
    assert exiftool_json(exiftool, path, "-XMP-TC260:AIGC")["AIGC"] == label.to_json()


def test_pillow_heif_exposes_our_xmp_and_keeps_other_properties(tmp_path: Path, label: AIGCLabel) -> None:
    import pillow_heif

    path = make("photo_xmp.heic", tmp_path)
    implicit.write_label(path, label)
    xmp = pillow_heif.open_heif(str(path)).info["xmp"]
    assert b"Studio Camera" in xmp
    assert label.to_json().replace('"', "&quot;").encode() in xmp or label.to_json().encode() in xmp


def test_new_xmp_item_is_linked_to_the_primary_item(tmp_path: Path, label: AIGCLabel) -> None:
    path = make("photo.heic", tmp_path)
    assert meta_of(path).xmp_items() == []
    implicit.write_label(path, label)
    meta = meta_of(path)
    (item,) = meta.xmp_items()
    assert meta.describes_primary(item)
    assert implicit.read_label(path).carriers == (
        f"XMP TC260:AIGC (HEIF item {item}, linked to the primary item)",
    )


def test_we_read_the_label_exiftool_writes_and_replace_it(
    tmp_path: Path, label: AIGCLabel, exiftool: list[str]
) -> None:
    path = make("aigc_by_exiftool.heic", tmp_path)
    finding = implicit.read_label(path)
    assert finding.verdict is Verdict.COMPLIANT and finding.label == video.THIRD_PARTY
    propagated = label.replace(ContentPropagator=PLATFORM, PropagateID="platform-7")
    implicit.write_label(path, propagated)
    assert exiftool_json(exiftool, path, "-XMP-TC260:AIGC")["AIGC"] == propagated.to_json()
    finding = implicit.read_label(path)
    assert finding.label == propagated and len(finding.carriers) == 1
    assert len(meta_of(path).xmp_items()) == 1


def test_relabeling_with_a_label_of_the_same_size_does_not_grow_the_file(
    tmp_path: Path, label: AIGCLabel
) -> None:
    path = make("photo.heic", tmp_path)
    implicit.write_label(path, label)
    implicit.write_label(path, label)  # the second packet is the merged (re-serialized) form
    size = path.stat().st_size
    for i in range(3):
        implicit.write_label(path, label.replace(PropagateID=f"platform-{i}"))
        assert path.stat().st_size <= size + 8
    assert path.read_bytes().count(b"platform-") == 1  # no stale packet left behind


def test_content_digest_covers_the_image_data(tmp_path: Path, label: AIGCLabel) -> None:
    path = make("photo.heic", tmp_path)
    before = implicit.content_digest(path)
    implicit.write_label(path, label)
    assert implicit.content_digest(path) == before
    meta = meta_of(path)
    loc = meta.location(meta.primary)
    assert loc is not None and loc.method == 0
    data = bytearray(path.read_bytes())
    data[loc.base + loc.extents[0].offset + 10] ^= 0x01
    path.write_bytes(bytes(data))
    assert implicit.content_digest(path) != before


def test_avif_sequence_track_offsets_follow_the_grown_meta(tmp_path: Path, label: AIGCLabel) -> None:
    import av

    def sequence(path: Path) -> tuple[list[bytes], list[np.ndarray]]:
        with av.open(str(path)) as container:
            packets = [bytes(p) for p in container.demux() if p.size]
        with Image.open(path) as image:
            frames = []
            for i in range(getattr(image, "n_frames", 1)):
                image.seek(i)
                frames.append(np.asarray(image.convert("RGB")).copy())
        return packets, frames

    path = make("animated.avif", tmp_path)
    with open(path, "rb") as src:
        assert [b.type for b in top_level(src, "HEIF")][1:3] == [b"meta", b"moov"]
    before = sequence(path)
    implicit.write_label(path, label)
    packets, frames = sequence(path)
    assert packets == before[0]
    assert len(frames) == len(before[1]) == 3
    assert all(np.array_equal(a, b) for a, b in zip(frames, before[1], strict=True))


def _xmp_moved_into_idat(data: bytes) -> bytes:
    """The same file with its XMP item stored in ``idat`` (construction method 1), offsets fixed."""
    src = io.BytesIO(data)
    meta, tree = heif._load_meta(src, top_level(src, "HEIF"))
    (item,) = meta.xmp_items()
    packet = heif._xmp_packet(src, meta, item, len(data))
    loc = meta.location(item)
    iloc = tree.kid(b"iloc")
    assert loc is not None and iloc is not None and tree.children is not None
    loc.method, loc.base, loc.extents = 1, 0, [heif.Extent(0, 0, len(packet))]
    meta.iloc.version = 1
    tree.children.append(Node(b"idat", packet))
    shifted = 0
    for _ in range(3):
        iloc.prefix = heif.build_iloc(meta.iloc)
        grown = len(tree.to_bytes()) - meta.box.size
        for entry in meta.iloc.entries:
            for extent in entry.extents if entry.method == 0 else ():
                extent.offset += grown - shifted
        shifted = grown
    iloc.prefix = heif.build_iloc(meta.iloc)
    new_meta = tree.to_bytes()
    assert len(new_meta) - meta.box.size == shifted
    return data[: meta.box.start] + new_meta + data[meta.box.end :]


def test_xmp_in_idat_is_read_and_relabeling_moves_it_where_exiftool_reads_it(
    tmp_path: Path, label: AIGCLabel, exiftool: list[str]
) -> None:
    path = make("aigc_by_exiftool.heic", tmp_path)
    before = pixels(path)
    path.write_bytes(_xmp_moved_into_idat(path.read_bytes()))
    item = meta_of(path).xmp_items()[0]
    loc = meta_of(path).location(item)
    assert loc is not None and loc.method == 1
    assert implicit.read_label(path).label == video.THIRD_PARTY
    implicit.write_label(path, label)
    finding = implicit.read_label(path)
    assert finding.label == label and len(finding.carriers) == 1
    assert exiftool_json(exiftool, path, "-XMP-TC260:AIGC")["AIGC"] == label.to_json()
    assert np.array_equal(pixels(path), before)


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _iloc_past_eof(data: bytes) -> bytes:
    src = io.BytesIO(data)
    parsed = heif._load_meta(src, top_level(src, "HEIF"))[0]
    loc = parsed.location(parsed.primary)
    assert loc is not None
    loc.extents[0].offset = len(data) * 4
    old = data.index(b"iloc") + 4
    new = heif.build_iloc(parsed.iloc)
    return data[:old] + new + data[old + len(new) :]


def _meta_size_too_large(data: bytes) -> bytes:
    at = data.index(b"meta") - 4
    return data[:at] + (10**6).to_bytes(4, "big") + data[at + 4 :]


def _garbage_after_ftyp(data: bytes) -> bytes:
    return data[:28] + b"\xff" * 64


@pytest.mark.parametrize("damage", [_truncated, _iloc_past_eof, _meta_size_too_large, _garbage_after_ftyp])
def test_corrupt_files_raise_corrupt_file_and_stay_unchanged(
    damage: object, tmp_path: Path, label: AIGCLabel
) -> None:
    path = make("photo_xmp.heic", tmp_path)
    broken = damage(path.read_bytes())  # type: ignore[operator]
    path.write_bytes(broken)
    with pytest.raises(CorruptFile):
        implicit.write_label(path, label)
    assert path.read_bytes() == broken


def test_iloc_round_trips_every_version() -> None:
    for version in (0, 1, 2):
        locs = heif.ItemLocations(
            version,
            4,
            4,
            0,
            0,
            [heif.Location(1, 0 if version == 0 else 1, 0, 0, [heif.Extent(0, 100, 20)])],
        )
        parsed = heif.parse_iloc(heif.build_iloc(locs))
        assert parsed.entries == locs.entries
