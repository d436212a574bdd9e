"""FLAC plugin: VORBIS_COMMENT ``AIGC=``; blocks, vendor and comments kept; padding; interop; errors."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from mutagen.flac import FLAC
from mutagen.id3 import ID3, TIT2, TXXX

from synthguard.errors import CorruptFile
from synthguard.labels import implicit
from synthguard.labels.implicit import flac
from synthguard.labels.model import AIGCLabel, Verdict
from tests.labels.implicit.audio_support import ffprobe_tags, label_copy
from tests.labels.implicit.image_support import CountingReader
from tests.media import audio

FLAC_SAMPLES = {name: make for name, make in audio.SAMPLES.items() if name.endswith(".flac")}


def _blocks(data: bytes) -> list[tuple[int, bytes]]:
    """(type, data) of every metadata block, independent of the plugin."""
    pos = data.index(b"fLaC") + 4
    out = []
    while True:
        kind, length = data[pos] & 0x7F, int.from_bytes(data[pos + 1 : pos + 4], "big")
        out.append((kind, data[pos + 4 : pos + 4 + length]))
        last = data[pos] & 0x80
        pos += 4 + length
        if last:
            return out


def _audio_offset(data: bytes) -> int:
    return data.index(b"fLaC") + 4 + sum(4 + len(block) for _, block in _blocks(data))


def _with_blocks(data: bytes, blocks: list[tuple[int, bytes]]) -> bytes:
    head = b"fLaC"
    for index, (kind, block) in enumerate(blocks):
        flag = 0x80 if index == len(blocks) - 1 else 0
        head += bytes((flag | kind,)) + len(block).to_bytes(3, "big") + block
    return head + data[_audio_offset(data) :]


def _comment_block(vendor: bytes, entries: list[bytes]) -> bytes:
    out = struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", len(entries))
    return out + b"".join(struct.pack("<I", len(e)) + e for e in entries)


@pytest.mark.parametrize("name", sorted(FLAC_SAMPLES))
def test_mutagen_and_ffprobe_read_our_label_and_samples_are_unchanged(
    name: str, tmp_path: Path, label: AIGCLabel
) -> None:
    src = FLAC_SAMPLES[name](tmp_path)
    out = label_copy(src, label, tmp_path)
    assert FLAC(out)["AIGC"] == [label.to_json()]
    assert ffprobe_tags(out)["AIGC"] == label.to_json()
    before, _ = sf.read(src, dtype="int32")
    after, _ = sf.read(out, dtype="int32")
    assert np.array_equal(before, after)
    assert _blocks(out.read_bytes())[0] == _blocks(src.read_bytes())[0]  # STREAMINFO with the MD5
    assert implicit.content_digest(out) == implicit.content_digest(src)


def test_vendor_comments_and_picture_are_kept_and_padding_absorbs_the_label(
    tmp_path: Path, label: AIGCLabel
) -> None:
    src = audio.flac_tags_picture(tmp_path)
    out = label_copy(src, label, tmp_path)
    old, new = src.read_bytes(), out.read_bytes()
    before, after = FLAC(src), FLAC(out)
    assert after.tags is not None and before.tags is not None
    assert after.tags.vendor == before.tags.vendor
    assert after["TITLE"] == ["Cover song"]
    assert after["ARTIST"] == ["Synthguard tests", "Second artist"]
    old_pictures = [b for kind, b in _blocks(old) if kind == 6]
    assert [b for kind, b in _blocks(new) if kind == 6] == old_pictures != []
    # mutagen left a PADDING block: the frames keep their offset and the file its size.
    assert len(new) == len(old)
    assert new[_audio_offset(new) :] == old[_audio_offset(old) :]
    assert _audio_offset(new) == _audio_offset(old)


def test_a_file_without_padding_room_gets_a_new_padding_block(tmp_path: Path, label: AIGCLabel) -> None:
    src = audio.flac_plain(tmp_path)
    assert 1 not in [kind for kind, _ in _blocks(src.read_bytes())]
    out = label_copy(src, label, tmp_path)
    blocks = _blocks(out.read_bytes())
    assert blocks[-1] == (1, bytes(1024))
    # The next label fits in that padding: the file keeps its size.
    again = label_copy(out, label.replace(PropagateID="second-write"), tmp_path, "again.flac")
    assert again.stat().st_size == out.stat().st_size


def test_a_file_without_a_comment_block_gets_one_after_streaminfo(tmp_path: Path, label: AIGCLabel) -> None:
    src = audio.flac_tags_picture(tmp_path)
    data = src.read_bytes()
    stripped = [(kind, block) for kind, block in _blocks(data) if kind != 4]
    path = tmp_path / "no_comments.flac"
    path.write_bytes(_with_blocks(data, stripped))
    implicit.write_label(path, label)
    kinds = [kind for kind, _ in _blocks(path.read_bytes())]
    assert kinds[:2] == [0, 4]
    result = FLAC(path)
    assert result["AIGC"] == [label.to_json()]
    assert result.tags is not None and result.tags.vendor == "synthguard"
    assert len(result.pictures) == 1


def test_every_copy_in_any_case_and_any_comment_block_becomes_one(tmp_path: Path, label: AIGCLabel) -> None:
    src = audio.flac_plain(tmp_path)
    data = src.read_bytes()
    theirs = audio.THIRD_PARTY.to_json().encode()
    blocks = _blocks(data)
    first = _comment_block(b"vendor one", [b"TITLE=Two blocks", b"aigc=" + theirs])
    second = _comment_block(b"vendor two", [b"AIGC=" + theirs, b"ARTIST=Someone"])
    path = tmp_path / "two_blocks.flac"
    path.write_bytes(_with_blocks(data, [blocks[0], (4, first), (4, second)]))
    finding = implicit.read_label(path)
    assert finding.verdict is Verdict.NON_COMPLIANT
    assert finding.carriers == ("VORBIS_COMMENT aigc=", "VORBIS_COMMENT AIGC=")
    implicit.write_label(path, label)
    after = implicit.read_label(path)
    assert after.verdict is Verdict.COMPLIANT
    assert after.carriers == ("VORBIS_COMMENT AIGC=",)
    comments = [block for kind, block in _blocks(path.read_bytes()) if kind == 4]
    assert b"TITLE=Two blocks" in comments[0] and b"ARTIST=Someone" in comments[1]


def test_we_read_the_label_mutagen_writes(tmp_path: Path, label: AIGCLabel) -> None:
    path = audio.flac_mutagen_label(tmp_path)
    assert implicit.read_label(path).label == audio.THIRD_PARTY
    implicit.write_label(path, label)
    result = FLAC(path)
    assert result["AIGC"] == [label.to_json()]
    assert result["TITLE"] == ["Labelled elsewhere"]


def test_an_id3_tag_before_flac_is_kept_and_its_label_removed(tmp_path: Path, label: AIGCLabel) -> None:
    src = audio.flac_plain(tmp_path)
    tags = ID3()
    tags.add(TIT2(encoding=3, text="Ripper tag"))
    tags.add(TXXX(encoding=3, desc="AIGC", text=audio.THIRD_PARTY.to_json()))
    prefix_file = tmp_path / "prefix.mp3"
    prefix_file.write_bytes(b"")
    tags.save(prefix_file)
    path = tmp_path / "id3_prefixed.flac"
    path.write_bytes(prefix_file.read_bytes() + src.read_bytes())
    assert implicit.identify_path(path).name == "FLAC"
    assert implicit.read_label(path).carriers[0].startswith("ID3 before fLaC")
    assert implicit.content_digest(path) == implicit.content_digest(src)
    implicit.write_label(path, label)
    assert implicit.read_label(path).carriers == ("VORBIS_COMMENT AIGC=",)
    assert str(ID3(path)["TIT2"]) == "Ripper tag"
    before, _ = sf.read(src, dtype="int32")
    assert np.array_equal(sf.read(path, dtype="int32")[0], before)


def test_changing_one_audio_byte_changes_the_digest(tmp_path: Path) -> None:
    src = audio.flac_plain(tmp_path)
    data = bytearray(src.read_bytes())
    data[-100] ^= 0x01
    changed = tmp_path / "changed.flac"
    changed.write_bytes(bytes(data))
    assert implicit.content_digest(changed) != implicit.content_digest(src)


@pytest.mark.parametrize(
    ("what", "damage"),
    [
        ("block length past the end", lambda d: d[:42] + b"\x84\xff\xff\xf0" + d[46:]),
        ("streaminfo not first", lambda d: d[:4] + bytes((d[4] | 0x04,)) + d[5:]),
        (
            "no frame after the metadata",
            lambda d: d[: _audio_offset(d)] + b"\x00\x00" + d[_audio_offset(d) + 2 :],
        ),
        ("truncated inside the metadata", lambda d: d[:30]),
    ],
)
def test_broken_files_raise_corrupt_file_and_stay_unchanged(
    what: str, damage: object, tmp_path: Path, label: AIGCLabel
) -> None:
    broken = damage(audio.flac_tags_picture(tmp_path).read_bytes())  # type: ignore[operator]
    path = tmp_path / "broken.flac"
    path.write_bytes(broken)
    with pytest.raises(CorruptFile):
        implicit.write_label(path, label)
    assert path.read_bytes() == broken, what
    with pytest.raises(CorruptFile):
        implicit.read_label(path)


def test_reading_skips_the_picture_and_the_frames(tmp_path: Path, label: AIGCLabel) -> None:
    path = audio.flac_tags_picture(tmp_path)
    implicit.write_label(path, label, fsync=False)
    reader = CountingReader(path)
    try:
        raws = flac.PLUGIN.read(reader)  # type: ignore[arg-type]
    finally:
        reader.close()
    assert [raw.text for raw in raws] == [label.to_json()]
    picture = sum(len(b) for kind, b in _blocks(path.read_bytes()) if kind == 6)
    assert reader.bytes_read < 1024 < picture
