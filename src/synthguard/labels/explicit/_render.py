"""Drawing one notice label: font, size, plate and placement; shared by the image and video renderers.

GB 45438-2025 asks for image and video text labels at an edge or corner with a text height of at
least 5 % of the shortest side, readable on any background. Here the *text height* is measured on the
rendered glyphs: the ink from the top of the tallest glyph down to the baseline (descenders such as
"g" are not counted, so the figure is never inflated by them). :func:`fit_font` picks the smallest
font size whose measured height reaches the target, and :func:`render_patch` draws the text over a
semi-transparent plate whose colour is chosen against the local background (adaptive contrast), with
a stroke in the plate colour, so the label stays legible on flat, busy, dark or bright content.

The font is the committed subset of Noto Sans CJK SC Bold (``fonts/``, SIL OFL 1.1): nothing here
depends on fonts installed on the machine.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from synthguard.errors import InvalidNoticeOptions, NoticeDoesNotFit

FONT_FILE = "NotoSansCJKsc-Bold-subset.otf"
MIN_HEIGHT_RATIO = 0.05  # GB 45438-2025: text height >= 5 % of the shortest side
MAX_HEIGHT_RATIO = 0.25  # past this a "label" hides the content it labels
MIN_TEXT_PX = 8  # below this no glyph is legible, whatever the ratio says
PLATE_ALPHA = 168  # of 255: the content shows through, the text stays readable
MARGIN_RATIO = 0.02  # gap to the image edge, of the shortest side

POSITIONS: tuple[str, ...] = (
    "top-left",
    "top-right",
    "bottom-left",
    "bottom-right",
    "top",
    "bottom",
    "left",
    "right",
)
VARY = "vary"


def font_path() -> Path:
    return Path(str(resources.files("synthguard.labels.explicit") / "fonts" / FONT_FILE))


@lru_cache(maxsize=256)
def load_font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path()), size)


def missing_glyphs(text: str) -> str:
    """Characters of ``text`` that the committed font subset cannot draw.

    The subset is cut from exactly ``notice.GLYPH_TEXT`` (tools/make_explicit_assets.py), and a test
    reads the font's cmap with fontTools to prove it covers that set.
    """
    from synthguard.labels.explicit.notice import GLYPH_TEXT

    covered = set(GLYPH_TEXT)
    return "".join(sorted({ch for ch in text if ch not in covered and not ch.isspace()}))


def text_height(font: ImageFont.FreeTypeFont, text: str) -> int:
    """Ink height above the baseline, in pixels: the measure the 5 % rule is checked against."""
    _left, top, _right, _bottom = font.getbbox(text, anchor="ls")
    return int(-top)


@lru_cache(maxsize=512)
def fit_font(text: str, target_px: int) -> ImageFont.FreeTypeFont:
    """The smallest font size whose glyphs are at least ``target_px`` tall above the baseline."""
    reference = load_font(100)
    ratio = max(text_height(reference, text), 1) / 100
    size = max(int(target_px / ratio) - 1, 4)
    font = load_font(size)
    while text_height(font, text) < target_px:
        size += 1
        font = load_font(size)
    return font


def check_ratio(height_ratio: float) -> float:
    if not (math.isfinite(height_ratio) and MIN_HEIGHT_RATIO <= height_ratio <= MAX_HEIGHT_RATIO):
        raise InvalidNoticeOptions(
            f"text height ratio {height_ratio!r} must be between {MIN_HEIGHT_RATIO} (GB 45438-2025: "
            f"at least 5 % of the shortest side) and {MAX_HEIGHT_RATIO}",
            message_zh=f"文字高度比例 {height_ratio!r} 须在 {MIN_HEIGHT_RATIO} 与 {MAX_HEIGHT_RATIO} 之间"
            "（GB 45438-2025：不低于画面最短边的 5%）",
        )
    return height_ratio


def check_position(position: str) -> str:
    if position not in (*POSITIONS, VARY):
        raise InvalidNoticeOptions(
            f"position {position!r} is not one of {', '.join((*POSITIONS, VARY))}",
            message_zh=f"标识位置 {position!r} 无效",
        )
    return position


def resolve_position(position: str, seed: str) -> str:
    """``vary`` picks one of the eight edge/corner positions from the seed (e.g. the content ID).

    A removal tool that crops or inpaints a fixed bottom-right strip then misses most labels, and
    the choice is reproducible for the same content.
    """
    if position != VARY:
        return position
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    return POSITIONS[digest[0] % len(POSITIONS)]


@dataclass(frozen=True)
class Patch:
    """A rendered label: RGBA pixels plus where the glyph ink sits inside them."""

    rgba: NDArray[np.uint8]  # (h, w, 4)
    text_box: tuple[int, int, int, int]  # left, top, right, bottom of the ink, inside the patch
    text_px: int  # measured text height (above the baseline)
    dark_text: bool

    @property
    def size(self) -> tuple[int, int]:
        return int(self.rgba.shape[1]), int(self.rgba.shape[0])


@lru_cache(maxsize=64)
def render_patch(text: str, target_px: int, dark_text: bool) -> Patch:
    """Text over a rounded semi-transparent plate; dark text on a light plate or the reverse."""
    font = fit_font(text, target_px)
    left, top, right, bottom = (int(v) for v in font.getbbox(text, anchor="ls"))
    stroke = max(1, round(target_px / 18))
    pad_x = max(2, round(target_px * 0.35))
    pad_y = max(2, round(target_px * 0.25))
    width = (right - left) + 2 * (pad_x + stroke)
    height = (bottom - top) + 2 * (pad_y + stroke)
    text_rgb = (0, 0, 0) if dark_text else (255, 255, 255)
    plate_rgb = (255, 255, 255) if dark_text else (0, 0, 0)
    canvas = Image.new("RGBA", (width, height), (*plate_rgb, 0))
    draw = ImageDraw.Draw(canvas)
    draw.rounded_rectangle(
        (0, 0, width - 1, height - 1), radius=max(1, pad_y), fill=(*plate_rgb, PLATE_ALPHA)
    )
    origin = (pad_x + stroke - left, pad_y + stroke - top)
    draw.text(
        origin,
        text,
        font=font,
        fill=(*text_rgb, 255),
        anchor="ls",
        stroke_width=stroke,
        stroke_fill=(*plate_rgb, PLATE_ALPHA + (255 - PLATE_ALPHA) // 2),
    )
    ink = (pad_x + stroke, pad_y + stroke, pad_x + stroke + right - left, pad_y + stroke + bottom - top)
    return Patch(np.asarray(canvas).copy(), ink, text_height(font, text), dark_text)


def dark_text_for(luma: NDArray[np.floating] | NDArray[np.integer]) -> bool:
    """Adaptive contrast: dark text on a light plate over bright backgrounds, and the reverse."""
    return bool(luma.size and float(np.mean(luma)) >= 128.0)


def target_text_px(width: int, height: int, height_ratio: float) -> int:
    return max(MIN_TEXT_PX, math.ceil(min(width, height) * check_ratio(height_ratio)))


def place(
    canvas: tuple[int, int], patch: tuple[int, int], position: str, *, even: bool = False
) -> tuple[int, int]:
    """Top-left corner of the patch for an edge or corner position; raises if it cannot fit."""
    width, height = canvas
    pw, ph = patch
    margin = max(1, round(min(width, height) * MARGIN_RATIO))
    if pw + 2 * margin > width or ph + 2 * margin > height:
        raise NoticeDoesNotFit(
            f"a {pw}x{ph} label does not fit a {width}x{height} picture; the notice needs text at least "
            f"{MIN_HEIGHT_RATIO:.0%} of the shortest side and {MIN_TEXT_PX} px tall: use a larger picture, "
            "a shorter notice (--lang zh) or a smaller height ratio",
            message_zh=f"{width}x{height} 的画面放不下 {pw}x{ph} 的标识：请使用更大的画面、更短的标识文字"
            "（--lang zh）或更小的文字比例",
        )
    x_left, x_mid, x_right = margin, (width - pw) // 2, width - pw - margin
    y_top, y_mid, y_bottom = margin, (height - ph) // 2, height - ph - margin
    x, y = {
        "top-left": (x_left, y_top),
        "top-right": (x_right, y_top),
        "bottom-left": (x_left, y_bottom),
        "bottom-right": (x_right, y_bottom),
        "top": (x_mid, y_top),
        "bottom": (x_mid, y_bottom),
        "left": (x_left, y_mid),
        "right": (x_right, y_mid),
    }[position]
    if even:
        # Video chroma is subsampled 2x2: an even box keeps every chroma sample outside it untouched.
        x, y = x - x % 2, y - y % 2
    return x, y
