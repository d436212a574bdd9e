"""The attack suite of numbers.md for images (and video frames): deterministic and reusable.

Every attack a re-upload, screenshot or edit applies (issue #4, item 6; the "must survive" column of
numbers.md): JPEG q50, resize to 50% (kept small, or back up), crop keeping 50% of the area,
rotation +-5 degrees, gaussian noise sigma 5, brightness/contrast +-20%, grayscale, horizontal
flip, screenshot-like rescale with PNG->JPEG, and combinations. Tests and
``benchmarks/watermark_image.py`` run the same functions on every tool, so numbers compare.

Each attack is a pure function of a uint8 array (HxW or HxWxC); randomness is seeded.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

Pixels = npt.NDArray[np.uint8]
Attack = Callable[[Pixels], Pixels]


def _rgb(pixels: Pixels) -> Pixels:
    return pixels[:, :, :3] if pixels.ndim == 3 else pixels


def jpeg(pixels: Pixels, quality: int = 50) -> Pixels:
    buf = io.BytesIO()
    Image.fromarray(_rgb(pixels)).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB" if pixels.ndim == 3 else "L"))


def webp(pixels: Pixels, quality: int = 60) -> Pixels:
    buf = io.BytesIO()
    Image.fromarray(_rgb(pixels)).save(buf, format="WEBP", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB" if pixels.ndim == 3 else "L"))


def resize(pixels: Pixels, scale: float = 0.5, *, back: bool = False) -> Pixels:
    h, w = pixels.shape[:2]
    small = cv2.resize(
        pixels, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
    )
    if not back:
        return np.asarray(small, dtype=np.uint8)
    return np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), dtype=np.uint8)


def crop(pixels: Pixels, area: float = 0.5, *, anchor: str = "center") -> Pixels:
    """Keep ``area`` of the pixels, same aspect; anchor: center, top-left or bottom-right."""
    h, w = pixels.shape[:2]
    side = math.sqrt(area)
    ch, cw = round(h * side), round(w * side)
    if anchor == "top-left":
        y, x = 0, 0
    elif anchor == "bottom-right":
        y, x = h - ch, w - cw
    else:
        y, x = (h - ch) // 2, (w - cw) // 2
    return np.ascontiguousarray(pixels[y : y + ch, x : x + cw])


def crop_strip(pixels: Pixels, area: float = 0.5) -> Pixels:
    """Keep the left ``area`` fraction of the width, full height (a crop that changes the aspect)."""
    w = pixels.shape[1]
    return np.ascontiguousarray(pixels[:, : round(w * area)])


def rotate(pixels: Pixels, degrees: float = 5.0) -> Pixels:
    """Rotate about the centre keeping the size; uncovered corners are black, as image editors do."""
    h, w = pixels.shape[:2]
    mat = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), degrees, 1.0)
    return np.asarray(cv2.warpAffine(pixels, mat, (w, h), flags=cv2.INTER_LINEAR, borderValue=0), np.uint8)


def noise(pixels: Pixels, sigma: float = 5.0, seed: int = 1234) -> Pixels:
    rng = np.random.default_rng(seed)
    noisy = pixels.astype(np.float32) + rng.normal(0.0, sigma, pixels.shape).astype(np.float32)
    return np.asarray(np.clip(np.rint(noisy), 0, 255), dtype=np.uint8)


def brightness(pixels: Pixels, factor: float = 1.2) -> Pixels:
    return np.asarray(np.clip(np.rint(pixels.astype(np.float32) * factor), 0, 255), dtype=np.uint8)


def contrast(pixels: Pixels, factor: float = 1.2) -> Pixels:
    data = pixels.astype(np.float32)
    mean = float(data.mean())
    return np.asarray(np.clip(np.rint((data - mean) * factor + mean), 0, 255), dtype=np.uint8)


def grayscale(pixels: Pixels) -> Pixels:
    if pixels.ndim == 2:
        return pixels.copy()
    return np.asarray(Image.fromarray(_rgb(pixels)).convert("L"))


def hflip(pixels: Pixels) -> Pixels:
    return np.ascontiguousarray(pixels[:, ::-1])


def screenshot(pixels: Pixels, scale: float = 0.8, quality: int = 75) -> Pixels:
    """A screenshot of the image shown at ``scale`` (display scaling), saved as PNG, then as JPEG."""
    h, w = pixels.shape[:2]
    shown = cv2.resize(_rgb(pixels), (round(w * scale), round(h * scale)), interpolation=cv2.INTER_LINEAR)
    png = io.BytesIO()
    Image.fromarray(shown).save(png, format="PNG")
    return jpeg(np.asarray(Image.open(io.BytesIO(png.getvalue()))), quality)


def chain(*attacks: Attack) -> Attack:
    def run(pixels: Pixels) -> Pixels:
        for attack in attacks:
            pixels = attack(pixels)
        return pixels

    return run


# The suite, by name: what numbers.md lists, plus the combinations it asks for.
IMAGE_ATTACKS: dict[str, Attack] = {
    "none": lambda p: p.copy(),
    "jpeg50": jpeg,
    "webp60": webp,
    "resize50": lambda p: resize(p, 0.5),
    "resize75": lambda p: resize(p, 0.75),
    "resize50_back": lambda p: resize(p, 0.5, back=True),
    "crop90": lambda p: crop(p, 0.9, anchor="top-left"),
    "crop50": lambda p: crop(p, 0.5),
    "crop50_corner": lambda p: crop(p, 0.5, anchor="bottom-right"),
    "crop50_strip": lambda p: crop_strip(p, 0.5),
    "rotate+5": lambda p: rotate(p, 5.0),
    "rotate-5": lambda p: rotate(p, -5.0),
    "rotate1": lambda p: rotate(p, 1.0),
    "noise5": noise,
    "bright+20": lambda p: brightness(p, 1.2),
    "bright-20": lambda p: brightness(p, 0.8),
    "contrast+20": lambda p: contrast(p, 1.2),
    "contrast-20": lambda p: contrast(p, 0.8),
    "grayscale": grayscale,
    "hflip": hflip,
    "screenshot": screenshot,
    "screenshot125": lambda p: screenshot(p, 1.25),
    "crop50+jpeg50": chain(lambda p: crop(p, 0.5), jpeg),
    "resize50+jpeg50": chain(lambda p: resize(p, 0.5), jpeg),
    "rotate5+crop70+jpeg50": chain(lambda p: rotate(p, 5.0), lambda p: crop(p, 0.7), jpeg),
    "hflip+gray+resize75+jpeg": chain(hflip, grayscale, lambda p: resize(p, 0.75), lambda p: jpeg(p, 60)),
    "noise5+bright+20+jpeg50": chain(noise, lambda p: brightness(p, 1.2), jpeg),
}
