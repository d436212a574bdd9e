"""ISOBMFF samples: MP4/MOV/M4A made by PyAV and ffmpeg, HEIC by pillow-heif, AVIF by Pillow.

Every file is encoded here by a real encoder (libx264, AAC, x265, libavif); ffmpeg remuxes with
``-c copy`` for the layouts a muxer chooses (``moov`` first with ``+faststart``, fragmented), and
ffmpeg or ExifTool write the third-party labels, exactly as producers in the wild do.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from synthguard.labels.model import AIGCLabel
from tests.conftest import EXIFTOOL_CONFIG, PRODUCER

THIRD_PARTY = AIGCLabel.produce(PRODUCER, "third-party-0001")
XMP_DC = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
    b"<dc:creator><rdf:Seq><rdf:li>Studio Camera</rdf:li></rdf:Seq></dc:creator>"
    b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)


def frames(count: int = 12, size: tuple[int, int] = (64, 48), seed: int = 11) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8) for _ in range(count)]


def encode_h264(path: Path, container: str | None = None) -> Path:
    """H.264 in MP4/MOV via PyAV; the muxer puts ``moov`` after ``mdat``."""
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"preset": "ultrafast", "tune": "zerolatency"}
        for image in frames():
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def ffmpeg_copy(src: Path, dst: Path, *args: str) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), *args, "-c", "copy", str(dst)], check=True)
    return dst


def h264_moov_last(folder: Path) -> Path:
    return encode_h264(folder / "h264_moov_last.mp4")


def h264_faststart(folder: Path) -> Path:
    plain = encode_h264(folder / "faststart_src.mp4")
    out = ffmpeg_copy(plain, folder / "h264_faststart.mp4", "-movflags", "+faststart")
    plain.unlink()
    return out


def h264_mov(folder: Path) -> Path:
    return encode_h264(folder / "h264.mov", "mov")


def aac_m4a(folder: Path) -> Path:
    path = folder / "aac.m4a"
    rate = 16000
    t = np.arange(rate // 2) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
    with av.open(str(path), "w", format="ipod") as out:
        stream = out.add_stream("aac", rate=rate)
        stream.layout = "mono"
        for start in range(0, tone.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(
                tone[:, start : start + 1024].copy(), format="fltp", layout="mono"
            )
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def mdta_titled(folder: Path) -> Path:
    """Other QuickTime keys already present (title, comment) in a moov-first file."""
    plain = encode_h264(folder / "titled_src.mp4")
    out = ffmpeg_copy(
        plain,
        folder / "mdta_titled.mp4",
        "-metadata",
        "title=Harbour at dusk",
        "-metadata",
        "comment=shot on a tripod",
        "-movflags",
        "use_metadata_tags+faststart",
    )
    plain.unlink()
    return out


def itunes_titled(folder: Path) -> Path:
    """iTunes-style ``udta/meta`` (``mdir``) with a title, as ffmpeg writes without use_metadata_tags."""
    plain = encode_h264(folder / "itunes_src.mp4")
    out = ffmpeg_copy(plain, folder / "itunes_titled.mp4", "-metadata", "title=Harbour at dusk")
    plain.unlink()
    return out


def aigc_by_ffmpeg(folder: Path) -> Path:
    """A label written by the reference tool chain (TC260-PG-20257A's ffmpeg command)."""
    plain = encode_h264(folder / "aigc_src.mp4")
    out = ffmpeg_copy(
        plain,
        folder / "aigc_by_ffmpeg.mp4",
        "-metadata",
        f"AIGC={THIRD_PARTY.to_json()}",
        "-metadata",
        "title=labelled elsewhere",
        "-movflags",
        "use_metadata_tags",
    )
    plain.unlink()
    return out


def fragmented(folder: Path) -> Path:
    plain = encode_h264(folder / "frag_src.mp4")
    out = ffmpeg_copy(plain, folder / "fragmented.mp4", "-movflags", "frag_keyframe+empty_moov")
    plain.unlink()
    return out


def _still(seed: int = 4) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))


def heic(folder: Path) -> Path:
    import pillow_heif

    path = folder / "photo.heic"
    pillow_heif.from_pillow(_still()).save(str(path), quality=80)
    return path


def heic_with_xmp(folder: Path) -> Path:
    import pillow_heif

    path = folder / "photo_xmp.heic"
    heif = pillow_heif.from_pillow(_still(5))
    heif.info["xmp"] = XMP_DC
    heif.save(str(path), quality=80)
    return path


def avif(folder: Path) -> Path:
    path = folder / "photo.avif"
    _still(6).save(path, format="AVIF", quality=70)
    return path


def animated_avif(folder: Path) -> Path:
    """An AVIF image sequence (brand ``avis``): a ``moov`` track after ``meta``, before ``mdat``."""
    path = folder / "animated.avif"
    first, *rest = (_still(seed) for seed in (7, 8, 9))
    first.save(path, format="AVIF", save_all=True, append_images=rest, duration=100, quality=70)
    return path


def heic_aigc_by_exiftool(folder: Path) -> Path:
    path = heic(folder).rename(folder / "aigc_by_exiftool.heic")
    subprocess.run(
        [
            "exiftool",
            "-config",
            str(EXIFTOOL_CONFIG),
            "-q",
            "-overwrite_original",
            f"-XMP-TC260:AIGC={THIRD_PARTY.to_json()}",
            str(path),
        ],
        check=True,
    )
    return path


SAMPLES: dict[str, Callable[[Path], Path]] = {
    "h264_moov_last.mp4": h264_moov_last,
    "h264_faststart.mp4": h264_faststart,
    "h264.mov": h264_mov,
    "aac.m4a": aac_m4a,
    "mdta_titled.mp4": mdta_titled,
    "itunes_titled.mp4": itunes_titled,
    "aigc_by_ffmpeg.mp4": aigc_by_ffmpeg,
    "fragmented.mp4": fragmented,
    "photo.heic": heic,
    "photo_xmp.heic": heic_with_xmp,
    "photo.avif": avif,
    "animated.avif": animated_avif,
    "aigc_by_exiftool.heic": heic_aigc_by_exiftool,
}
