"""Third-party views of a video file for the Matroska and FLV tests: ffprobe, exiftool and PyAV."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import av
import numpy as np

from tests.media.video_mkv_flv import SAMPLES

Packet = tuple[int, int | None, int | None, bytes]


class SampleCache:
    """Each sample encoded once per test module (ffmpeg is the slow part), copied per test."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.made: dict[str, Path] = {}

    def copy(self, name: str, into: Path) -> Path:
        if name not in self.made:
            self.made[name] = SAMPLES[name](self.folder)
        target = into / name
        shutil.copyfile(self.made[name], target)
        return target


def ffprobe(path: Path, entries: str) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", entries, "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def ffprobe_label(path: Path) -> str | None:
    tags: dict[str, str] = ffprobe(path, "format_tags=AIGC")["format"].get("tags", {})
    return tags.get("AIGC")


def ffprobe_metadata(path: Path, *, without: tuple[str, ...] = ("AIGC",)) -> dict[str, Any]:
    """Format tags and per-stream tags as ffprobe reports them, minus the keys named."""
    probe = ffprobe(path, "format_tags:stream_tags:stream=index")
    fmt = {k: v for k, v in probe["format"].get("tags", {}).items() if k not in without}
    streams = [s.get("tags", {}) for s in probe["streams"]]
    return {"format": fmt, "streams": streams}


def exiftool_json(exiftool: list[str], path: Path, *extra: str) -> dict[str, Any]:
    out = subprocess.run(
        [*exiftool, "-j", "-G1", *extra, str(path)], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, Any] = json.loads(out)[0]
    return result


def packets(path: Path) -> list[Packet]:
    """Every demuxed packet: (stream, pts, dts, bytes), in file order."""
    with av.open(str(path)) as container:
        return [(p.stream.index, p.pts, p.dts, bytes(p)) for p in container.demux() if p.size]


def decoded(path: Path) -> list[np.ndarray]:
    """Every decoded video and audio frame as an array, stream after stream."""
    frames: list[np.ndarray] = []
    with av.open(str(path)) as probe:
        kinds = [(s.type, s.index) for s in probe.streams if s.type in ("video", "audio")]
    for _kind, index in kinds:
        with av.open(str(path)) as container:
            stream = container.streams[index]
            for frame in container.decode(stream):
                assert isinstance(frame, av.VideoFrame | av.AudioFrame)
                frames.append(frame.to_ndarray())
    return frames


def assert_same_media(before: Path, after: Path) -> None:
    assert packets(after) == packets(before)
    old, new = decoded(before), decoded(after)
    assert len(old) == len(new) > 0
    for a, b in zip(old, new, strict=True):
        assert np.array_equal(a, b)


def frame_after_seek(path: Path, seconds: float) -> tuple[int | None, np.ndarray]:
    """The first video frame PyAV decodes after seeking (to the keyframe before) ``seconds``."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.time_base is not None
        container.seek(int(seconds / stream.time_base), stream=stream, backward=True)
        frame = next(container.decode(stream))
        return frame.pts, frame.to_ndarray(format="rgb24")


class CountingReader(io.RawIOBase):
    """A read-only file that counts the bytes handed out, to prove a reader skips media data."""

    def __init__(self, path: Path) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 - closed in close()
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def readinto(self, buffer: Any) -> int:
        data = self._file.read(len(buffer))
        buffer[: len(data)] = data
        self.bytes_read += len(data)
        return len(data)

    def close(self) -> None:
        self._file.close()
        super().close()
