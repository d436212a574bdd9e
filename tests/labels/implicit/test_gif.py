"""GIF plugin: the XMP application extension with the magic trailer; comment wrappers; interop."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from synthguard.errors import CorruptFile
from synthguard.labels import implicit
from synthguard.labels.implicit import _xmp, gif
from synthguard.labels.model import AIGCLabel
from tests.labels.implicit.image_support import (
    assert_exiftool_reads_our_labels,
    assert_same_pixels,
    assert_we_read_exiftools_label,
    exiftool_json,
    label_and_copy,
)
from tests.media import images

GIF_SAMPLES = {name: make for name, make in images.SAMPLES.items() if name.endswith(".gif")}


def _blocks(path: Path) -> list[tuple[str, bytes]]:
    """(kind, bytes) of every block after the screen, walked as a plain GIF decoder walks them."""
    data = path.read_bytes()
    packed = data[10]
    pos = 13 + (3 << ((packed & 7) + 1) if packed & 0x80 else 0)
    out: list[tuple[str, bytes]] = []
    while data[pos] != 0x3B:
        start = pos
        if data[pos] == 0x21:
            kind = {0xFF: "app", 0xFE: "comment", 0xF9: "gce"}.get(data[pos + 1], "ext")
            pos += 2
        else:
            local = data[pos + 9]
            kind = "image"
            pos += 10 + (3 << ((local & 7) + 1) if local & 0x80 else 0) + 1
        while data[pos]:
            pos += data[pos] + 1
        pos += 1
        out.append((kind, data[start:pos]))
    return out


def test_exiftool_reads_the_label_we_write_into_every_sample(
    tmp_path: Path, label: AIGCLabel, exiftool: list[str]
) -> None:
    sources = [make(tmp_path) for make in GIF_SAMPLES.values()]
    assert_exiftool_reads_our_labels(exiftool, sources, label, tmp_path)


@pytest.mark.parametrize("name", ["static.gif", "animated.gif"])
def test_we_read_the_label_exiftool_writes(
    name: str, tmp_path: Path, label: AIGCLabel, exiftool: list[str]
) -> None:
    src = GIF_SAMPLES[name](tmp_path)
    assert_we_read_exiftools_label(exiftool, src, tmp_path / "exiftool.gif", label)


@pytest.mark.parametrize("name", sorted(GIF_SAMPLES))
def test_all_frames_decode_identically_and_the_digest_holds(
    name: str, tmp_path: Path, label: AIGCLabel
) -> None:
    src = GIF_SAMPLES[name](tmp_path)
    out = label_and_copy(src, label, tmp_path)
    assert_same_pixels(src, out)
    assert implicit.content_digest(out) == implicit.content_digest(src)
    kept = [b for b in _blocks(src) if b[0] in ("image", "gce")]
    assert [b for b in _blocks(out) if b[0] in ("image", "gce")] == kept


def test_xmp_extension_has_the_magic_trailer_and_precedes_the_first_image(
    tmp_path: Path, label: AIGCLabel
) -> None:
    src = GIF_SAMPLES["animated.gif"](tmp_path)
    out = label_and_copy(src, label, tmp_path)
    blocks = _blocks(out)
    xmp = [i for i, (kind, data) in enumerate(blocks) if kind == "app" and data[3:14] == b"XMP DataXMP"]
    assert len(xmp) == 1
    first_image = next(i for i, (kind, _) in enumerate(blocks) if kind == "image")
    assert xmp[0] < first_image
    data = blocks[xmp[0]][1]
    assert data.endswith(gif.MAGIC_TRAILER) and len(gif.MAGIC_TRAILER) == 258
    assert _xmp.find_values(data[14 : -len(gif.MAGIC_TRAILER)]) == [label.to_json()]
    # a loop extension that came first stays first (old decoders look for it there)
    assert blocks[0][0] == "app" and b"NETSCAPE2.0" in blocks[0][1]
    with Image.open(src) as a, Image.open(out) as b:
        assert (getattr(a, "n_frames", 1), a.info.get("loop"), a.info.get("duration")) == (
            getattr(b, "n_frames", 1),
            b.info.get("loop"),
            b.info.get("duration"),
        )
        assert b.info.get("comment") == b"made by Pillow"


def test_gif87a_is_upgraded_to_gif89a(tmp_path: Path, label: AIGCLabel) -> None:
    src = GIF_SAMPLES["static.gif"](tmp_path)
    data = src.read_bytes()
    src.write_bytes(b"GIF87a" + data[6:])
    out = label_and_copy(src, label, tmp_path)
    assert out.read_bytes()[:6] == b"GIF89a"
    assert implicit.content_digest(out) == implicit.content_digest(src)
    assert implicit.read_label(out).label == label


def test_comment_wrapper_is_read_and_removed_while_other_comments_stay(
    tmp_path: Path, label: AIGCLabel, exiftool: list[str]
) -> None:
    src = GIF_SAMPLES["comment_label.gif"](tmp_path)
    _, raws = implicit.read_raw(src)
    assert [(r.carrier, r.named_slot, r.wrapped) for r in raws] == [("GIF comment extension", False, True)]
    assert implicit.read_label(src).label == images.THIRD_PARTY
    out = label_and_copy(src, label, tmp_path)
    assert [kind for kind, _ in _blocks(out)].count("comment") == 0
    finding = implicit.read_label(out)
    assert finding.carriers == ("XMP TC260:AIGC (GIF application extension)",) and finding.label == label
    (tags,) = exiftool_json(exiftool, [out], "-G1")
    assert "GIF:Comment" not in tags and tags["XMP-TC260:AIGC"] == label.to_json()


def test_xmp_written_as_plain_sub_blocks_is_read_and_replaced(tmp_path: Path, label: AIGCLabel) -> None:
    src = GIF_SAMPLES["static.gif"](tmp_path)
    packet = _xmp.new_packet(images.THIRD_PARTY.to_json())
    blocks = b"".join(
        bytes([len(packet[i : i + 255])]) + packet[i : i + 255] for i in range(0, len(packet), 255)
    )
    extension = b"\x21\xff" + gif.XMP_APP + blocks + b"\x00"
    data = src.read_bytes()
    images_at = data.index(b"\x2c\x00\x00\x00\x00")
    src.write_bytes(data[:images_at] + extension + data[images_at:])
    _, raws = implicit.read_raw(src)
    assert [(r.carrier, r.text) for r in raws] == [
        ("XMP TC260:AIGC (GIF application extension)", images.THIRD_PARTY.to_json())
    ]
    implicit.write_label(src, label)
    finding = implicit.read_label(src)
    assert len(finding.carriers) == 1 and finding.label == label


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda d: d[: len(d) // 2], id="truncated-in-image-data"),
        pytest.param(lambda d: d[:-1], id="missing-trailer"),
        pytest.param(lambda d: d[:10], id="truncated-screen"),
        pytest.param(lambda d: d[:13] + b"\x00" * (len(d) - 13), id="zeroed-blocks"),
    ],
)
def test_broken_files_raise_corruptfile_and_stay_unchanged(
    damage: Callable[[bytes], bytes], tmp_path: Path, label: AIGCLabel
) -> None:
    src = GIF_SAMPLES["animated.gif"](tmp_path)
    src.write_bytes(damage(src.read_bytes()))
    before = src.read_bytes()
    with pytest.raises(CorruptFile):
        implicit.write_label(src, label)
    with pytest.raises(CorruptFile):
        implicit.read_label(src)
    assert src.read_bytes() == before


def test_content_digest_changes_when_one_image_byte_changes(tmp_path: Path) -> None:
    src = GIF_SAMPLES["static.gif"](tmp_path)
    digest = implicit.content_digest(src)
    data = bytearray(src.read_bytes())
    data[-20] ^= 0x01
    src.write_bytes(bytes(data))
    assert implicit.content_digest(src) != digest
