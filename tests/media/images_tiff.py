"""TIFF samples written by Pillow (both byte orders, strips, LZW, EXIF, XMP, pages, BigTIFF) and
one labelled by ExifTool, the third-party writer the TC260 image guide's readers are checked with."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, TiffImagePlugin

from synthguard.labels.model import AIGCLabel
from tests.conftest import EXIFTOOL_CONFIG, PRODUCER

THIRD_PARTY = AIGCLabel.produce(PRODUCER, "third-party-tiff-1")
XMP_DC = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
    b"<dc:creator><rdf:Seq><rdf:li>Studio Scanner</rdf:li></rdf:Seq></dc:creator>"
    b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)


def rgb(seed: int = 21, size: tuple[int, int] = (64, 48)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


def strips_le(folder: Path) -> Path:
    path = folder / "strips_le.tif"
    rgb().save(path, tiffinfo={278: 5})  # 5 rows per strip: ten strips
    return path


def gray16_be(folder: Path) -> Path:
    """Pillow writes mode I;16B as a Motorola (``MM``) TIFF."""
    path = folder / "gray16_be.tif"
    rng = np.random.default_rng(22)
    image = Image.fromarray(rng.integers(0, 65535, (48, 64), dtype=np.uint16)).convert("I;16B")
    image.save(path, tiffinfo={278: 8})
    return path


def lzw(folder: Path) -> Path:
    path = folder / "lzw.tif"
    rgb(23).save(path, compression="tiff_lzw", dpi=(300, 300), strip_size=2048)
    return path


def exif_usercomment(folder: Path) -> Path:
    """EXIF sub-IFD with camera tags and a ``{"AIGC":...}`` UserComment (an unnamed slot)."""
    path = folder / "exif_usercomment.tif"
    ifd = TiffImagePlugin.ImageFileDirectory_v2()
    ifd[271] = "Canon"
    ifd[272] = "EOS R5"
    ifd[34665] = {
        36867: "2024:05:01 10:00:00",
        37510: b"ASCII\x00\x00\x00" + THIRD_PARTY.to_wrapped_json().encode(),
    }
    rgb(24).save(path, tiffinfo=ifd)
    return path


def with_xmp(folder: Path) -> Path:
    path = folder / "with_xmp.tif"
    rgb(25).save(path, tiffinfo={700: XMP_DC}, software="ScanStation 2")
    return path


def two_pages(folder: Path) -> Path:
    path = folder / "two_pages.tif"
    rgb(26).save(path, save_all=True, append_images=[rgb(27, (32, 24))])
    return path


def bigtiff(folder: Path) -> Path:
    path = folder / "bigtiff.tif"
    rgb(28).save(path, big_tiff=True)
    return path


def aigc_by_exiftool(folder: Path) -> Path:
    path = folder / "aigc_by_exiftool.tif"
    rgb(29).save(path)
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
    "strips_le.tif": strips_le,
    "gray16_be.tif": gray16_be,
    "lzw.tif": lzw,
    "exif_usercomment.tif": exif_usercomment,
    "with_xmp.tif": with_xmp,
    "two_pages.tif": two_pages,
    "bigtiff.tif": bigtiff,
    "aigc_by_exiftool.tif": aigc_by_exiftool,
}
