"""Video watermark: re-encode at CRF 28, downscale, trim and frame-rate change all keep the payload."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from synthguard.errors import CorruptFile, MediaTooSmall
from synthguard.watermark.payload import Keyring, WatermarkKey
from synthguard.watermark.video import detect_file, embed_video
from tests.watermark.images import photo

KEY = WatermarkKey(2, bytes(range(100, 132)))
RING = Keyring({2: KEY}, 2)
MARK = 987_654_321


def _clip(path: Path, width: int, height: int, frames: int, rate: int = 24) -> Path:
    """A panning shot over a photograph (real motion, real texture), H.264 in MP4, with AAC audio."""
    scene = cv2.resize(photo("coffee"), (width * 3 // 2, height * 3 // 2), interpolation=cv2.INTER_CUBIC)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=rate)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"crf": "18", "preset": "ultrafast"}
        audio = out.add_stream("aac", rate=48000)
        for i in range(frames):
            view = np.ascontiguousarray(scene[i * 2 : i * 2 + height, i * 3 : i * 3 + width])
            for packet in video.encode(av.VideoFrame.from_ndarray(view, format="rgb24")):
                out.mux(packet)
        tone = (0.1 * np.sin(np.arange(48000 * frames // rate) * 0.05)).astype(np.float32)[None, :]
        for start in range(0, tone.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(tone[:, start : start + 1024]), format="flt"
            )
            frame.sample_rate = 48000
            for packet in audio.encode(frame):
                out.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode(None):
                out.mux(packet)
    return path


def _ffmpeg(src: Path, dst: Path, *args: str) -> Path:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.fail("ffmpeg is not installed; `make test` installs it")
    subprocess.run([ffmpeg, "-y", "-loglevel", "error", "-i", str(src), *args, str(dst)], check=True)
    return dst


@pytest.fixture(scope="module")
def marked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("video")
    src = _clip(folder / "in.mp4", 854, 480, 48)
    out = folder / "marked.mp4"
    detail = embed_video(src, out, MARK, KEY)
    assert detail["frames"] == 48 and detail["psnr_db"] >= 40
    return out


def test_marked_video_keeps_its_audio_and_decodes(marked: Path) -> None:
    with av.open(str(marked)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert len(container.streams.audio) == 1
    found = detect_file(marked, RING).payload
    assert found is not None and (found.mark_id, found.key_id) == (MARK, 2)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("crf28", ["-c:v", "libx264", "-crf", "28", "-preset", "veryfast"]),
        ("downscale", ["-vf", "scale=-2:240", "-c:v", "libx264", "-crf", "23", "-preset", "veryfast"]),
        ("trim", ["-ss", "0.8", "-t", "0.9", "-c:v", "libx264", "-crf", "23", "-preset", "veryfast"]),
        ("fps15", ["-r", "15", "-c:v", "libx264", "-crf", "23", "-preset", "veryfast"]),
    ],
)
def test_payload_survives_video_attacks(marked: Path, tmp_path: Path, name: str, args: list[str]) -> None:
    attacked = _ffmpeg(marked, tmp_path / f"{name}.mp4", *args)
    found = detect_file(attacked, RING).payload
    assert found is not None and found.mark_id == MARK, name


def test_unmarked_video_reads_as_absent(tmp_path: Path) -> None:
    assert detect_file(_clip(tmp_path / "plain.mp4", 640, 360, 24), RING).payload is None


def test_one_frame_video_is_marked_and_read(tmp_path: Path) -> None:
    src = _clip(tmp_path / "one.mp4", 640, 360, 1)
    out = tmp_path / "one_marked.mp4"
    assert embed_video(src, out, MARK, KEY)["frames"] == 1
    found = detect_file(out, RING).payload
    assert found is not None and found.mark_id == MARK


def test_tiny_and_corrupt_videos_give_clear_errors(tmp_path: Path) -> None:
    tiny = _clip(tmp_path / "tiny.mp4", 160, 120, 4)
    with pytest.raises(MediaTooSmall):
        embed_video(tiny, tmp_path / "t.mp4", MARK, KEY)
    assert detect_file(tiny, RING).payload is None
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    with pytest.raises(CorruptFile):
        detect_file(broken, RING)
    assert not list(tmp_path.glob(".*.wm.mp4"))  # no half-written output left behind
