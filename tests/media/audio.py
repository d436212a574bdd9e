"""Audio (and AVI) samples made by real encoders: libsndfile via soundfile (WAV, FLAC, Ogg Vorbis),
LAME and libopus via PyAV, ffmpeg's AVI muxer via PyAV; existing tags are added by mutagen.

Variants cover what the WAV/MP3/FLAC/OGG/AVI plugins must handle: 16-bit mono and 24-bit stereo WAV,
WAV with LIST/INFO, MP3 with no tag, ffmpeg's own ID3v2.4 tag, ID3v2.3 and v2.4 tags with a cover
(APIC) and an ID3v1 trailer, FLAC with comments and a PICTURE block, Ogg Vorbis whose comment header
spans several pages (a cover in METADATA_BLOCK_PICTURE), Opus, AVI with MPEG-4 Part 2 and MJPEG video,
and one file per format that already carries a label written by a third-party tool (mutagen: TXXX,
Vorbis comment; WAV: ID3 chunk).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import soundfile as sf
from mutagen.flac import FLAC, Picture
from mutagen.id3 import APIC, COMM, ID3, TIT2, TPE1, TXXX
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE
from PIL import Image

from synthguard.labels.model import AIGCLabel

# A label as another vendor's tool would have written it.
THIRD_PARTY = AIGCLabel.produce("001191110102MACQD9K64010000", "vendor-audio-0042")
SECONDS = 0.4


def tone(rate: int, channels: int = 1, seconds: float = SECONDS) -> np.ndarray:
    """A chord with a little noise, shape (frames, channels), float in [-1, 1]."""
    t = np.arange(int(rate * seconds)) / rate
    rng = np.random.default_rng(3)
    columns = [
        0.4 * np.sin(2 * np.pi * (440 + 110 * c) * t)
        + 0.2 * np.sin(2 * np.pi * 660 * t)
        + 0.01 * rng.standard_normal(t.size)
        for c in range(channels)
    ]
    return np.stack(columns, axis=1)


def cover_png(size: int = 48, seed: int = 5) -> bytes:
    """A noisy PNG (compresses badly, so a cover of a useful size stays big)."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


# --- WAV --------------------------------------------------------------------------------------------


def wav_pcm16_mono(folder: Path) -> Path:
    path = folder / "pcm16_mono.wav"
    sf.write(path, tone(44100), 44100, subtype="PCM_16")
    return path


def wav_pcm24_stereo(folder: Path) -> Path:
    path = folder / "pcm24_stereo.wav"
    sf.write(path, tone(48000, 2), 48000, subtype="PCM_24")
    return path


def wav_list_info(folder: Path) -> Path:
    """libsndfile writes its string metadata as a LIST/INFO chunk."""
    path = folder / "list_info.wav"
    with sf.SoundFile(path, "w", 22050, 1, subtype="PCM_16", format="WAV") as out:
        out.title = "Sine study"
        out.artist = "Synthguard tests"
        out.comment = "made by libsndfile"
        out.write(tone(22050))
    return path


def wav_id3_label(folder: Path) -> Path:
    """mutagen keeps ID3 in an ``id3 `` chunk; a vendor put the label there as TXXX:AIGC."""
    path = wav_pcm16_mono(folder).rename(folder / "id3_label.wav")
    wave = WAVE(path)
    wave.add_tags()
    assert wave.tags is not None
    wave.tags.add(TIT2(encoding=3, text="Tagged WAV"))
    wave.tags.add(TXXX(encoding=3, desc="AIGC", text=THIRD_PARTY.to_json()))
    wave.save()
    return path


# --- MP3 --------------------------------------------------------------------------------------------


def encode_mp3(path: Path, *, ffmpeg_tag: bool) -> Path:
    options = {} if ffmpeg_tag else {"id3v2_version": "0", "write_xing": "0"}
    with av.open(str(path), "w", format="mp3", options=options) as container:
        stream = container.add_stream("libmp3lame", rate=44100, layout="mono")
        stream.bit_rate = 64000
        samples = tone(44100).T.astype(np.float32)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples), format="fltp", layout="mono")
        frame.sample_rate = 44100
        frame.pts = 0
        frame.time_base = Fraction(1, 44100)
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def mp3_untagged(folder: Path) -> Path:
    return encode_mp3(folder / "untagged.mp3", ffmpeg_tag=False)


def mp3_ffmpeg_tag(folder: Path) -> Path:
    """ffmpeg's mp3 muxer writes an ID3v2.4 tag (TSSE) and a Xing frame."""
    return encode_mp3(folder / "ffmpeg_tag.mp3", ffmpeg_tag=True)


def _tagged_mp3(path: Path, version: int) -> Path:
    encode_mp3(path, ffmpeg_tag=False)
    tags = ID3()
    tags.add(TIT2(encoding=1 if version == 3 else 3, text="Cover song"))
    tags.add(TPE1(encoding=1 if version == 3 else 3, text="Synthguard tests"))
    tags.add(COMM(encoding=1 if version == 3 else 3, lang="eng", desc="", text="with a cover"))
    tags.add(APIC(encoding=0, mime="image/png", type=3, desc="front", data=cover_png()))
    tags.save(path, v2_version=version, v1=2)
    return path


def mp3_id3v23_cover(folder: Path) -> Path:
    return _tagged_mp3(folder / "id3v23_cover.mp3", 3)


def mp3_id3v24_cover(folder: Path) -> Path:
    return _tagged_mp3(folder / "id3v24_cover.mp3", 4)


def mp3_mutagen_label(folder: Path) -> Path:
    """A vendor label written by mutagen as UTF-16 TXXX:AIGC in an ID3v2.3 tag."""
    path = encode_mp3(folder / "mutagen_label.mp3", ffmpeg_tag=False)
    tags = ID3()
    tags.add(TIT2(encoding=1, text="Labelled elsewhere"))
    tags.add(TXXX(encoding=1, desc="AIGC", text=THIRD_PARTY.to_json()))
    tags.save(path, v2_version=3)
    return path


# --- FLAC -------------------------------------------------------------------------------------------


def flac_plain(folder: Path) -> Path:
    path = folder / "plain.flac"
    sf.write(path, tone(44100, 2), 44100, subtype="PCM_16", format="FLAC")
    return path


def flac_tags_picture(folder: Path) -> Path:
    path = flac_plain(folder).rename(folder / "tags_picture.flac")
    flac = FLAC(path)
    flac["TITLE"] = "Cover song"
    flac["ARTIST"] = ["Synthguard tests", "Second artist"]
    picture = Picture()
    picture.type = 3
    picture.mime = "image/png"
    picture.desc = "front"
    picture.data = cover_png()
    flac.add_picture(picture)
    flac.save()
    return path


def flac_mutagen_label(folder: Path) -> Path:
    path = flac_plain(folder).rename(folder / "mutagen_label.flac")
    flac = FLAC(path)
    flac["TITLE"] = "Labelled elsewhere"
    flac["AIGC"] = THIRD_PARTY.to_json()
    flac.save()
    return path


# --- Ogg --------------------------------------------------------------------------------------------


def vorbis_plain(folder: Path) -> Path:
    path = folder / "plain.ogg"
    sf.write(path, tone(44100, 2), 44100, format="OGG", subtype="VORBIS")
    return path


def vorbis_big_cover(folder: Path) -> Path:
    """A cover in METADATA_BLOCK_PICTURE makes the comment header span several pages."""
    path = vorbis_plain(folder).rename(folder / "big_cover.ogg")
    picture = Picture()
    picture.type = 3
    picture.mime = "image/png"
    picture.data = cover_png(size=160)
    ogg = OggVorbis(path)
    ogg["TITLE"] = "Cover song"
    ogg["METADATA_BLOCK_PICTURE"] = base64.b64encode(picture.write()).decode("ascii")
    ogg.save()
    return path


def vorbis_mutagen_label(folder: Path) -> Path:
    path = vorbis_plain(folder).rename(folder / "mutagen_label.ogg")
    ogg = OggVorbis(path)
    ogg["TITLE"] = "Labelled elsewhere"
    ogg["AIGC"] = THIRD_PARTY.to_json()
    ogg.save()
    return path


def encode_opus(path: Path) -> Path:
    with av.open(str(path), "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=48000, layout="stereo")
        samples = tone(48000, 2).T.astype(np.float32)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples), format="fltp", layout="stereo")
        frame.sample_rate = 48000
        frame.pts = 0
        frame.time_base = Fraction(1, 48000)
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def opus_plain(folder: Path) -> Path:
    return encode_opus(folder / "plain.opus")


def opus_mutagen_label(folder: Path) -> Path:
    path = encode_opus(folder / "mutagen_label.opus")
    opus = OggOpus(path)
    opus["TITLE"] = "Labelled elsewhere"
    opus["AIGC"] = THIRD_PARTY.to_json()
    opus.save()
    return path


# --- AVI --------------------------------------------------------------------------------------------


def encode_avi(path: Path, codec: str, frames: int = 8) -> Path:
    with av.open(str(path), "w", format="avi") as container:
        container.metadata["title"] = "Test pattern"
        stream = container.add_stream(codec, rate=10)
        stream.width, stream.height = 64, 48
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        y, x = np.mgrid[0:48, 0:64]
        for index in range(frames):
            rgb = np.stack([(x * 4 + index * 9) % 256, (y * 5) % 256, ((x + y) * 2) % 256], -1)
            frame = av.VideoFrame.from_ndarray(rgb.astype(np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def avi_mpeg4(folder: Path) -> Path:
    return encode_avi(folder / "mpeg4.avi", "mpeg4")


def avi_mjpeg(folder: Path) -> Path:
    return encode_avi(folder / "mjpeg.avi", "mjpeg")


SAMPLES: dict[str, Callable[[Path], Path]] = {
    "pcm16_mono.wav": wav_pcm16_mono,
    "pcm24_stereo.wav": wav_pcm24_stereo,
    "list_info.wav": wav_list_info,
    "id3_label.wav": wav_id3_label,
    "untagged.mp3": mp3_untagged,
    "ffmpeg_tag.mp3": mp3_ffmpeg_tag,
    "id3v23_cover.mp3": mp3_id3v23_cover,
    "id3v24_cover.mp3": mp3_id3v24_cover,
    "mutagen_label.mp3": mp3_mutagen_label,
    "plain.flac": flac_plain,
    "tags_picture.flac": flac_tags_picture,
    "mutagen_label.flac": flac_mutagen_label,
    "plain.ogg": vorbis_plain,
    "big_cover.ogg": vorbis_big_cover,
    "mutagen_label.ogg": vorbis_mutagen_label,
    "plain.opus": opus_plain,
    "mutagen_label.opus": opus_mutagen_label,
    "mpeg4.avi": avi_mpeg4,
    "mjpeg.avi": avi_mjpeg,
}
