"""MP4/MOV/M4A: the ``AIGC`` key in ``moov/udta/meta`` (TC260-PG-20257A §6.1.1), checked against
ffprobe, ExifTool, mutagen and PyAV, for ``moov`` before and after ``mdat`` and fragmented files."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import time
from pathlib import Path

import av
import numpy as np
import pytest
from mutagen.mp4 import MP4

from synthguard.errors import CorruptFile
from synthguard.labels import implicit
from synthguard.labels.implicit import mp4
from synthguard.labels.implicit._isobmff import movie_rule, parse_node, top_level
from synthguard.labels.model import AIGCLabel, Verdict
from tests.conftest import PLATFORM
from tests.media import video

WRITABLE = ["h264_moov_last.mp4", "h264_faststart.mp4", "h264.mov", "aac.m4a", "fragmented.mp4"]


def make(name: str, folder: Path) -> Path:
    return video.SAMPLES[name](folder)


def ffprobe_tags(path: Path) -> dict[str, str]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format_tags", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    tags: dict[str, str] = json.loads(out).get("format", {}).get("tags", {})
    return tags


def packets(path: Path) -> list[tuple[int, int | None, bytes]]:
    with av.open(str(path)) as container:
        return [(p.stream.index, p.pts, bytes(p)) for p in container.demux() if p.size]


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        stream = container.streams[0]
        frames: list[np.ndarray] = []
        for frame in container.decode(stream):
            if isinstance(frame, av.VideoFrame):
                frames.append(frame.to_ndarray(format="rgb24"))
            elif isinstance(frame, av.AudioFrame):
                frames.append(frame.to_ndarray())
        return frames


def layout(path: Path) -> list[tuple[bytes, int]]:
    with open(path, "rb") as src:
        return [(b.type, b.start) for b in top_level(src, "MP4")]


@pytest.mark.parametrize("name", WRITABLE)
def test_ffprobe_reads_our_label(name: str, tmp_path: Path, label: AIGCLabel) -> None:
    path = make(name, tmp_path)
    implicit.write_label(path, label)
    assert ffprobe_tags(path)["AIGC"] == label.to_json()


@pytest.mark.parametrize("name", ["h264_moov_last.mp4", "h264_faststart.mp4", "h264.mov", "aac.m4a"])
def test_exiftool_reads_our_label_as_keys_aigc(
    name: str, tmp_path: Path, label: AIGCLabel, exiftool: list[str]
) -> None:
    path = make(name, tmp_path)
    implicit.write_label(path, label)
    out = subprocess.run(
        [*exiftool, "-j", "-Keys:AIGC", str(path)], check=True, capture_output=True, text=True
    )
    assert json.loads(out.stdout)[0]["AIGC"] == label.to_json()


@pytest.mark.parametrize("name", WRITABLE)
def test_every_packet_and_frame_is_identical_after_labeling(
    name: str, tmp_path: Path, label: AIGCLabel
) -> None:
    path = make(name, tmp_path)
    out = tmp_path / "out" / path.name
    out.parent.mkdir()
    implicit.write_label(path, label, out)
    assert packets(out) == packets(path)
    before, after = decoded(path), decoded(out)
    assert len(after) == len(before) > 0
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))


def test_moov_before_mdat_grows_and_every_chunk_offset_follows(tmp_path: Path, label: AIGCLabel) -> None:
    path = make("h264_faststart.mp4", tmp_path)
    before = dict(layout(path))
    assert before[b"moov"] < before[b"mdat"]
    implicit.write_label(path, label)
    after = dict(layout(path))
    assert after[b"mdat"] > before[b"mdat"]  # the media data moved ...
    ffmpeg = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"], capture_output=True, text=True
    )
    assert ffmpeg.returncode == 0 and not ffmpeg.stderr  # ... and ffmpeg decodes it without a complaint


def test_moov_after_mdat_is_rewritten_in_place_of_the_old_one(tmp_path: Path, label: AIGCLabel) -> None:
    path = make("h264_moov_last.mp4", tmp_path)
    before = path.read_bytes()
    moov_start = max(start for typ, start in layout(path) if typ == b"moov")
    implicit.write_label(path, label)
    assert path.read_bytes()[:moov_start] == before[:moov_start]  # everything before moov untouched


def test_fragmented_file_keeps_its_fragments_decodable(tmp_path: Path, label: AIGCLabel) -> None:
    path = make("fragmented.mp4", tmp_path)
    assert b"moof" in dict(layout(path))
    original = packets(path)
    implicit.write_label(path, label)
    implicit.write_label(path, label.replace(PropagateID="a-longer-propagate-id-" + "9" * 20))
    assert packets(path) == original


def test_we_read_the_label_ffmpeg_writes(tmp_path: Path) -> None:
    finding = implicit.read_label(make("aigc_by_ffmpeg.mp4", tmp_path))
    assert finding.verdict is Verdict.COMPLIANT
    assert finding.label == video.THIRD_PARTY
    assert finding.carriers == ("MP4 moov/udta/meta (mdta handler) key AIGC",)


def test_relabeling_an_ffmpeg_file_keeps_one_key_and_the_other_tags(
    tmp_path: Path, label: AIGCLabel, exiftool: list[str]
) -> None:
    path = make("aigc_by_ffmpeg.mp4", tmp_path)
    propagated = label.replace(ContentPropagator=PLATFORM, PropagateID="platform-0042")
    implicit.write_label(path, propagated)
    tags = ffprobe_tags(path)
    assert tags["AIGC"] == propagated.to_json()
    assert tags["title"] == "labelled elsewhere"
    out = subprocess.run(
        [*exiftool, "-j", "-G1", "-a", "-Keys:all", str(path)], capture_output=True, text=True
    )
    keys = json.loads(out.stdout)[0]
    assert [k for k in keys if k.endswith(":AIGC")] == ["Keys:AIGC"]
    assert len(implicit.read_label(path).carriers) == 1


def test_other_mdta_keys_survive(tmp_path: Path, label: AIGCLabel) -> None:
    path = make("mdta_titled.mp4", tmp_path)
    implicit.write_label(path, label)
    tags = ffprobe_tags(path)
    assert tags["title"] == "Harbour at dusk"
    assert tags["comment"] == "shot on a tripod"
    assert tags["AIGC"] == label.to_json()


@pytest.mark.parametrize("name", ["itunes_titled.mp4", "aac.m4a"])
def test_itunes_tags_stay_readable_by_mutagen(name: str, tmp_path: Path, label: AIGCLabel) -> None:
    path = make(name, tmp_path)
    before: dict[str, object] = dict(MP4(path).tags or {})  # type: ignore[no-untyped-call]
    implicit.write_label(path, label)
    assert dict(MP4(path).tags or {}) == before  # type: ignore[no-untyped-call]
    assert ffprobe_tags(path)["AIGC"] == label.to_json()


def _with_extra_aigc_key(path: Path, text: str) -> None:
    """Append a second ``AIGC`` key + item to a moov-last file (no offsets move)."""
    data = path.read_bytes()
    boxes = {b.type: b for b in top_level(io.BytesIO(data), "MP4")}
    moov_box = boxes[b"moov"]
    assert moov_box.end == len(data)
    moov = parse_node(data[moov_box.start :], "MP4", movie_rule)
    meta = next(m for m in moov.kids(b"udta")[0].kids(b"meta") if mp4._handler(m) == b"mdta")
    keys_node, ilst = meta.kid(b"keys"), meta.kid(b"ilst")
    assert keys_node is not None and ilst is not None and ilst.children is not None
    keys = [*mp4._parse_keys(keys_node.prefix, 0), (b"mdta", b"AIGC")]
    keys_node.prefix = mp4._keys_payload(keys_node.prefix[:4], keys)
    atom = struct.pack(">I4sII", 16 + len(text), b"data", 1, 0) + text.encode()
    ilst.children.append(type(ilst)(len(keys).to_bytes(4, "big"), atom))
    path.write_bytes(data[: moov_box.start] + moov.to_bytes())


def test_duplicate_aigc_keys_are_reported_and_collapsed_to_one(tmp_path: Path, label: AIGCLabel) -> None:
    path = make("aigc_by_ffmpeg.mp4", tmp_path)
    _with_extra_aigc_key(path, video.THIRD_PARTY.to_json())
    finding = implicit.read_label(path)
    assert finding.verdict is Verdict.NON_COMPLIANT
    assert len(finding.carriers) == 2
    implicit.write_label(path, label)
    finding = implicit.read_label(path)
    assert finding.verdict is Verdict.COMPLIANT and finding.carriers == (
        "MP4 moov/udta/meta (mdta handler) key AIGC",
    )
    assert ffprobe_tags(path)["title"] == "labelled elsewhere"


def test_wrapper_in_an_itunes_comment_is_read_then_replaced(tmp_path: Path, label: AIGCLabel) -> None:
    plain = make("h264_moov_last.mp4", tmp_path)
    path = video.ffmpeg_copy(
        plain,
        tmp_path / "commented.mp4",
        "-metadata",
        f"comment={video.THIRD_PARTY.to_wrapped_json()}",
        "-metadata",
        "title=kept",
    )
    (raw,) = implicit.read_raw(path)[1]
    assert (raw.named_slot, raw.wrapped) == (False, True)
    implicit.write_label(path, label)
    finding = implicit.read_label(path)
    assert finding.verdict is Verdict.COMPLIANT and len(finding.carriers) == 1
    tags = ffprobe_tags(path)
    assert "comment" not in tags and tags["title"] == "kept"


def test_adobe_xmp_uuid_written_by_exiftool_is_read_and_cleared(
    tmp_path: Path, label: AIGCLabel, exiftool: list[str]
) -> None:
    path = make("h264_moov_last.mp4", tmp_path)
    subprocess.run(
        [*exiftool, "-q", "-overwrite_original", f"-XMP-TC260:AIGC={video.THIRD_PARTY.to_json()}", str(path)],
        check=True,
    )
    assert implicit.read_label(path).carriers == ("XMP TC260:AIGC (top-level uuid box)",)
    original = packets(path)
    implicit.write_label(path, label)
    assert implicit.read_label(path).carriers == ("MP4 moov/udta/meta (mdta handler) key AIGC",)
    out = subprocess.run(
        [*exiftool, "-j", "-XMP-TC260:AIGC", "-Keys:AIGC", str(path)], capture_output=True, text=True
    )
    assert json.loads(out.stdout)[0]["AIGC"] == label.to_json()
    assert packets(path) == original


def test_reading_a_100_mb_file_with_moov_at_the_end_reads_only_headers(
    tmp_path: Path, label: AIGCLabel
) -> None:
    small = make("h264_moov_last.mp4", tmp_path)
    implicit.write_label(small, label)
    data = small.read_bytes()
    moov = next(b for b in top_level(io.BytesIO(data), "MP4") if b.type == b"moov")
    big = tmp_path / "big.mp4"
    payload = 100 << 20
    with open(big, "wb") as out:  # sparse: ftyp, a 100 MB mdat, then the labelled moov
        out.write(data[:32])
        out.write(struct.pack(">I4s", 8 + payload, b"mdat"))
        out.seek(payload, io.SEEK_CUR)
        out.write(data[moov.start : moov.end])

    class Counting(io.FileIO):
        bytes_read = 0

        def read(self, size: int | None = -1) -> bytes:
            chunk = super().read(size)
            Counting.bytes_read += len(chunk)
            return chunk

    with Counting(big, "rb") as src:
        timings = []
        for _ in range(20):
            start = time.perf_counter()
            raws = mp4.read(src)
            timings.append(time.perf_counter() - start)
    assert [r.text for r in raws] == [label.to_json()]
    assert min(timings) < 0.001
    assert Counting.bytes_read < 20 * (moov.size + 4096)


def test_content_digest_covers_mdat_and_only_mdat(tmp_path: Path, label: AIGCLabel) -> None:
    path = make("h264_faststart.mp4", tmp_path)
    before = implicit.content_digest(path)
    implicit.write_label(path, label)
    assert implicit.content_digest(path) == before
    data = bytearray(path.read_bytes())
    mdat = next(b for b in top_level(io.BytesIO(bytes(data)), "MP4") if b.type == b"mdat")
    data[mdat.payload_start + mdat.payload_size // 2] ^= 0x01
    path.write_bytes(bytes(data))
    assert implicit.content_digest(path) != before


def _truncated_in_moov(data: bytes) -> bytes:
    moov = next(b for b in top_level(io.BytesIO(data), "MP4") if b.type == b"moov")
    return data[: moov.start + moov.size // 2]


def _moov_size_past_eof(data: bytes) -> bytes:
    moov = next(b for b in top_level(io.BytesIO(data), "MP4") if b.type == b"moov")
    out = bytearray(data)
    struct.pack_into(">I", out, moov.start, moov.size + 1000)
    return bytes(out)


def _stco_outside_file(data: bytes) -> bytes:
    at = data.index(b"stco") + 12
    out = bytearray(data)
    struct.pack_into(">I", out, at, len(data) + 10_000)
    return bytes(out)


def _bad_keys_count(data: bytes) -> bytes:
    at = data.index(b"keys") + 8
    out = bytearray(data)
    struct.pack_into(">I", out, at, 1000)
    return bytes(out)


@pytest.mark.parametrize(
    "damage", [_truncated_in_moov, _moov_size_past_eof, _stco_outside_file, _bad_keys_count]
)
def test_corrupt_files_raise_corrupt_file_and_stay_unchanged(
    damage: object, tmp_path: Path, label: AIGCLabel
) -> None:
    path = make("mdta_titled.mp4", tmp_path)  # moov first: relocation runs
    broken = damage(path.read_bytes())  # type: ignore[operator]
    path.write_bytes(broken)
    with pytest.raises(CorruptFile):
        implicit.write_label(path, label)
    assert path.read_bytes() == broken


def test_heif_brands_are_left_to_the_heif_plugin() -> None:
    assert not mp4.accept(b"\x00\x00\x00\x1cftypheic\x00\x00\x00\x00mif1heicmiaf")
    assert mp4.accept(b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41")
    assert mp4.accept(b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ")
