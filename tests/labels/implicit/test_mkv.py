"""Matroska/WebM plugin: the AIGC SimpleTag, checked through ffprobe, ffmpeg, exiftool and PyAV."""

from __future__ import annotations

import io
import shutil
import subprocess
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, cast

import pytest

from synthguard.errors import CorruptFile
from synthguard.labels import implicit
from synthguard.labels.implicit import mkv
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

WRITABLE = ["h264_aac.mkv", "mpeg4_mp3.mkv", "vp9_opus.webm", "live.webm", "tight.mkv"]
# Samples whose Tags element cannot grow in front of the clusters: the label goes to the end.
TAGS_AT_END = ["h264_aac.mkv", "vp9_opus.webm"]
# Samples with no room before the clusters' SeekHead (or none at all): Tags inserted there.
TAGS_IN_FRONT = ["live.webm", "tight.mkv"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> SampleCache:
    return SampleCache(tmp_path_factory.mktemp("mkv_samples"))


@pytest.fixture
def sample(cache: SampleCache, tmp_path: Path) -> Callable[[str], Path]:
    return lambda name: cache.copy(name, tmp_path)


def _labelled(src: Path, label: AIGCLabel) -> Path:
    out = src.with_name("labelled_" + src.name)
    implicit.write_label(src, label, out)
    return out


# --- an EBML walk independent of the plugin, to check every stored position ----------------------


def _vint(data: bytes, pos: int, marker: bool) -> tuple[int, int]:
    length = 9 - data[pos].bit_length()
    value = data[pos] if marker else data[pos] & (0xFF >> length)
    for byte in data[pos + 1 : pos + length]:
        value = (value << 8) | byte
    return value, length


def _walk(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    found, pos = [], start
    while pos < end:
        eid, a = _vint(data, pos, True)
        size, b = _vint(data, pos + a, False)
        if size == (1 << (7 * b)) - 1:
            size = end - pos - a - b
        found.append((eid, pos, pos + a + b, pos + a + b + size))
        pos += a + b + size
    return found


def _positions_point_at_their_elements(path: Path) -> int:
    """Check every SeekHead entry and Cues cluster position; return how many were checked."""
    data = path.read_bytes()
    segment = next(e for e in _walk(data, 0, len(data)) if e[0] == 0x18538067)
    seg_data = segment[2]
    starts = {pos: eid for eid, pos, _d, _e in _walk(data, seg_data, segment[3])}
    checked = 0
    for eid, _pos, d, e in _walk(data, seg_data, segment[3]):
        if eid == 0x114D9B74:  # SeekHead
            for seek in (s for s in _walk(data, d, e) if s[0] == 0x4DBB):
                kids = {k[0]: data[k[2] : k[3]] for k in _walk(data, seek[2], seek[3])}
                target = int.from_bytes(kids[0x53AB], "big")
                assert starts.get(seg_data + int.from_bytes(kids[0x53AC], "big")) == target
                checked += 1
        if eid == 0x1C53BB6B:  # Cues
            for point in (p for p in _walk(data, d, e) if p[0] == 0xBB):
                for track in (t for t in _walk(data, point[2], point[3]) if t[0] == 0xB7):
                    for k in (k for k in _walk(data, track[2], track[3]) if k[0] == 0xF1):
                        where = seg_data + int.from_bytes(data[k[2] : k[3]], "big")
                        assert starts.get(where) == 0x1F43B675
                        checked += 1
    return checked


def _crcs_hold(path: Path) -> int:
    """Check the CRC-32 of every level-1 element, Tag and Seek that carries one; return the count."""
    data = path.read_bytes()
    segment = next(e for e in _walk(data, 0, len(data)) if e[0] == 0x18538067)
    checked = 0

    def check(d: int, e: int) -> None:
        nonlocal checked
        if data[d] == 0xBF:
            assert data[d + 2 : d + 6] == zlib.crc32(data[d + 6 : e]).to_bytes(4, "little")
            checked += 1

    for eid, _pos, d, e in _walk(data, segment[2], segment[3]):
        if eid == 0xEC or eid == 0x1F43B675:
            continue
        check(d, e)
        if eid in (0x1254C367, 0x114D9B74):  # Tags, SeekHead: their Tag / Seek children too
            for _kid, _p, kd, ke in _walk(data, d, e):
                check(kd, ke)
    return checked


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
    # ffmpeg ignores CRC-32 elements, stricter readers do not: every one we rebuilt must match.
    checked = _crcs_hold(path)
    assert checked >= 2 if name.endswith(".mkv") else checked == 0  # WebM carries no CRC-32


@pytest.mark.parametrize("name", WRITABLE)
def test_labelling_leaves_every_packet_frame_and_the_digest_unchanged(
    name: str, sample: Callable[[str], Path], label: AIGCLabel
) -> None:
    src = sample(name)
    out = _labelled(src, label)
    assert_same_media(src, out)
    assert implicit.content_digest(out) == implicit.content_digest(src)


@pytest.mark.parametrize("name", WRITABLE)
def test_other_format_and_stream_tags_survive(
    name: str, sample: Callable[[str], Path], label: AIGCLabel
) -> None:
    src = sample(name)
    out = _labelled(src, label)
    assert ffprobe_metadata(out) == ffprobe_metadata(src)


@pytest.mark.parametrize("name", WRITABLE)
def test_seek_index_still_points_at_clusters_and_seeking_lands_on_the_same_frame(
    name: str, sample: Callable[[str], Path], label: AIGCLabel
) -> None:
    src = sample(name)
    out = _labelled(src, label)
    assert _positions_point_at_their_elements(out) >= (0 if name == "live.webm" else 3)
    for seconds in (0.7, 1.3):
        pts_before, frame_before = frame_after_seek(src, seconds)
        pts_after, frame_after = frame_after_seek(out, seconds)
        assert pts_after == pts_before
        assert (frame_after == frame_before).all()


def test_tags_inserted_before_the_clusters_shift_the_cues_and_seekhead(
    sample: Callable[[str], Path], label: AIGCLabel
) -> None:
    src = sample("tight.mkv")
    out = _labelled(src, label)
    assert out.stat().st_size > src.stat().st_size
    checked = _positions_point_at_their_elements(out)
    assert checked >= 6  # Info, Tracks, Cues entries and every cue point


@pytest.mark.parametrize("name", TAGS_AT_END)
def test_exiftool_sees_a_label_behind_the_clusters_with_extract_embedded(
    name: str, sample: Callable[[str], Path], label: AIGCLabel, exiftool: list[str]
) -> None:
    # ExifTool stops at the first Cluster unless -ee is given (its Matroska documentation); the
    # label is then in the Tags element at the end, found by players through the SeekHead.
    path = sample(name)
    before = exiftool_json(exiftool, path)
    implicit.write_label(path, label)
    after = exiftool_json(exiftool, path, "-ee")
    assert after["Matroska:Aigc"] == label.to_json()
    assert after.get("Matroska:Title") == before.get("Matroska:Title")


@pytest.mark.parametrize("name", TAGS_IN_FRONT)
def test_exiftool_sees_a_label_in_front_of_the_clusters_by_default(
    name: str, sample: Callable[[str], Path], label: AIGCLabel, exiftool: list[str]
) -> None:
    path = sample(name)
    implicit.write_label(path, label)
    assert exiftool_json(exiftool, path)["Matroska:Aigc"] == label.to_json()


# --- labels written by others --------------------------------------------------------------------


def test_we_read_the_label_ffmpeg_writes_and_replace_it_with_ours(
    sample: Callable[[str], Path], label: AIGCLabel
) -> None:
    path = sample("aigc_by_ffmpeg.mkv")
    theirs = implicit.read_label(path)
    assert theirs.verdict is Verdict.COMPLIANT, theirs.problems
    assert theirs.label is not None and theirs.label.to_json() == THIRD_PARTY_JSON
    implicit.write_label(path, label)
    ours = implicit.read_label(path)
    assert ours.label == label
    assert len(ours.carriers) == 1
    assert ffprobe_label(path) == label.to_json()
    assert ffprobe_metadata(path)["format"]["title"] == "Labelled elsewhere"


def test_a_wrapped_value_is_read_and_flagged(sample: Callable[[str], Path]) -> None:
    path = sample("wrapped_by_ffmpeg.mkv")
    _plugin, raws = implicit.read_raw(path)
    assert [r.wrapped for r in raws] == [True]
    finding = implicit.read_label(path)
    assert finding.label is not None and finding.label.ProduceID == "thirdparty-42"
    assert any("wrapper" in w for w in finding.warnings)


def test_a_track_level_copy_counts_as_a_duplicate_and_writing_leaves_one(
    sample: Callable[[str], Path], label: AIGCLabel, tmp_path: Path
) -> None:
    src = sample("mpeg4_mp3.mkv")
    both = tmp_path / "both.mkv"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(src), "-c", "copy",
         "-metadata", f"AIGC={THIRD_PARTY_JSON}", "-metadata:s:v:0", f"AIGC={THIRD_PARTY_JSON}",
         str(both)],
        check=True,
    )  # fmt: skip
    finding = implicit.read_label(both)
    assert len(finding.carriers) == 2
    assert finding.verdict is Verdict.NON_COMPLIANT
    assert any("track" in c for c in finding.carriers)
    implicit.write_label(both, label)
    after = implicit.read_label(both)
    assert after.verdict is Verdict.COMPLIANT, after.problems
    assert len(after.carriers) == 1


# --- rewriting -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["h264_aac.mkv", "live.webm"])
def test_rewriting_updates_the_one_label_in_place(
    name: str, sample: Callable[[str], Path], label: AIGCLabel
) -> None:
    path = sample(name)
    original = path.with_name("original_" + name)
    shutil.copyfile(path, original)
    implicit.write_label(path, label)
    size = path.stat().st_size
    same_length = label.replace(PropagateID="sg-0001-tesT")
    implicit.write_label(path, same_length)
    assert path.stat().st_size == size  # rewritten where it was, nothing appended
    propagated = label.replace(
        ContentPropagator=PLATFORM, PropagateID="p-" + "9" * 60, ReservedCode2="x" * 300
    )
    implicit.write_label(path, propagated)
    implicit.write_label(path, same_length)
    finding = implicit.read_label(path)
    assert finding.label == same_length
    assert len(finding.carriers) == 1
    assert ffprobe_label(path) == same_length.to_json()
    assert_same_media(original, path)


# --- reading cost and broken input ---------------------------------------------------------------


def test_reading_skips_the_clusters(sample: Callable[[str], Path], label: AIGCLabel) -> None:
    path = sample("h264_aac.mkv")
    implicit.write_label(path, label)  # the label now sits behind every cluster
    reader = CountingReader(path)
    try:
        raws = mkv.PLUGIN.read(cast(BinaryIO, reader))
    finally:
        reader.close()
    assert [r.text for r in raws] == [label.to_json()]
    assert reader.bytes_read < 1500 < path.stat().st_size // 10
    start = time.perf_counter()
    for _ in range(50):
        implicit.read_label(path)
    assert (time.perf_counter() - start) / 50 < 0.005  # ~0.3 ms here; generous for slow CI


@pytest.mark.parametrize("name", ["h264_aac.mkv", "live.webm"])
@pytest.mark.parametrize("keep", [0.97, 0.5, 200])
def test_a_truncated_file_raises_corrupt_and_is_left_untouched(
    name: str, keep: float, sample: Callable[[str], Path], label: AIGCLabel
) -> None:
    path = sample(name)
    data = path.read_bytes()
    cut = data[: int(keep * len(data)) if keep < 1 else int(keep)]
    path.write_bytes(cut)
    with pytest.raises(CorruptFile):
        implicit.write_label(path, label)
    assert path.read_bytes() == cut


def test_an_element_size_past_its_parent_raises_corrupt(
    sample: Callable[[str], Path], label: AIGCLabel
) -> None:
    path = sample("mpeg4_mp3.mkv")
    data = bytearray(path.read_bytes())
    tracks = data.index(b"\x16\x54\xae\x6b")
    data[tracks + 4 : tracks + 6] = b"\x7f\xfe"  # 2-byte size 0x3ffe: far past the Segment head
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFile):
        implicit.read_label(path)
    with pytest.raises(CorruptFile):
        implicit.write_label(path, label)
    assert path.read_bytes() == bytes(data)


def test_a_seekhead_pointing_past_the_end_raises_corrupt(
    sample: Callable[[str], Path], label: AIGCLabel
) -> None:
    path = sample("h264_aac.mkv")
    implicit.write_label(path, label)  # the SeekHead now names the Tags element at the end
    data = bytearray(path.read_bytes())
    tags_id = data.index(b"\x53\xab\x84\x12\x54\xc3\x67")
    position = tags_id + 7  # SeekPosition element: 53 AC, size, value
    assert data[position : position + 2] == b"\x53\xac"
    length = data[position + 2] & 0x7F
    data[position + 3 : position + 3 + length] = b"\xff" * length
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFile):
        implicit.read_label(path)
    with pytest.raises(CorruptFile):
        implicit.write_label(path, label)


def test_garbage_after_the_magic_raises_corrupt() -> None:
    data = b"\x1a\x45\xdf\xa3\x9f\x42\x82\x88matroska" + b"\x00" * 40
    with pytest.raises(CorruptFile):
        mkv.PLUGIN.read(io.BytesIO(data))
    with pytest.raises(CorruptFile):
        mkv.PLUGIN.content_digest(io.BytesIO(data))


def test_the_digest_covers_cluster_bytes_but_not_info_or_tags(sample: Callable[[str], Path]) -> None:
    path = sample("h264_aac.mkv")
    digest = implicit.content_digest(path)
    data = bytearray(path.read_bytes())
    title = data.index(b"Sample title")
    data[title] ^= 0x20  # Info/Title: metadata
    artist = data.index(b"Sample artist")
    data[artist] ^= 0x20  # Tags/SimpleTag ARTIST: metadata
    path.write_bytes(bytes(data))
    assert implicit.content_digest(path) == digest
    cluster = data.index(b"\x1f\x43\xb6\x75")
    data[cluster + 40] ^= 0x01  # a byte of the first block
    path.write_bytes(bytes(data))
    assert implicit.content_digest(path) != digest
