from __future__ import annotations

import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from synthguard.errors import CorruptFile, InvalidNoticeOptions, NoMediaStream
from synthguard.labels.explicit import VideoLabelOptions, label_video

FPS = 10


def make_clip(path: Path, codec: str = "libx264", seconds: int = 4, audio: bool = True) -> Path:
    """A moving test pattern with a tone: 320x240, FPS fps, via ffmpeg's lavfi sources."""
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
    cmd += ["-f", "lavfi", "-i", f"testsrc2=size=320x240:rate={FPS}:duration={seconds}"]
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    cmd += ["-c:v", codec, "-pix_fmt", "yuv420p"]
    if codec == "libx265":
        cmd += ["-x265-params", "log-level=error"]
    if codec == "libvpx-vp9":
        cmd += ["-deadline", "realtime", "-cpu-used", "8"]
    if audio:
        cmd += ["-c:a", "libopus" if path.suffix == ".webm" else "aac", "-shortest"]
    subprocess.run([*cmd, str(path)], check=True)
    return path


def frames(path: Path) -> list[tuple[float, np.ndarray]]:
    with av.open(str(path)) as c:
        return [(float(f.pts * f.time_base), f.to_ndarray()) for f in c.decode(video=0)]


def audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(audio=0) if p.size]


def test_lossless_output_differs_only_inside_the_label_box_for_the_first_seconds(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mp4")
    progress: list[float] = []
    result = label_video(
        src, tmp_path / "out.mp4", VideoLabelOptions(seconds=2.0, lossless=True), progress=progress.append
    )
    before, after = frames(src), frames(tmp_path / "out.mp4")
    assert len(before) == len(after) == result.frames == 4 * FPS
    assert result.labeled_frames == 2 * FPS and result.text_px >= 0.05 * 240
    x, y, w, h = result.box
    assert x % 2 == y % 2 == w % 2 == h % 2 == 0
    for (t0, a), (t1, b) in zip(before, after, strict=True):
        assert t0 == t1
        diff = np.abs(a.astype(int) - b.astype(int))
        luma, chroma = diff[:240], diff[240:].reshape(2, 120, 160)
        inside = np.zeros_like(luma, bool)
        inside[y : y + h, x : x + w] = True
        inside_c = np.zeros((120, 160), bool)
        inside_c[y // 2 : (y + h) // 2, x // 2 : (x + w) // 2] = True
        assert luma[~inside].max() == 0 and chroma[:, ~inside_c].max() == 0, t0
        if t0 < 2.0:
            assert luma[inside].mean() > 20, t0  # the label is there for the first 2 s
        else:
            assert luma.max() == 0, t0
    assert progress and progress[-1] <= 1.0
    assert audio_packets(src) == audio_packets(tmp_path / "out.mp4")  # audio copied, untouched


@pytest.mark.parametrize(
    ("codec", "name", "expect"), [("libx265", "in.mkv", "hevc"), ("libvpx-vp9", "in.webm", "vp9")]
)
def test_container_and_codec_are_kept(tmp_path: Path, codec: str, name: str, expect: str) -> None:
    src = make_clip(tmp_path / name, codec, seconds=3)
    out = tmp_path / f"out{src.suffix}"
    result = label_video(src, out, VideoLabelOptions(whole=True))
    assert result.labeled_frames == result.frames == 3 * FPS
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.name == expect
        assert c.format.name.startswith("matroska")
        assert len(c.streams.audio) == 1
    assert audio_packets(src) == audio_packets(out)


def test_at_end_labels_the_last_seconds_too(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mp4", seconds=6, audio=False)
    result = label_video(src, tmp_path / "out.mp4", VideoLabelOptions(seconds=2.0, at_end=True))
    assert result.labeled_frames == 4 * FPS
    x, y, w, h = result.box
    before, after = frames(src), frames(tmp_path / "out.mp4")

    def delta(i: int) -> float:
        return float(
            np.abs(before[i][1][y : y + h, x : x + w].astype(int) - after[i][1][y : y + h, x : x + w]).mean()
        )

    assert delta(5) > 20 and delta(30) < 5 and delta(55) > 20


def test_bad_video_input_fails_clearly_and_leaves_the_input(tmp_path: Path) -> None:
    audio_only = tmp_path / "a.m4a"
    subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=duration=1",
            str(audio_only),
        ],
        check=True,
    )
    with pytest.raises(NoMediaStream):
        label_video(audio_only)
    corrupt = tmp_path / "bad.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x20ftypisom" + bytes(range(256)) * 4)
    snapshot = corrupt.read_bytes()
    with pytest.raises(CorruptFile):
        label_video(corrupt)
    assert corrupt.read_bytes() == snapshot
    with pytest.raises(InvalidNoticeOptions):
        VideoLabelOptions(seconds=1.0)  # GB 45438: at least 2 s
    with pytest.raises(InvalidNoticeOptions):
        VideoLabelOptions(height_ratio=0.5)
    assert not list(tmp_path.glob("*.sgtmp"))
