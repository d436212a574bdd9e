"""Which files take an invisible watermark, and embedding one into a file (issue #4, items 2-3).

The label pipeline (``Synthguard.label_file``) and ``synthguard watermark embed`` call this: it
decides by content (Pillow's identification for images, container probing for video), never by
file name alone, and writes the marked copy in the original's format.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from synthguard.watermark.payload import WatermarkKey

IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "BMP")
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi")
# Audio the watermark rewrites in its own format (libsndfile): lossless PCM stays sample-exact outside
# the mark; Ogg Vorbis is re-encoded, which the mark survives (it is built to survive MP3/AAC).
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga")


def watermark_modality(path: Path) -> str | None:
    """ "image", "video", "audio" or None (no invisible watermark for this file)."""
    try:
        with Image.open(path) as image:
            if image.format in IMAGE_FORMATS and not getattr(image, "is_animated", False):
                return "image"
            return None
    except (UnidentifiedImageError, OSError, ValueError):
        pass
    if path.suffix.lower() in VIDEO_SUFFIXES and _has_video_stream(path):
        return "video"
    if path.suffix.lower() in AUDIO_SUFFIXES and _is_sndfile_audio(path):
        return "audio"
    return None


def _is_sndfile_audio(path: Path) -> bool:
    import soundfile as sf

    try:
        sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError):
        return False
    return True


def _has_video_stream(path: Path) -> bool:
    try:
        import av

        with av.open(str(path)) as container:
            return bool(container.streams.video)
    except Exception:  # any demuxer failure means "not a video we can mark"
        return False


def embed_media(path: Path, out: Path, mark_id: int, key: WatermarkKey) -> dict[str, Any]:
    """Write ``path`` watermarked to ``out``; returns what was done (modality and quality)."""
    modality = watermark_modality(path)
    if modality == "image":
        from synthguard.watermark.image import embed_file

        return {"modality": "image", **embed_file(path, out, mark_id, key)}
    if modality == "video":
        from synthguard.watermark.video import embed_video

        return {"modality": "video", **embed_video(path, out, mark_id, key)}
    if modality == "audio":
        from synthguard.watermark.audio import embed_file as embed_audio

        result = embed_audio(path, out, mark_id, key)
        return {"modality": "audio", "snr_db": round(result.snr_db, 2)}
    from synthguard.errors import UnsupportedFormat

    raise UnsupportedFormat(
        f"{path.name}: only images (JPEG, PNG, WebP, TIFF, BMP), videos and WAV/FLAC/OGG audio "
        "take an invisible watermark",
        message_zh=f"{path.name}：只有图像（JPEG、PNG、WebP、TIFF、BMP）、视频和 WAV/FLAC/OGG 音频"
        "可以嵌入隐形水印",
    )
