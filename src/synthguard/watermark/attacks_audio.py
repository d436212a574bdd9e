"""The audio attack suite of ``../shared/spec/numbers.md``, deterministic, for tests and benchmarks.

Labeling Measures Art. 5/Deep Synthesis Provisions Art. 18 want marks that survive ordinary
handling; these are the handlings the audio watermark must survive, each a pure function
``(samples, sample_rate) -> (samples, sample_rate)`` on float arrays in [-1, 1] (mono ``(n,)`` or
``(n, channels)``). Random attacks take a fixed seed so a failure reproduces. MP3 and AAC run the
real encoders (libmp3lame and FFmpeg's AAC through PyAV), not a simulation.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.signal import resample_poly

FloatArray = npt.NDArray[np.float64]
Attack = Callable[[FloatArray, int], tuple[FloatArray, int]]


def _layout(data: FloatArray) -> tuple[FloatArray, str]:
    two_d = data.reshape(data.shape[0], -1)
    return two_d, "mono" if two_d.shape[1] == 1 else "stereo"


def codec_roundtrip(
    samples: FloatArray, sample_rate: int, *, codec: str, container: str, bit_rate: int
) -> tuple[FloatArray, int]:
    """Encode with a real lossy codec at ``bit_rate`` and decode back (length as the decoder gives it)."""
    import av

    two_d, layout = _layout(np.asarray(samples, dtype=np.float64))
    channels = two_d.shape[1]
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as muxer:
        stream: Any = muxer.add_stream(codec, rate=sample_rate, layout=layout)
        stream.bit_rate = bit_rate
        fmt = "fltp"
        planar = np.ascontiguousarray(two_d.T.astype(np.float32))
        step = 1152 * 4
        for begin in range(0, planar.shape[1], step):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(planar[:, begin : begin + step]), format=fmt, layout=layout
            )
            frame.sample_rate = sample_rate
            for packet in stream.encode(frame):
                muxer.mux(packet)
        for packet in stream.encode(None):
            muxer.mux(packet)
    buf.seek(0)
    chunks: list[npt.NDArray[np.float32]] = []
    with av.open(buf, "r") as demux:
        resampler = av.AudioResampler(format="flt", layout=layout, rate=sample_rate)
        for frame in demux.decode(audio=0):
            for out in resampler.resample(frame):
                chunks.append(np.asarray(out.to_ndarray(), dtype=np.float32).reshape(-1, channels))
    out_data = np.concatenate(chunks).astype(np.float64)
    return (out_data[:, 0] if np.asarray(samples).ndim == 1 else out_data), sample_rate


def mp3_128k(samples: FloatArray, sample_rate: int) -> tuple[FloatArray, int]:
    return codec_roundtrip(samples, sample_rate, codec="libmp3lame", container="mp3", bit_rate=128_000)


def aac_128k(samples: FloatArray, sample_rate: int) -> tuple[FloatArray, int]:
    return codec_roundtrip(samples, sample_rate, codec="aac", container="adts", bit_rate=128_000)


def resample_to(rate: int) -> Attack:
    def attack(samples: FloatArray, sample_rate: int) -> tuple[FloatArray, int]:
        g = math.gcd(rate, sample_rate)
        out = resample_poly(np.asarray(samples, dtype=np.float64), rate // g, sample_rate // g, axis=0)
        return np.asarray(out, dtype=np.float64), rate

    attack.__name__ = f"resample_{rate}"
    return attack


def white_noise(snr_db: float, seed: int = 20) -> Attack:
    def attack(samples: FloatArray, sample_rate: int) -> tuple[FloatArray, int]:
        data = np.asarray(samples, dtype=np.float64)
        power = float(np.mean(data**2))
        noise = np.random.default_rng(seed).standard_normal(data.shape) * math.sqrt(
            power / 10 ** (snr_db / 10)
        )
        return data + noise, sample_rate

    attack.__name__ = f"noise_{snr_db:g}db"
    return attack


def volume(db: float) -> Attack:
    def attack(samples: FloatArray, sample_rate: int) -> tuple[FloatArray, int]:
        return np.clip(np.asarray(samples, dtype=np.float64) * 10 ** (db / 20), -1.0, 1.0), sample_rate

    attack.__name__ = f"volume_{db:+g}db"
    return attack


def cut_start(seconds: float) -> Attack:
    def attack(samples: FloatArray, sample_rate: int) -> tuple[FloatArray, int]:
        return np.asarray(samples, dtype=np.float64)[round(seconds * sample_rate) :], sample_rate

    attack.__name__ = f"cut_{seconds:g}s"
    return attack


def excerpt(seconds: float, start: float) -> Attack:
    def attack(samples: FloatArray, sample_rate: int) -> tuple[FloatArray, int]:
        begin = round(start * sample_rate)
        return np.asarray(samples, dtype=np.float64)[
            begin : begin + round(seconds * sample_rate)
        ], sample_rate

    attack.__name__ = f"excerpt_{seconds:g}s_at_{start:g}s"
    return attack


def chain(*attacks: Attack) -> Attack:
    def attack(samples: FloatArray, sample_rate: int) -> tuple[FloatArray, int]:
        for step in attacks:
            samples, sample_rate = step(samples, sample_rate)
        return samples, sample_rate

    attack.__name__ = "+".join(a.__name__ for a in attacks)
    return attack


def suite() -> dict[str, Attack]:
    """Every audio attack of numbers.md, by name (the 10 s excerpt starts at an odd offset).

    ``resample_8k`` goes beyond numbers.md: telephone-band (8 kHz) copies of marked audio.
    """
    return {
        "none": lambda s, r: (np.asarray(s, dtype=np.float64), r),
        "mp3_128k": mp3_128k,
        "aac_128k": aac_128k,
        "resample_16k": resample_to(16_000),
        "resample_8k": resample_to(8_000),
        "noise_20db": white_noise(20.0),
        "volume_+6db": volume(6.0),
        "volume_-6db": volume(-6.0),
        "cut_1.3s": cut_start(1.3),
        "excerpt_10s": excerpt(10.0, 3.37),
    }
