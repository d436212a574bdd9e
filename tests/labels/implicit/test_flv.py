"""FLV plugin: the onMetaData AIGC entry, checked through ffprobe, ffmpeg, exiftool and PyAV."""

from __future__ import annotations

import io
import shutil
import struct
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, cast

import pytest

from synthguard.errors import CorruptFile
from synthguard.labels import implicit
from synthguard.labels.implicit import flv
from synthguard.labels.model import AIGCLabel, Verdict
from tests.conftest import PLATFORM
from tests.labels.implicit.mkv_flv_support import (
    CountingReader,
    SampleCache,
    assert_same_media,
    exiftool_json,
    ffprobe_label,
    ffprobe_metadata,
    frame_after_seek,
)
from tests.media.video_mkv_flv import THIRD_PARTY_JSON

WRITABLE = ["flv1_mp3.flv", "h264_aac.flv", "no_metadata.flv", "aigc_by_ffmpeg.flv"]
# Entries that legitimately change: the label, and the byte offset of the last keyframe.
MOVING = ("AIGC", "lastkeyframelocation")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> SampleCache:
    return SampleCache(tmp_path_factory.mktemp("flv_samples"))


@pytest.fixture
def sample(cache: SampleCache, tmp_path: Path) -> Callable[[str], Path]:
    return lambda name: cache.copy(name, tmp_path)


def _labelled(src: Path, label: AIGCLabel) -> Path:
    out = src.with_name("labelled_" + src.name)
    implicit.write_label(src, label, out)
    return out


# --- a tag walk independent of the plugin --------------------------------------------------------


def _tags(data: bytes) -> list[tuple[int, int, int]]:
    """(offset, type, data size) of every tag."""
    pos = int.from_bytes(data[5:9], "big") + 4
    found = []
    while pos < len(data):
        size = int.from_bytes(data[pos + 1 : pos + 4], "big")
        found.append((pos, data[pos] & 0x1F, size))
        assert int.from_bytes(data[pos + 11 + size : pos + 15 + size], "big") == 11 + size
        pos += 11 + size + 4
    return found


def _filepositions(data: bytes) -> list[int]:
    """The keyframes.filepositions array of the first script tag (AMF0 strict array of numbers)."""
    at = data.index(b"\x00\x0dfilepositions\x0a") + 16
    (count,) = struct.unpack(">I", data[at : at + 4])
    values = []
    for n in range(count):
        marker = data[at + 4 + 9 * n]
        assert marker == 0
        values.append(int(struct.unpack(">d", data[at + 5 + 9 * n : at + 13 + 9 * n])[0]))
    return values


# --- the label as third-party readers see it -----------------------------------------------------


@pytest.mark.parametrize("name", WRITABLE)
def test_ffprobe_reads_the_label_we_write(name: str, sample: Callable[[str], Path], label: AIGCLabel) -> None:
    path = sample(name)
    implicit.write_label(path, label)
    assert ffprobe_label(path) == label.to_json()
    finding = implicit.read_label(path)
    assert finding.verdict is Verdict.COMPLIANT, finding.problems
    assert finding.label == label
    assert len(finding.carriers) == 1
    tags = _tags(path.read_bytes())  # every PreviousTagSize is right
    assert tags[0][1] == 18  # onMetaData stays (or, when inserted, becomes) the first tag


@pytest.mark.parametrize("name", WRITABLE)
def test_labelling_leaves_every_packet_frame_and_the_digest_unchanged(
    name: str, sample: Callable[[str], Path], label: AIGCLabel
) -> None:
    src = sample(name)
    out = _labelled(src, label)
    assert_same_media(src, out)
    assert implicit.content_digest(out) == implicit.content_digest(src)


@pytest.mark.parametrize("name", WRITABLE)
def test_other_metadata_entries_survive(name: str, sample: Callable[[str], Path], label: AIGCLabel) -> None:
    src = sample(name)
    out = _labelled(src, label)
    assert ffprobe_metadata(out, without=MOVING) == ffprobe_metadata(src, without=MOVING)


@pytest.mark.parametrize("name", ["flv1_mp3.flv", "aigc_by_ffmpeg.flv"])
def test_keyframe_index_is_shifted_to_the_same_keyframes_and_seeking_still_works(
    name: str, sample: Callable[[str], Path], label: AIGCLabel
) -> None:
    src = sample(name)
    out = _labelled(src, label)
    old, new = src.read_bytes(), out.read_bytes()
    old_positions, new_positions = _filepositions(old), _filepositions(new)
    assert len(new_positions) == len(old_positions) >= 4
    for before, after in zip(old_positions, new_positions, strict=True):
        assert new[after] & 0x1F == 9 and new[after + 11] >> 4 == 1  # a video keyframe tag
        assert new[after : after + 11] == old[before : before + 11]
    last = ffprobe_metadata(out, without=())["format"]["lastkeyframelocation"]
    shift = new_positions[-1] - old_positions[-1]
    assert int(last) == int(ffprobe_metadata(src, without=())["format"]["lastkeyframelocation"]) + shift
    for seconds in (0.7, 1.3):
        pts_before, frame_before = frame_after_seek(src, seconds)
        pts_after, frame_after = frame_after_seek(out, seconds)
        assert pts_after == pts_before
        assert (frame_after == frame_before).all()


def test_a_file_without_onmetadata_gets_one_as_the_first_tag(
    sample: Callable[[str], Path], label: AIGCLabel
) -> None:
    src = sample("no_metadata.flv")
    assert implicit.read_label(src).verdict is Verdict.ABSENT
    out = _labelled(src, label)
    data = out.read_bytes()
    first, kind, size = _tags(data)[0]
    assert kind == 18 and b"onMetaData" in data[first + 11 : first + 11 + size]
    assert len(data) == src.stat().st_size + 11 + size + 4
    assert ffprobe_label(out) == label.to_json()


def test_exiftool_shows_the_label_and_keeps_the_title(
    sample: Callable[[str], Path], label: AIGCLabel, exiftool: list[str]
) -> None:
    path = sample("flv1_mp3.flv")
    implicit.write_label(path, label)
    seen = exiftool_json(exiftool, path)
    assert seen["Flash:AIGC"] == label.to_json()
    assert seen["Flash:Title"] == "Sample flv"


# --- labels written by others --------------------------------------------------------------------


def test_we_read_the_label_ffmpeg_writes_and_replace_it_with_ours(
    sample: Callable[[str], Path], label: AIGCLabel
) -> None:
    path = sample("aigc_by_ffmpeg.flv")
    theirs = implicit.read_label(path)
    assert theirs.verdict is Verdict.COMPLIANT, theirs.problems
    assert theirs.label is not None and theirs.label.to_json() == THIRD_PARTY_JSON
    implicit.write_label(path, label)
    ours = implicit.read_label(path)
    assert ours.label == label
    assert len(ours.carriers) == 1
    assert ffprobe_label(path) == label.to_json()
    assert ffprobe_metadata(path)["format"]["title"] == "Labelled elsewhere"


def _as_long_string(path: Path) -> None:
    """Re-encode the AIGC entry of the first tag as an AMF0 long string (marker 0x0C)."""
    data = path.read_bytes()
    first = int.from_bytes(data[5:9], "big") + 4
    size = int.from_bytes(data[first + 1 : first + 4], "big")
    body = data[first + 11 : first + 11 + size]
    at = body.index(b"\x00\x04AIGC\x02") + 6
    (length,) = struct.unpack(">H", body[at + 1 : at + 3])
    body = body[:at] + b"\x0c" + struct.pack(">I", length) + body[at + 3 :]
    tag = data[first : first + 1] + len(body).to_bytes(3, "big") + data[first + 4 : first + 11] + body
    path.write_bytes(data[:first] + tag + struct.pack(">I", len(tag)) + data[first + 11 + size + 4 :])


def test_a_long_string_value_is_read_and_replaced_by_a_plain_string(
    sample: Callable[[str], Path], label: AIGCLabel
) -> None:
    path = sample("h264_aac.flv")
    implicit.write_label(path, label)
    _as_long_string(path)
    assert implicit.read_label(path).label == label
    second = label.replace(ContentPropagator=PLATFORM, PropagateID="platform-7")
    implicit.write_label(path, second)
    assert implicit.read_label(path).label == second
    assert ffprobe_label(path) == second.to_json()


def test_an_onmetadata_framed_by_setdataframe_is_read_and_a_plain_one_is_written(
    sample: Callable[[str], Path], label: AIGCLabel
) -> None:
    path = sample("aigc_by_ffmpeg.flv")
    data = path.read_bytes()
    first = int.from_bytes(data[5:9], "big") + 4
    size = int.from_bytes(data[first + 1 : first + 4], "big")
    body = b"\x02\x00\x0d@setDataFrame" + data[first + 11 : first + 11 + size]
    tag = data[first : first + 1] + len(body).to_bytes(3, "big") + data[first + 4 : first + 11] + body
    path.write_bytes(data[:first] + tag + struct.pack(">I", len(tag)) + data[first + 11 + size + 4 :])
    theirs = implicit.read_label(path)
    assert theirs.label is not None and theirs.label.to_json() == THIRD_PARTY_JSON
    assert ffprobe_label(path) is None  # libavformat skips the framed tag
    implicit.write_label(path, label)
    assert ffprobe_label(path) == label.to_json()
    after = implicit.read_label(path)
    assert after.label == label and len(after.carriers) == 1
    assert b"@setDataFrame" in path.read_bytes()  # the framed tag stays, minus its AIGC entry


# --- rewriting -----------------------------------------------------------------------------------


def test_rewriting_updates_the_one_label_in_place(sample: Callable[[str], Path], label: AIGCLabel) -> None:
    path = sample("flv1_mp3.flv")
    original = path.with_name("original.flv")
    shutil.copyfile(path, original)
    implicit.write_label(path, label)
    size = path.stat().st_size
    same_length = label.replace(PropagateID="sg-0001-tesT")
    implicit.write_label(path, same_length)
    assert path.stat().st_size == size
    implicit.write_label(path, label.replace(ReservedCode2="y" * 500))
    implicit.write_label(path, same_length)
    assert path.stat().st_size == size
    finding = implicit.read_label(path)
    assert finding.label == same_length
    assert len(finding.carriers) == 1
    assert_same_media(original, path)
    assert _filepositions(path.read_bytes())[0] - _filepositions(original.read_bytes())[0] > 0


# --- reading cost and broken input ---------------------------------------------------------------


def test_reading_stops_at_the_first_media_tag(sample: Callable[[str], Path], label: AIGCLabel) -> None:
    path = sample("flv1_mp3.flv")
    implicit.write_label(path, label)
    reader = CountingReader(path)
    try:
        raws = flv.PLUGIN.read(cast(BinaryIO, reader))
    finally:
        reader.close()
    assert [r.text for r in raws] == [label.to_json()]
    assert reader.bytes_read < 2000 < path.stat().st_size // 10


@pytest.mark.parametrize("keep", [0.97, 0.5, 100, 20])
def test_a_truncated_file_raises_corrupt_and_is_left_untouched(
    keep: float, sample: Callable[[str], Path], label: AIGCLabel
) -> None:
    path = sample("flv1_mp3.flv")
    data = path.read_bytes()
    cut = data[: int(keep * len(data)) if keep < 1 else int(keep)]
    path.write_bytes(cut)
    with pytest.raises(CorruptFile):
        implicit.write_label(path, label)
    assert path.read_bytes() == cut


def test_a_tag_size_past_the_end_raises_corrupt(sample: Callable[[str], Path], label: AIGCLabel) -> None:
    path = sample("h264_aac.flv")
    data = bytearray(path.read_bytes())
    second = _tags(bytes(data))[3][0]
    data[second + 1 : second + 4] = b"\xff\xff\xff"
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFile):
        implicit.write_label(path, label)
    with pytest.raises(CorruptFile):
        implicit.content_digest(path)
    assert path.read_bytes() == bytes(data)


def test_an_invalid_amf_marker_in_onmetadata_raises_corrupt(
    sample: Callable[[str], Path], label: AIGCLabel
) -> None:
    path = sample("h264_aac.flv")
    data = bytearray(path.read_bytes())
    data[data.index(b"\x00\x08duration") + 10] = 0x42  # not an AMF0 marker
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFile):
        implicit.read_label(path)
    with pytest.raises(CorruptFile):
        implicit.write_label(path, label)


def test_a_bad_tag_type_raises_corrupt() -> None:
    data = b"FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00" + b"\x07" + bytes(14)
    with pytest.raises(CorruptFile):
        flv.PLUGIN.read(io.BytesIO(data))


def test_the_digest_covers_media_tags_but_not_script_tags(sample: Callable[[str], Path]) -> None:
    path = sample("flv1_mp3.flv")
    digest = implicit.content_digest(path)
    data = bytearray(path.read_bytes())
    data[data.index(b"Sample flv")] ^= 0x20  # onMetaData title
    path.write_bytes(bytes(data))
    assert implicit.content_digest(path) == digest
    media = next(pos for pos, kind, _size in _tags(bytes(data)) if kind == 9)
    data[media + 20] ^= 0x01
    path.write_bytes(bytes(data))
    assert implicit.content_digest(path) != digest
