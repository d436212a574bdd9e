"""Image samples made by Pillow (libjpeg-turbo, libpng/zlib, libwebp, Pillow's GIF encoder).

Variants cover what the JPEG/PNG/WebP/GIF plugins must handle: EXIF + ICC + an existing Adobe XMP
packet, progressive JPEG, every PNG colour type we meet (RGB, RGBA, palette), APNG, text chunks, lossy /
lossless / animated WebP, static and animated GIF, and files that already carry an ``AIGC`` label
written by a third party in an App. B wrapper slot (EXIF UserComment, PNG ``tEXt``, a GIF comment) or
in a foreign XMP packet (attribute form).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms
from PIL.PngImagePlugin import PngInfo

from synthguard.labels.model import AIGCLabel

# A label as another vendor's tool would have written it (the conftest producer, another ID).
THIRD_PARTY = AIGCLabel.produce("001191110102MACQD9K64010000", "vendor-0042")

ADOBE_XMP = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 9.1-c001">\n'
    b' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
    b'  <rdf:Description rdf:about=""\n'
    b'    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
    b'    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
    b'   xmp:CreatorTool="Adobe Photoshop 25.0" xmp:Rating="4">\n'
    b"   <dc:creator><rdf:Seq><rdf:li>Jane Doe</rdf:li></rdf:Seq></dc:creator>\n"
    b"  </rdf:Description>\n"
    b" </rdf:RDF>\n"
    b"</x:xmpmeta>\n"
    b'<?xpacket end="w"?>'
)

# Another tool's packet carrying the label in attribute form (allowed by XMP, seen in the wild).
FOREIGN_LABEL_XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description rdf:about="" xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/" '
    b'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" photoshop:Credit="Vendor" TC260:AIGC="'
    + THIRD_PARTY.to_json().replace('"', "&quot;").encode()
    + b'"/></rdf:RDF></x:xmpmeta>'
)


def _pixels(width: int, height: int, channels: int = 3, seed: int = 7) -> np.ndarray:
    """A gradient with noise: compresses like a photo, not like a flat colour."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([(x * 255 // width), (y * 255 // height), ((x + y) * 127 // (width + height))], -1)
    if channels == 4:
        base = np.concatenate([base, (x * 255 // width)[..., None]], -1)
    noise = rng.integers(0, 24, size=(height, width, channels))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def _rgb(width: int = 96, height: int = 64, seed: int = 7) -> Image.Image:
    return Image.fromarray(_pixels(width, height, 3, seed), "RGB")


def _rgba(width: int = 64, height: int = 48) -> Image.Image:
    return Image.fromarray(_pixels(width, height, 4), "RGBA")


def _icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _exif(user_comment: bytes | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "SynthCam"  # Make
    exif[0x0110] = "Model 1"  # Model
    exif[0x0131] = "Pillow"  # Software
    exif[0x0112] = 1  # Orientation
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003] = "2025:09:01 12:00:00"  # DateTimeOriginal
    if user_comment is not None:
        ifd[0x9286] = user_comment
    return exif


def _frames(count: int, width: int = 40, height: int = 30) -> list[Image.Image]:
    return [_rgb(width, height, seed=seed) for seed in range(count)]


# --- JPEG ----------------------------------------------------------------------------------------


def jpeg_exif_icc_xmp(folder: Path) -> Path:
    path = folder / "photo_exif_icc_xmp.jpg"
    _rgb().save(path, "JPEG", quality=90, exif=_exif(), icc_profile=_icc(), xmp=ADOBE_XMP)
    return path


def jpeg_progressive(folder: Path) -> Path:
    path = folder / "progressive.jpg"
    _rgb(120, 80).save(path, "JPEG", quality=85, progressive=True, optimize=True)
    return path


def jpeg_usercomment_label(folder: Path) -> Path:
    path = folder / "usercomment_label.jpg"
    comment = b"ASCII\x00\x00\x00" + THIRD_PARTY.to_wrapped_json().encode()
    _rgb(64, 64).save(path, "JPEG", quality=80, exif=_exif(comment))
    return path


def jpeg_foreign_xmp_label(folder: Path) -> Path:
    path = folder / "foreign_xmp_label.jpg"
    _rgb(48, 48).convert("L").save(path, "JPEG", quality=75, xmp=FOREIGN_LABEL_XMP)
    return path


# --- PNG -----------------------------------------------------------------------------------------


def png_rgb(folder: Path) -> Path:
    path = folder / "rgb.png"
    _rgb().save(path, "PNG")
    return path


def png_rgba_icc(folder: Path) -> Path:
    path = folder / "rgba_icc.png"
    _rgba().save(path, "PNG", icc_profile=_icc(), exif=_exif())
    return path


def png_palette(folder: Path) -> Path:
    path = folder / "palette.png"
    _rgb(50, 40).quantize(colors=32).save(path, "PNG", transparency=0)
    return path


def png_text(folder: Path) -> Path:
    path = folder / "text_chunks.png"
    info = PngInfo()
    info.add_text("Title", "A test image")
    info.add_text("Comment", "compressed comment " * 20, zip=True)
    info.add_itxt("Description", "描述：测试图像", lang="zh", tkey="描述")
    info.add_itxt("XML:com.adobe.xmp", ADOBE_XMP.decode())
    _rgb(60, 40).save(path, "PNG", pnginfo=info)
    return path


def png_text_label(folder: Path) -> Path:
    path = folder / "text_label.png"
    info = PngInfo()
    info.add_text("AIGC", THIRD_PARTY.to_wrapped_json())
    info.add_text("Software", "vendor-tool 2.1")
    _rgb(40, 40).save(path, "PNG", pnginfo=info)
    return path


def png_animated(folder: Path) -> Path:
    path = folder / "animated.png"
    first, *rest = _frames(3)
    first.save(path, "PNG", save_all=True, append_images=rest, duration=100, loop=0)
    return path


# --- WebP ----------------------------------------------------------------------------------------


def webp_lossy(folder: Path) -> Path:
    path = folder / "lossy.webp"
    _rgb(101, 67).save(path, "WEBP", quality=80)  # odd sizes on purpose
    return path


def webp_lossless(folder: Path) -> Path:
    path = folder / "lossless_alpha.webp"
    _rgba(63, 45).save(path, "WEBP", lossless=True)
    return path


def webp_lossy_alpha_exif_xmp(folder: Path) -> Path:
    path = folder / "lossy_alpha_exif_xmp.webp"
    _rgba(64, 48).save(path, "WEBP", quality=70, exif=_exif(), icc_profile=_icc(), xmp=ADOBE_XMP)
    return path


def webp_animated(folder: Path) -> Path:
    path = folder / "animated.webp"
    first, *rest = _frames(3)
    first.save(path, "WEBP", save_all=True, append_images=rest, duration=100, loop=0, quality=70)
    return path


# --- GIF -----------------------------------------------------------------------------------------


def gif_static(folder: Path) -> Path:
    path = folder / "static.gif"
    _rgb(50, 30).quantize(colors=64).save(path, "GIF")
    return path


def gif_animated(folder: Path) -> Path:
    path = folder / "animated.gif"
    first, *rest = (frame.quantize(colors=32) for frame in _frames(3))
    first.save(path, "GIF", save_all=True, append_images=rest, duration=80, loop=0, comment=b"made by Pillow")
    return path


def gif_comment_label(folder: Path) -> Path:
    path = folder / "comment_label.gif"
    _rgb(20, 20).quantize(colors=16).save(path, "GIF", comment=THIRD_PARTY.to_wrapped_json().encode())
    return path


SAMPLES: dict[str, Callable[[Path], Path]] = {
    "photo_exif_icc_xmp.jpg": jpeg_exif_icc_xmp,
    "progressive.jpg": jpeg_progressive,
    "usercomment_label.jpg": jpeg_usercomment_label,
    "foreign_xmp_label.jpg": jpeg_foreign_xmp_label,
    "rgb.png": png_rgb,
    "rgba_icc.png": png_rgba_icc,
    "palette.png": png_palette,
    "text_chunks.png": png_text,
    "text_label.png": png_text_label,
    "animated.png": png_animated,
    "lossy.webp": webp_lossy,
    "lossless_alpha.webp": webp_lossless,
    "lossy_alpha_exif_xmp.webp": webp_lossy_alpha_exif_xmp,
    "animated.webp": webp_animated,
    "static.gif": gif_static,
    "animated.gif": gif_animated,
    "comment_label.gif": gif_comment_label,
}
