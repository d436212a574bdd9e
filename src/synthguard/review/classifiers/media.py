"""Decoding media for classifiers with PyAV: audio as 16 kHz mono float32, video as sampled frames."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from synthguard.errors import CorruptFile

SAMPLE_RATE = 16_000
MAX_AUDIO_S = 600.0  # longer uploads are judged on their first ten minutes


def _open(data: bytes, what: str) -> Any:
    import av

    try:
        return av.open(io.BytesIO(data))
    except (av.error.FFmpegError, OSError) as exc:
        raise CorruptFile(what, f"cannot decode ({exc})") from None


def decode_audio(data: bytes) -> Any:
    """16 kHz mono float32 samples of the first audio stream (numpy array)."""
    import av
    import numpy as np

    container = _open(data, "audio")
    chunks: list[Any] = []
    total = 0
    try:
        if not container.streams.audio:
            raise CorruptFile("audio", "no audio stream")
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                samples = out.to_ndarray().reshape(-1)
                chunks.append(samples)
                total += samples.size
            if total >= MAX_AUDIO_S * SAMPLE_RATE:
                break
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    except av.error.FFmpegError as exc:
        raise CorruptFile("audio", f"cannot decode ({exc})") from None
    finally:
        container.close()
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)


def sample_frames(data: bytes, *, every_s: float = 1.0, max_frames: int = 30) -> Iterator[tuple[float, Any]]:
    """``(time_s, BGR frame)`` about every ``every_s`` seconds, at most ``max_frames``."""
    import av

    container = _open(data, "video")
    try:
        if not container.streams.video:
            raise CorruptFile("video", "no video stream")
        stream = container.streams.video[0]
        next_t = 0.0
        taken = 0
        for frame in container.decode(stream):
            t = float(frame.time or 0.0)
            if t + 1e-6 < next_t:
                continue
            yield t, frame.to_ndarray(format="bgr24")
            taken += 1
            next_t = t + every_s
            if taken >= max_frames:
                break
    except av.error.FFmpegError as exc:
        raise CorruptFile("video", f"cannot decode ({exc})") from None
    finally:
        container.close()
