from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from synthguard.errors import CorruptFile, InvalidNoticeOptions, NoMediaStream, NoticeDoesNotFit
from synthguard.labels.explicit import (
    MORSE_AI,
    AudioLabelOptions,
    Notice,
    decode_rhythm,
    label_audio,
    notice_audio,
)
from synthguard.labels.explicit.audio import morse_elements, rhythm


def content(rate: int, seconds: float, channels: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(round(rate * seconds)) / rate
    voice = 0.2 * np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    return (voice[:, None] + rng.normal(0, 0.02, (t.size, channels))).astype(np.float32)


def test_rhythm_is_morse_ai_with_itu_timing_and_click_free_fades() -> None:
    assert morse_elements() == [
        (True, 1),
        (False, 1),
        (True, 3),
        (False, 3),
        (True, 1),
        (False, 1),
        (True, 1),
    ]
    tone = rhythm(16_000)
    assert len(tone) == 11 * 1600  # 11 units of 100 ms
    assert abs(float(np.abs(tone).max()) - 10 ** (-12 / 20)) < 0.01
    assert abs(tone[0]) < 1e-3 and abs(tone[1600 - 1]) < 0.01  # fades in and out
    assert decode_rhythm(tone, 16_000) == MORSE_AI


@pytest.mark.parametrize(
    ("ext", "subtype", "rate", "channels"),
    [("wav", "PCM_16", 44_100, 2), ("wav", "PCM_24", 48_000, 1), ("flac", "PCM_16", 22_050, 2)],
)
@pytest.mark.parametrize("mode", ["splice", "mix"])
def test_pcm_keeps_every_sample_outside_the_notice_bit_identical(
    tmp_path: Path, ext: str, subtype: str, rate: int, channels: int, mode: str
) -> None:
    src = tmp_path / f"in.{ext}"
    sf.write(src, content(rate, 8.0, channels), rate, subtype=subtype)
    dtype = "int16" if subtype == "PCM_16" else "int32"
    before, _ = sf.read(src, dtype=dtype, always_2d=True)
    out = tmp_path / f"out.{ext}"
    options = AudioLabelOptions(Notice(lang="zh"), position="middle", mode=mode)
    result = label_audio(src, out, options)
    after, out_rate = sf.read(out, dtype=dtype, always_2d=True)
    info = sf.info(str(out))
    assert (out_rate, info.channels, info.subtype) == (rate, channels, subtype)
    at, n = round(result.start_s * rate), round(result.duration_s * rate)
    if mode == "splice":
        assert len(after) == len(before) + n
        assert np.array_equal(after[:at], before[:at]) and np.array_equal(after[at + n :], before[at:])
    else:
        assert len(after) == len(before)
        assert np.array_equal(after[:at], before[:at]) and np.array_equal(after[at + n :], before[at + n :])
        assert not np.array_equal(after[at : at + n], before[at : at + n])
    # The rhythm is audible in the output: envelope analysis reads ".- ..".
    assert decode_rhythm(after[at : at + n], rate) == MORSE_AI


@pytest.mark.parametrize(("ext", "codec"), [("mp3", "mp3"), ("ogg", "vorbis"), ("m4a", "aac")])
def test_lossy_formats_keep_codec_rate_and_channels_and_carry_the_rhythm(
    tmp_path: Path, ext: str, codec: str
) -> None:
    rate = 44_100
    samples = content(rate, 3.0, 2)
    src = tmp_path / f"in.{ext}"
    if ext == "m4a":
        with av.open(str(src), "w", format="ipod") as muxer:
            stream = muxer.add_stream("aac", rate=rate, layout="stereo")
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(samples.reshape(1, -1)), format="flt", layout="stereo"
            )
            frame.sample_rate = rate
            for packet in [*stream.encode(frame), *stream.encode(None)]:
                muxer.mux(packet)
    else:
        sf.write(src, samples, rate, format={"mp3": "MP3", "ogg": "OGG"}[ext])
    out = tmp_path / f"out.{ext}"
    label_audio(src, out, AudioLabelOptions(Notice(lang="en"), kind="rhythm+speech"))
    with av.open(str(out)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name.startswith(codec)
        assert (stream.codec_context.sample_rate, stream.codec_context.channels) == (rate, 2)
        decoded = np.concatenate([f.to_ndarray() for f in container.decode(stream)], axis=1).T
    assert decode_rhythm(decoded[: rate * 2], rate) == MORSE_AI


def test_spoken_notice_clips_ship_small_and_play_in_both_languages() -> None:
    from importlib import resources

    for name in ("notice-zh-1.ogg", "notice-en-1.ogg"):
        clip = resources.files("synthguard.labels.explicit") / "sounds" / name
        assert len(clip.read_bytes()) < 20_000
    zh = notice_audio(16_000, AudioLabelOptions(Notice(lang="zh"), kind="speech"))
    both = notice_audio(16_000, AudioLabelOptions(Notice(lang="zh-en"), kind="speech"))
    assert 2.0 < len(zh) / 16_000 < 6.0  # ~10 characters at 120-160 per minute
    assert len(both) > len(zh) + 16_000
    assert float(np.sqrt(np.mean(zh**2))) > 0.02  # clearly audible, not silence


def test_bad_audio_fails_clearly_and_leaves_the_input(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros((0, 1), np.int16), 16_000, subtype="PCM_16")
    snapshot = empty.read_bytes()
    with pytest.raises(NoMediaStream):
        label_audio(empty)
    assert empty.read_bytes() == snapshot
    zero = tmp_path / "zero.mp3"
    zero.write_bytes(b"")
    with pytest.raises(NoMediaStream):
        label_audio(zero)
    corrupt = tmp_path / "bad.m4a"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypM4A " + b"\x13" * 200)
    with pytest.raises(CorruptFile):
        label_audio(corrupt)
    short = tmp_path / "short.wav"
    sf.write(short, content(16_000, 1.0, 1), 16_000, subtype="PCM_16")
    with pytest.raises(NoticeDoesNotFit):
        label_audio(short, options=AudioLabelOptions(mode="mix"))
    with pytest.raises(InvalidNoticeOptions):
        AudioLabelOptions(level_db=6.0)
    assert not list(tmp_path.glob("*.sgtmp"))
