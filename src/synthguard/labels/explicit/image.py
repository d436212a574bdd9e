"""Explicit labels on images: a text notice drawn over the picture at an edge or corner.

GB 45438-2025 (image explicit label; Labeling Measures Art. 4): a text notice at an edge or corner,
text height >= 5 % of the shortest side, clear on any background; the label is drawn over the content
(not on an added bar that a crop removes cleanly). Position is a setting, and ``vary`` picks it from
the content ID so a fixed-strip removal tool misses most labels.

Only the label's box changes. The file keeps its format and mode (RGB, RGBA, L, LA, P, CMYK, 16-bit
grey); a JPEG is re-encoded with its own quantisation tables and chroma subsampling and gets its
original APPn/COM segments back byte for byte (EXIF with its orientation, ICC, XMP, IPTC), and a PNG
gets its original ancillary chunks back; the label is placed in *display* orientation, so a photo
whose EXIF says "rotate 90" shows the label upright in the chosen corner. Animated GIF and WebP get
the label on every frame, with frame timings and loop count kept.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image, ImageSequence, JpegImagePlugin, UnidentifiedImageError

from synthguard.errors import CorruptFile, InvalidNoticeOptions, UnsupportedFormat
from synthguard.labels.explicit import _render
from synthguard.labels.explicit.notice import Notice
from synthguard.labels.implicit import atomic_write

FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP")
ORIENTATION_TAG = 0x0112
# EXIF orientation -> the transpose that shows the stored pixels upright, and its inverse.
_TO_DISPLAY: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_TO_STORED: dict[int, Image.Transpose] = {
    **_TO_DISPLAY,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
}


@dataclass(frozen=True)
class ImageLabelOptions:
    """Where and how large the notice is drawn. ``seed`` drives ``position="vary"``."""

    notice: Notice = field(default_factory=Notice)
    position: str = "bottom-right"
    height_ratio: float = _render.MIN_HEIGHT_RATIO
    seed: str = ""

    def __post_init__(self) -> None:
        _render.check_position(self.position)
        _render.check_ratio(self.height_ratio)
        missing = _render.missing_glyphs(self.notice.short)
        if missing:
            raise InvalidNoticeOptions(
                f"the bundled font cannot draw {missing!r}; use the default wording or characters of "
                "synthguard.labels.explicit.notice.GLYPH_TEXT",
                message_zh=f"内置字体无法绘制字符 {missing!r}，请使用默认标识文字",
            )


@dataclass(frozen=True)
class ImageLabelResult:
    format: str
    mode: str
    size: tuple[int, int]  # display size (after EXIF orientation)
    frames: int
    position: str
    box: tuple[int, int, int, int]  # label box in display coordinates: x, y, width, height
    text_box: tuple[int, int, int, int]  # glyph ink box in display coordinates: x, y, width, height
    text_px: int  # measured text height (ink above the baseline)
    dark_text: bool


def label_image(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str] | None = None,
    options: ImageLabelOptions | None = None,
    *,
    fsync: bool = True,
) -> ImageLabelResult:
    """Draw the notice into ``src`` and write ``dst`` (None: in place) atomically."""
    options = options or ImageLabelOptions()
    source = Path(src)
    target = Path(dst) if dst is not None else source
    data = source.read_bytes()
    out, result = label_image_bytes(data, options, name=source.name)
    atomic_write(target, lambda f: _write_all(f, out), fsync=fsync, like=source)
    return result


def _write_all(f: BinaryIO, data: bytes) -> None:
    f.write(data)


def label_image_bytes(
    data: bytes, options: ImageLabelOptions | None = None, *, name: str = "image"
) -> tuple[bytes, ImageLabelResult]:
    options = options or ImageLabelOptions()
    img = _open(data, name)
    frames = int(getattr(img, "n_frames", 1) or 1)
    if frames > 1 and img.format in ("GIF", "WEBP"):
        return _label_animated(img, options, data)
    try:
        img.load()
    except (OSError, ValueError, struct.error, zlib.error) as exc:
        raise CorruptFile(img.format or "image", f"{name}: cannot decode the pixels ({exc})") from None
    orientation = _orientation(img)
    display = img.transpose(_TO_DISPLAY[orientation]) if orientation in _TO_DISPLAY else img
    result = _draw(display, options)
    stored = display.transpose(_TO_STORED[orientation]) if orientation in _TO_DISPLAY else display
    out = _save(img, stored, data)
    return out, result


def draw_notice(image: Image.Image, options: ImageLabelOptions | None = None) -> ImageLabelResult:
    """Draw the notice onto an in-memory image (already upright) in place: for generators' pipelines."""
    return _draw(image, options or ImageLabelOptions())


def _open(data: bytes, name: str) -> Image.Image:
    if not data:
        raise CorruptFile("image", f"{name} is empty (0 bytes)")
    try:
        img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise UnsupportedFormat(
            f"{name}: not an image Pillow can read (supported: {', '.join(FORMATS)})",
            message_zh=f"{name} 不是可识别的图片",
        ) from None
    except Image.DecompressionBombError as exc:
        raise UnsupportedFormat(str(exc), message_zh="图片像素过多，拒绝处理") from None
    except (OSError, ValueError, SyntaxError, struct.error) as exc:
        raise CorruptFile("image", f"{name}: {exc}") from None
    if img.format not in FORMATS:
        raise UnsupportedFormat(
            f"{name}: explicit labels support {', '.join(FORMATS)}, not {img.format}",
            message_zh=f"{name}：暂不支持为 {img.format} 图片添加显式标识",
        )
    if img.format == "PNG" and b"acTL" in data[: data.find(b"IDAT")]:
        raise UnsupportedFormat(
            f"{name}: animated PNG is not supported for explicit labels; use GIF or WebP",
            message_zh=f"{name}：暂不支持为动画 PNG 添加显式标识",
        )
    if img.format == "PNG" and img.mode in ("RGB", "RGBA") and _png_bit_depth(data) == 16:
        raise UnsupportedFormat(
            f"{name}: 16-bit colour PNG would lose precision in Pillow; convert it first",
            message_zh=f"{name}：暂不支持 16 位彩色 PNG",
        )
    return img


def _png_bit_depth(data: bytes) -> int:
    return data[24] if len(data) > 24 else 8


def _orientation(img: Image.Image) -> int:
    try:
        return int(img.getexif().get(ORIENTATION_TAG, 1))
    except (ValueError, TypeError, struct.error, SyntaxError):
        return 1


def _draw(display: Image.Image, options: ImageLabelOptions, dark: bool | None = None) -> ImageLabelResult:
    width, height = display.size
    text = options.notice.short
    target = _render.target_text_px(width, height, options.height_ratio)
    position = _render.resolve_position(options.position, options.seed)
    # Size first with either polarity (same geometry), then pick the polarity from what lies under it.
    probe = _render.render_patch(text, target, True)
    x, y = _render.place((width, height), probe.size, position)
    box = (x, y, x + probe.size[0], y + probe.size[1])
    region = display.crop(box)
    if dark is None:
        dark = _render.dark_text_for(np.asarray(region.convert("L")))
    patch = _render.render_patch(text, target, dark)
    display.paste(_composite(region, patch, display), box[:2])
    tl, tt, tr, tb = patch.text_box
    return ImageLabelResult(
        format=display.format or "",
        mode=display.mode,
        size=(width, height),
        frames=1,
        position=position,
        box=(x, y, probe.size[0], probe.size[1]),
        text_box=(x + tl, y + tt, tr - tl, tb - tt),
        text_px=patch.text_px,
        dark_text=dark,
    )


def _composite(region: Image.Image, patch: _render.Patch, whole: Image.Image) -> Image.Image:
    overlay = Image.fromarray(patch.rgba, "RGBA")
    mode = region.mode
    if mode == "RGBA":
        return Image.alpha_composite(region, overlay)
    if mode in ("P", "PA"):
        return _composite_palette(region, patch, whole)
    if mode in ("I;16", "I;16L", "I;16B", "I"):
        return _composite_wide_grey(region, patch)
    if mode == "F":
        raise UnsupportedFormat(
            "floating-point images cannot carry an explicit label", message_zh="不支持浮点图像"
        )
    return Image.alpha_composite(region.convert("RGBA"), overlay).convert(mode)


def _composite_palette(region: Image.Image, patch: _render.Patch, whole: Image.Image) -> Image.Image:
    """Blend in RGB, then map every label pixel to the nearest colour of the image's own palette."""
    palette = np.asarray(whole.getpalette("RGB") or [0, 0, 0, 255, 255, 255], dtype=np.int32).reshape(-1, 3)
    transparency = whole.info.get("transparency")
    usable = np.arange(len(palette))
    if isinstance(transparency, int) and len(usable) > 1:
        usable = usable[usable != transparency]
    blended = Image.alpha_composite(region.convert("RGBA"), Image.fromarray(patch.rgba, "RGBA"))
    rgb = np.asarray(blended.convert("RGB"), dtype=np.int32)
    dist = ((rgb[:, :, None, :] - palette[None, None, usable, :]) ** 2).sum(axis=3)
    indices = usable[np.argmin(dist, axis=2)]
    original = np.asarray(region if region.mode == "P" else region.convert("P"))
    keep = patch.rgba[:, :, 3] == 0
    out = Image.fromarray(np.where(keep, original, indices).astype(np.uint8), "P")
    out.putpalette(whole.getpalette("RGB") or [])
    if region.mode == "PA":
        out = out.convert("PA")
    return out


def _composite_wide_grey(region: Image.Image, patch: _render.Patch) -> Image.Image:
    arr = np.asarray(region).astype(np.float64)
    rgba = patch.rgba.astype(np.float64)
    luma = (0.299 * rgba[:, :, 0] + 0.587 * rgba[:, :, 1] + 0.114 * rgba[:, :, 2]) * 257.0
    alpha = rgba[:, :, 3] / 255.0
    out = np.rint(arr * (1 - alpha) + luma * alpha)
    if region.mode == "I":
        return Image.fromarray(out.astype(np.int32))
    return Image.fromarray(np.clip(out, 0, 65535).astype(np.uint16))


# --- saving -------------------------------------------------------------------------------------


def _save(original: Image.Image, pixels: Image.Image, data: bytes) -> bytes:
    fmt = original.format or ""
    info = original.info
    buf = io.BytesIO()
    if fmt == "JPEG":
        kwargs: dict[str, Any] = {"qtables": getattr(original, "quantization", None) or None}
        sampling = JpegImagePlugin.get_sampling(original)
        if sampling != -1:
            kwargs["subsampling"] = sampling
        if info.get("progressive") or info.get("progression"):
            kwargs["progressive"] = True
        pixels.save(buf, "JPEG", **{k: v for k, v in kwargs.items() if v is not None})
        return splice_jpeg_segments(data, buf.getvalue())
    if fmt == "PNG":
        kwargs = {"compress_level": 6}
        if "transparency" in info:
            kwargs["transparency"] = info["transparency"]
        pixels.save(buf, "PNG", **kwargs)
        return splice_png_chunks(data, buf.getvalue())
    if fmt == "WEBP":
        pixels.save(buf, "WEBP", **_webp_kwargs(original, data))
        return buf.getvalue()
    if fmt == "GIF":
        kwargs = {k: info[k] for k in ("transparency", "comment", "loop", "duration") if k in info}
        pixels.save(buf, "GIF", **kwargs)
        return buf.getvalue()
    if fmt == "TIFF":
        kwargs = {"compression": info.get("compression", "raw")}
        for key in ("icc_profile", "dpi", "description"):
            if key in info:
                kwargs[key] = info[key]
        pixels.save(buf, "TIFF", **kwargs)
        return buf.getvalue()
    pixels.save(buf, fmt)
    return buf.getvalue()


def _webp_kwargs(original: Image.Image, data: bytes) -> dict[str, Any]:
    info = original.info
    kwargs: dict[str, Any] = {"lossless": b"VP8L" in data[:4096], "quality": 95, "method": 4}
    for key in ("exif", "icc_profile", "xmp"):
        if info.get(key):
            kwargs[key] = info[key]
    return kwargs


def _label_animated(
    img: Image.Image, options: ImageLabelOptions, data: bytes
) -> tuple[bytes, ImageLabelResult]:
    frames: list[Image.Image] = []
    durations: list[int] = []
    result: ImageLabelResult | None = None
    try:
        for frame in ImageSequence.Iterator(img):
            rgba = frame.convert("RGBA")  # loads the frame: WebP sets its duration only then
            durations.append(int(frame.info.get("duration", 100)))
            # Same polarity on every frame, so the label does not flicker.
            drawn = _draw(rgba, options, dark=None if result is None else result.dark_text)
            result = result or drawn
            frames.append(rgba)
    except (OSError, ValueError, EOFError, struct.error) as exc:
        raise CorruptFile(img.format or "image", f"cannot decode frame {len(frames)} ({exc})") from None
    assert result is not None
    buf = io.BytesIO()
    info = img.info
    common: dict[str, Any] = {"save_all": True, "append_images": frames[1:], "duration": durations}
    common["loop"] = info.get("loop", 0)
    if img.format == "GIF":
        if "comment" in info:
            common["comment"] = info["comment"]
        frames[0].save(buf, "GIF", disposal=2, optimize=False, **common)
    else:
        frames[0].save(buf, "WEBP", **common, **_webp_kwargs(img, data))
    return buf.getvalue(), ImageLabelResult(
        format=img.format or "",
        mode=img.mode,
        size=result.size,
        frames=len(frames),
        position=result.position,
        box=result.box,
        text_box=result.text_box,
        text_px=result.text_px,
        dark_text=result.dark_text,
    )


# --- metadata transplant ------------------------------------------------------------------------


def _jpeg_segments(data: bytes) -> tuple[list[bytes], int]:
    """The APPn/COM segments at the head of a JPEG and the offset of the first other marker."""
    if data[:2] != b"\xff\xd8":
        raise CorruptFile("JPEG", "missing SOI marker", offset=0)
    pos = 2
    segments: list[bytes] = []
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise CorruptFile("JPEG", "expected a marker", offset=pos)
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if not (0xE0 <= marker <= 0xEF or marker == 0xFE):
            return segments, pos
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        end = pos + 2 + length
        if length < 2 or end > len(data):
            raise CorruptFile("JPEG", f"segment FF{marker:02X} runs past the end", offset=pos)
        segments.append(data[pos:end])
        pos = end
    raise CorruptFile("JPEG", "no image data after the metadata segments", offset=pos)


def splice_jpeg_segments(original: bytes, encoded: bytes) -> bytes:
    """Pillow's new scan data behind the original's metadata segments, byte for byte."""
    kept, _ = _jpeg_segments(original)
    _, body = _jpeg_segments(encoded)
    return b"\xff\xd8" + b"".join(kept) + encoded[body:]


_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_PNG_IMAGE_CHUNKS = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}
# Ancillary chunks that describe pixel encoding the new encoder decides (none today); everything
# else (iCCP, gAMA, cHRM, sRGB, pHYs, tEXt, zTXt, iTXt, eXIf, tIME, private chunks) is copied.
_PNG_BEFORE_PLTE = {b"iCCP", b"gAMA", b"cHRM", b"sRGB", b"sBIT", b"cICP", b"mDCv", b"cLLi"}


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if data[:8] != _PNG_SIG:
        raise CorruptFile("PNG", "bad signature", offset=0)
    pos, chunks = 8, []
    while pos + 12 <= len(data):
        length = struct.unpack(">I", data[pos : pos + 4])[0]
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise CorruptFile("PNG", f"chunk {kind!r} runs past the end", offset=pos)
        chunks.append((kind, data[pos:end]))
        pos = end
        if kind == b"IEND":
            break
    return chunks


def splice_png_chunks(original: bytes, encoded: bytes) -> bytes:
    """The new image chunks with every ancillary chunk of the original, each in a legal place."""
    old = _png_chunks(original)
    new = _png_chunks(encoded)
    first_idat = next((i for i, (k, _) in enumerate(old) if k == b"IDAT"), len(old))
    head = [raw for i, (k, raw) in enumerate(old) if i < first_idat and k not in _PNG_IMAGE_CHUNKS]
    tail = [raw for i, (k, raw) in enumerate(old) if i > first_idat and k not in _PNG_IMAGE_CHUNKS]
    color_head = [raw for raw in head if raw[4:8] in _PNG_BEFORE_PLTE]
    other_head = [raw for raw in head if raw[4:8] not in _PNG_BEFORE_PLTE]
    ihdr = [raw for k, raw in new if k == b"IHDR"]
    plte_trns = [raw for k, raw in new if k in (b"PLTE", b"tRNS")]
    idats = [raw for k, raw in new if k == b"IDAT"]
    iend = [raw for k, raw in new if k == b"IEND"]
    parts = [_PNG_SIG, *ihdr, *color_head, *plte_trns, *other_head, *idats, *tail, *iend]
    return b"".join(parts)
