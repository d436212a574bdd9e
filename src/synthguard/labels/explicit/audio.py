"""Explicit labels on audio: the Morse rhythm notice "AI" (``.- ..``) and/or a spoken notice.

GB 45438-2025 (audio explicit label; Labeling Measures Art. 4(2)): a spoken notice ("人工智能生成")
or the rhythm notice short-long short-short (Morse "AI"), at the start, the end or a suitable point
in the middle, clearly audible. Here:

* the rhythm is synthesised: an 880 Hz tone (clear on speakers and phones, above most speech
  fundamentals), dot 100 ms, dash 300 ms, 100 ms between elements and 300 ms between the letters
  (the ITU Morse 1:3 ratios), 5 ms raised-cosine fades so no element clicks, peak -12 dBFS;
* the speech comes from clips the package ships (``sounds/``, espeak-ng, 16 kHz mono Opus, made by
  ``tools/make_explicit_assets.py``), resampled with libswresample to the file's rate;
* ``mode="splice"`` inserts the notice (with short pauses) so every original sample is kept and
  shifted; ``mode="mix"`` adds it over the content, so the length is unchanged and only the samples
  under the notice change.

PCM formats (WAV, FLAC, AIFF) are read and written as integers in their own sample width, so the
samples outside the notice are bit-identical; lossy formats (MP3, Ogg Vorbis/Opus, M4A/AAC) are
decoded and re-encoded in the same codec. Sample rate and channel count are always kept.
:func:`decode_rhythm` is the OCR-free check: it finds the tone's envelope and reads the Morse back.
"""

from __future__ import annotations

import io
import itertools
import os
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from numpy.typing import NDArray

from synthguard.errors import (
    CorruptFile,
    InvalidNoticeOptions,
    NoMediaStream,
    NoticeDoesNotFit,
    UnsupportedFormat,
)
from synthguard.labels.explicit.notice import Notice
from synthguard.labels.implicit import atomic_write

MORSE_AI = ".- .."
KINDS = ("rhythm", "speech", "rhythm+speech")
AUDIO_POSITIONS = ("start", "end", "middle")
MODES = ("splice", "mix")
GAP_S = 0.25  # pause between the notice and the content when splicing
PART_GAP_S = 0.3  # pause between the rhythm and the speech
FADE_S = 0.005
CLIP_RATE = 16_000
_SF_FORMATS = {"WAV", "WAVEX", "RF64", "W64", "FLAC", "AIFF", "OGG", "MP3", "CAF", "AU"}
_INT_SUBTYPES = {
    "PCM_16": "int16",
    "PCM_24": "int32",
    "PCM_32": "int32",
    "PCM_U8": "int16",
    "PCM_S8": "int16",
}

Samples = NDArray[np.float32]


@dataclass(frozen=True)
class AudioLabelOptions:
    notice: Notice = field(default_factory=Notice)
    kind: str = "rhythm+speech"
    position: str = "start"
    offset_s: float | None = None  # with position="middle": where, in seconds (default: the middle)
    mode: str = "splice"
    level_db: float = -12.0
    tone_hz: float = 880.0
    unit_s: float = 0.1

    def __post_init__(self) -> None:
        checks = (
            (self.kind in KINDS, f"kind {self.kind!r} is not one of {', '.join(KINDS)}"),
            (self.position in AUDIO_POSITIONS, f"position {self.position!r} is not start, end or middle"),
            (self.mode in MODES, f"mode {self.mode!r} is not splice or mix"),
            (-40.0 <= self.level_db <= 0.0, f"level {self.level_db} dBFS must be between -40 and 0"),
            (200.0 <= self.tone_hz <= 4000.0, f"tone {self.tone_hz} Hz must be between 200 and 4000"),
            (0.04 <= self.unit_s <= 0.3, f"Morse unit {self.unit_s} s must be between 0.04 and 0.3"),
            (self.offset_s is None or self.offset_s >= 0, "offset must be >= 0 seconds"),
        )
        for ok, message in checks:
            if not ok:
                raise InvalidNoticeOptions(message, message_zh=f"音频标识参数无效：{message}")


@dataclass(frozen=True)
class AudioLabelResult:
    format: str
    codec: str
    sample_rate: int
    channels: int
    start_s: float  # where the notice begins in the output
    duration_s: float  # how long the notice (with its pauses) lasts
    mode: str


# --- synthesis ----------------------------------------------------------------------------------


def morse_elements(code: str = MORSE_AI) -> list[tuple[bool, int]]:
    """(tone on?, length in units) for a Morse string: dot 1, dash 3, gap 1, letter gap 3."""
    out: list[tuple[bool, int]] = []
    for li, letter in enumerate(code.split()):
        if li:
            out.append((False, 3))
        for ei, mark in enumerate(letter):
            if ei:
                out.append((False, 1))
            out.append((True, 1 if mark == "." else 3))
    return out


def rhythm(sample_rate: int, options: AudioLabelOptions | None = None) -> Samples:
    """The Morse "AI" rhythm notice, mono float32."""
    options = options or AudioLabelOptions()
    amplitude = 10 ** (options.level_db / 20)
    unit = round(options.unit_s * sample_rate)
    parts: list[Samples] = []
    for on, units in morse_elements():
        n = unit * units
        if not on:
            parts.append(np.zeros(n, np.float32))
            continue
        t = np.arange(n) / sample_rate
        tone = np.sin(2 * np.pi * options.tone_hz * t)
        ramp = min(round(FADE_S * sample_rate), n // 4)
        envelope = np.ones(n)
        if ramp:
            fade = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, ramp))
            envelope[:ramp] = fade
            envelope[-ramp:] = fade[::-1]
        parts.append((amplitude * tone * envelope).astype(np.float32))
    return np.concatenate(parts)


@lru_cache(maxsize=16)
def _clip(lang: str, level: str) -> Samples:
    path = resources.files("synthguard.labels.explicit") / "sounds" / f"notice-{lang}-{level}.ogg"
    import soundfile as sf

    data, rate = sf.read(io.BytesIO(path.read_bytes()), dtype="float32")
    assert rate == CLIP_RATE
    return np.asarray(data, dtype=np.float32)


def resample(samples: Samples, rate_in: int, rate_out: int) -> Samples:
    """Mono float32 resampling with libswresample (the resampler FFmpeg itself uses)."""
    if rate_in == rate_out:
        return samples
    import av

    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[None, :]), format="flt", layout="mono")
    frame.sample_rate = rate_in
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate_out)
    out = [f.to_ndarray()[0] for f in resampler.resample(frame)]
    out += [f.to_ndarray()[0] for f in resampler.resample(None)]
    return np.concatenate(out).astype(np.float32) if out else np.zeros(0, np.float32)


def speech(sample_rate: int, options: AudioLabelOptions | None = None) -> Samples:
    """The spoken notice (Chinese, English or both) at the options' peak level, mono float32."""
    options = options or AudioLabelOptions()
    langs = ("zh", "en") if options.notice.lang == "zh-en" else (options.notice.lang,)
    gap = np.zeros(round(PART_GAP_S * sample_rate), np.float32)
    parts: list[Samples] = []
    for lang in langs:
        if parts:
            parts.append(gap)
        parts.append(resample(_clip(lang, options.notice.level), CLIP_RATE, sample_rate))
    voice = np.concatenate(parts)
    peak = float(np.abs(voice).max()) or 1.0
    # Speech is perceived quieter than a pure tone at the same peak: give it 6 dB more, capped at -1 dBFS.
    target = 10 ** (min(options.level_db + 6.0, -1.0) / 20)
    return (voice * (target / peak)).astype(np.float32)


def notice_audio(sample_rate: int, options: AudioLabelOptions | None = None) -> Samples:
    """The whole notice as it is inserted (mono): rhythm, pause, speech, as the options ask."""
    options = options or AudioLabelOptions()
    parts: list[Samples] = []
    if "rhythm" in options.kind:
        parts.append(rhythm(sample_rate, options))
    if "speech" in options.kind:
        if parts:
            parts.append(np.zeros(round(PART_GAP_S * sample_rate), np.float32))
        parts.append(speech(sample_rate, options))
    return np.concatenate(parts)


def decode_rhythm(
    samples: NDArray[Any], sample_rate: int, *, tone_hz: float = 880.0, threshold: float = 0.5
) -> str:
    """Read the Morse rhythm back from audio by envelope analysis at the tone frequency.

    The signal is mixed down to 0 Hz at ``tone_hz`` and low-passed with a 10 ms window, which keeps
    the tone's envelope and rejects content at other frequencies; runs above ``threshold`` of the
    peak are tones, their lengths against the shortest run give dots and dashes, and a gap of more
    than two units separates letters. Returns e.g. ``".- .."``, or ``""`` with no tone.
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim > 1:
        x = x.mean(axis=1)
    if x.size == 0:
        return ""
    if np.issubdtype(np.asarray(samples).dtype, np.integer):
        x = x / float(np.iinfo(np.asarray(samples).dtype).max)
    t = np.arange(x.size) / sample_rate
    baseband = x * np.exp(-2j * np.pi * tone_hz * t)
    window = max(1, round(0.01 * sample_rate))
    kernel = np.ones(window) / window
    envelope = np.abs(np.convolve(baseband, kernel, mode="same"))
    peak = float(envelope.max())
    if peak < 1e-4:
        return ""
    on = envelope > threshold * peak
    edges = np.flatnonzero(np.diff(on.astype(np.int8)))
    bounds = np.concatenate(([0], edges + 1, [on.size]))
    runs = [(bool(on[a]), int(b - a)) for a, b in itertools.pairwise(bounds) if b > a]
    tones = [n for state, n in runs if state]
    if not tones:
        return ""
    unit = min(tones)
    out = ""
    seen_tone = False
    for state, n in runs:
        if state:
            out += "." if n < 2 * unit else "-"
            seen_tone = True
        elif seen_tone and n > 2 * unit:
            out += " "
    return out.strip()


# --- files --------------------------------------------------------------------------------------


def label_audio(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str] | None = None,
    options: AudioLabelOptions | None = None,
    *,
    fsync: bool = True,
) -> AudioLabelResult:
    """Insert or mix the notice into ``src`` and write ``dst`` (None: in place) atomically."""
    options = options or AudioLabelOptions()
    source = Path(src)
    target = Path(dst) if dst is not None else source
    if source.stat().st_size == 0:
        raise NoMediaStream(f"{source.name} is empty (0 bytes)", message_zh=f"{source.name} 是空文件")
    info = _sf_info(source)
    if info is not None:
        return _label_soundfile(source, target, info, options, fsync)
    return _label_av(source, target, options, fsync)


def _sf_info(path: Path) -> Any:
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError, ValueError):
        return None
    return info if info.format in _SF_FORMATS else None


def _place(length: int, rate: int, options: AudioLabelOptions) -> int:
    if options.position == "start":
        return 0
    if options.position == "end":
        return length
    at = round(options.offset_s * rate) if options.offset_s is not None else length // 2
    return min(max(at, 0), length)


def _compose(
    content: NDArray[Any], rate: int, options: AudioLabelOptions, scale: float
) -> tuple[NDArray[Any], int, int]:
    """The content with the notice; returns (samples, notice start, notice length) in frames."""
    frames, channels = content.shape
    mono = notice_audio(rate, options)
    if options.mode == "splice":
        pad = np.zeros(round(GAP_S * rate), np.float32)
        lead = pad if options.position != "start" else np.zeros(0, np.float32)
        trail = pad if options.position != "end" else np.zeros(0, np.float32)
        mono = np.concatenate((lead, mono, trail))
    block = np.repeat(mono[:, None], channels, axis=1) * scale
    at = _place(frames, rate, options)
    if options.mode == "mix" and len(block) > frames:
        raise NoticeDoesNotFit(
            f"the notice lasts {len(block) / rate:.1f} s but the audio only {frames / rate:.1f} s: "
            "use mode splice or kind rhythm",
            message_zh=f"标识时长 {len(block) / rate:.1f} 秒，长于音频 {frames / rate:.1f} 秒："
            "请改用插入模式或仅节奏标识",
        )
    if options.mode == "mix":
        at = min(at, max(frames - len(block), 0))
        end = min(at + len(block), frames)
        mixed = content[at:end].astype(np.float64) + block[: end - at]
        out = content.copy()
        out[at:end] = _to_dtype(mixed, content.dtype, scale)
        return out, at, end - at
    spliced = np.concatenate((content[:at], _to_dtype(block, content.dtype, scale), content[at:]))
    return spliced, at, len(block)


def _to_dtype(values: NDArray[Any], dtype: np.dtype[Any], scale: float) -> NDArray[Any]:
    if np.issubdtype(dtype, np.integer):
        limit = np.iinfo(dtype)
        return np.asarray(np.clip(np.rint(values), limit.min, limit.max), dtype=dtype)
    return np.asarray(np.clip(values, -1.0, 1.0), dtype=dtype)


def _label_soundfile(
    source: Path, target: Path, info: Any, options: AudioLabelOptions, fsync: bool
) -> AudioLabelResult:
    import soundfile as sf

    if info.frames == 0:
        raise NoMediaStream(
            f"{source.name} has no audio samples (zero length)",
            message_zh=f"{source.name} 没有音频采样（时长为 0）",
        )
    dtype = _INT_SUBTYPES.get(info.subtype, "float32" if info.subtype != "DOUBLE" else "float64")
    try:
        with sf.SoundFile(str(source)) as handle:
            data = handle.read(dtype=dtype, always_2d=True)
            tags = {key: value for key, value in handle.copy_metadata().items() if value}
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise CorruptFile(info.format, f"{source.name}: cannot decode the samples ({exc})") from None
    if data.shape[0] == 0:
        raise NoMediaStream(f"{source.name} has no audio samples", message_zh=f"{source.name} 没有音频采样")
    scale = float(np.iinfo(data.dtype).max) if np.issubdtype(data.dtype, np.integer) else 1.0
    if info.subtype == "PCM_24":
        scale = float(2**31 - 2**8)  # soundfile returns 24-bit samples left-aligned in int32
    out, at, length = _compose(data, info.samplerate, options, scale)
    if info.subtype == "PCM_24":
        out = out & np.int32(-256)  # keep the low byte zero so the 24-bit write is exact

    def write(dst: BinaryIO) -> None:
        with sf.SoundFile(
            dst,
            "w",
            samplerate=info.samplerate,
            channels=info.channels,
            format=info.format,
            subtype=info.subtype,
        ) as handle:
            for key, value in tags.items():
                setattr(handle, key, value)
            handle.write(out)

    atomic_write(target, write, fsync=fsync, like=source)
    return AudioLabelResult(
        format=info.format,
        codec=info.subtype,
        sample_rate=info.samplerate,
        channels=info.channels,
        start_s=at / info.samplerate,
        duration_s=length / info.samplerate,
        mode=options.mode,
    )


def _label_av(source: Path, target: Path, options: AudioLabelOptions, fsync: bool) -> AudioLabelResult:
    """M4A/AAC and anything libsndfile cannot read: decode with PyAV, re-encode in the same codec."""
    import av

    from synthguard.labels.explicit.video import is_cover_art

    try:
        container = av.open(str(source))
    except (av.error.InvalidDataError, av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise CorruptFile("audio", f"{source.name}: not a readable audio file ({exc})") from None
    with container:
        streams = [s for s in container.streams.audio]
        if not streams:
            raise NoMediaStream(f"{source.name} has no audio stream", message_zh=f"{source.name} 没有音频流")
        if any(not is_cover_art(v) for v in container.streams.video):
            raise UnsupportedFormat(f"{source.name} has a video stream: label it as a video")
        stream: Any = streams[0]
        ctx = stream.codec_context
        rate, layout = ctx.sample_rate, ctx.layout.name
        channels = ctx.channels
        codec_name, bit_rate = ctx.name, stream.bit_rate or ctx.bit_rate or 128_000
        fmt = container.format.name.split(",")[0]
        metadata = dict(container.metadata)
        resampler = av.AudioResampler(format="flt", layout=layout, rate=rate)
        chunks: list[NDArray[np.float32]] = []
        try:
            for frame in container.decode(stream):
                for out_frame in resampler.resample(frame):
                    chunks.append(np.asarray(out_frame.to_ndarray(), dtype=np.float32).reshape(-1, channels))
        except (av.error.InvalidDataError, av.error.FFmpegError) as exc:
            raise CorruptFile(fmt, f"{source.name}: cannot decode the audio ({exc})") from None
    if not chunks or sum(len(c) for c in chunks) == 0:
        raise NoMediaStream(f"{source.name} has no audio samples", message_zh=f"{source.name} 没有音频采样")
    data = np.concatenate(chunks)
    out, at, length = _compose(data, rate, options, 1.0)
    if source.suffix.lower() in (".m4a", ".m4b", ".aac") and fmt == "mov":
        fmt = "ipod"

    def write(dst: BinaryIO) -> None:
        with av.open(dst, "w", format=fmt) as muxer:
            muxer.metadata.update(metadata)
            encoder: Any = muxer.add_stream(_encoder_for(codec_name), rate=rate, layout=layout)
            encoder.bit_rate = bit_rate
            step = 1024 * 8
            for begin in range(0, len(out), step):
                block = np.ascontiguousarray(out[begin : begin + step].reshape(1, -1))
                frame = av.AudioFrame.from_ndarray(block, format="flt", layout=layout)
                frame.sample_rate = rate
                for packet in encoder.encode(frame):
                    muxer.mux(packet)
            for packet in encoder.encode(None):
                muxer.mux(packet)

    atomic_write(target, write, fsync=fsync, like=source)
    return AudioLabelResult(
        format=fmt,
        codec=codec_name,
        sample_rate=rate,
        channels=channels,
        start_s=at / rate,
        duration_s=length / rate,
        mode=options.mode,
    )


def _encoder_for(codec: str) -> str:
    return {"mp3": "libmp3lame", "mp3float": "libmp3lame", "vorbis": "libopus", "opus": "libopus"}.get(
        codec, codec
    )
