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


def watermark_modality(path: Path) -> str | None:
    """ "image", "video" or None (no pixel watermark for this file)."""
    try:
        with Image.open(path) as image:
            if image.format in IMAGE_FORMATS and not getattr(image, "is_animated", False):
                return "image"
            return None
    except (UnidentifiedImageError, OSError, ValueError):
        pass
    if path.suffix.lower() in VIDEO_SUFFIXES and _has_video_stream(path):
        return "video"
    return None


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
    from synthguard.errors import UnsupportedFormat

    raise UnsupportedFormat(
        f"{path.name}: only images (JPEG, PNG, WebP, TIFF, BMP) and videos take a pixel watermark",
        message_zh=f"{path.name}：只有图像（JPEG、PNG、WebP、TIFF、BMP）和视频可以嵌入像素水印",
    )
