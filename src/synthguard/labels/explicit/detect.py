"""Find our explicit image label in a picture without OCR: match the glyph shapes we draw.

Labeling Measures Art. 6(3): a platform that finds no implicit label but detects an explicit label
marks the content "suspected AI-generated" (AIGC ``Label`` "3"). synthguard draws its notices with one
committed font, so the exact glyph shapes are known: this module renders each standard notice as a
template at a range of text heights and slides it over the image with zero-mean normalised
cross-correlation (NCC), computed with FFTs and integral images so a whole picture costs a few
hundred milliseconds. Using ``|NCC|`` makes the match independent of polarity (dark text on a light
plate or the reverse) and of brightness/contrast changes; working on a copy scaled to a fixed short
side makes it independent of resizing.

Why not a library: OCR engines (Tesseract, PaddleOCR) need models that cannot be loaded at run time
here and answer a different question ("is there any text?"), not "is this our label?". OpenCV's
``matchTemplate`` computes the same NCC, but the work here is the scale search around it (coarse
keys, then 1 % refinement of the whole notice); a numpy FFT keeps the label package free of the
review engine's vision stack.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageOps

from synthguard.labels.explicit import _render
from synthguard.labels.explicit.notice import LANGS, Notice

WORK_SHORT_SIDE = 360  # pixels of the short side the search runs at
MIN_TEMPLATE_PX = 9  # glyphs smaller than this carry too little shape to match reliably
HEIGHT_RATIOS = tuple(float(r) for r in np.geomspace(0.035, 0.16, 27))  # ~6 % apart
KEY_CHARS = 4
REFINE_CANDIDATES = 3  # per key
REFINE_STEPS = 8  # +-8 % in 1 % steps
TEMPLATE_BASE_PX = 96
DEFAULT_MIN_SCORE = 0.6

Array = NDArray[np.float64]


@dataclass(frozen=True)
class NoticeMatch:
    """Where our notice was found, in the picture's display coordinates."""

    box: tuple[int, int, int, int]  # x, y, width, height of the glyph ink
    score: float  # |NCC| in 0..1
    text: str


def standard_texts(levels: tuple[str, ...] = ("1",)) -> tuple[str, ...]:
    """Our short notices for the given AIGC Label levels, in every language."""
    return tuple(dict.fromkeys(Notice(lang=lang, level=lv).short for lv in levels for lang in LANGS))  # type: ignore[arg-type]


def _key(text: str) -> str:
    """The first few glyphs: short enough that a coarse scale grid still matches them well."""
    return text.replace(" ", "")[:KEY_CHARS]


def find_image_notice(
    image: Image.Image | str | os.PathLike[str],
    *,
    texts: tuple[str, ...] | None = None,
    min_score: float = DEFAULT_MIN_SCORE,
) -> NoticeMatch | None:
    """The best match of one of our notices, or None when no notice scores ``min_score``.

    ``texts`` defaults to the level-1 notices ("AI生成", "AI-generated" and both) drawn by
    :func:`synthguard.labels.explicit.label_image`; pass ``standard_texts(("1", "2", "3"))`` to look
    for the platform notices too.
    """
    if not isinstance(image, Image.Image):
        with Image.open(image) as opened:
            opened.load()
            image = ImageOps.exif_transpose(opened)
    gray = np.asarray(image.convert("L"), dtype=np.float64)
    height, width = gray.shape
    scale = min(1.0, WORK_SHORT_SIDE / min(height, width))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        resized = Image.fromarray(gray.astype(np.float32), "F").resize(size, Image.Resampling.BOX)
        gray = np.asarray(resized, dtype=np.float64)
    wanted = texts or standard_texts()
    keys = tuple(dict.fromkeys(_key(t) for t in wanted))
    searcher = _Searcher(gray)
    work_short = min(gray.shape)
    # Coarse: the short key templates over text heights ~6 % apart, anywhere in the picture.
    coarse: list[tuple[float, int, int, float, str]] = []
    for key in keys:
        for ratio in HEIGHT_RATIOS:
            px = work_short * ratio
            if px < MIN_TEMPLATE_PX:
                continue
            template = _template(key, px)
            if template.shape[0] > gray.shape[0] or template.shape[1] > gray.shape[1]:
                continue
            score, y, x = searcher.best(template)
            coarse.append((score, x, y, px, key))
    coarse.sort(reverse=True)
    # Fine: each full notice that starts with the key, in 1 % scale steps, near the candidate only.
    hits: list[tuple[float, int, int, int, int, str]] = []
    for key in keys:
        for _score, x, y, px, _key_text in [c for c in coarse if c[4] == key][:REFINE_CANDIDATES]:
            for text in (t for t in wanted if _key(t) == key):
                hit = _refine(gray, text, x, y, px)
                if hit is not None:
                    hits.append(hit)
    if not hits:
        return None
    best = max(hits)
    if best[0] < min_score:
        return None
    # A bilingual label also matches its own halves: report the longest notice that still passes
    # and overlaps the best hit, i.e. the whole label.
    overlapping = [h for h in hits if h[0] >= min_score and _overlap(h, best)]
    score, x, y, tw, th, text = max(overlapping, key=lambda h: (len(h[5]), h[0]))
    inv = 1.0 / scale
    return NoticeMatch(
        box=(round(x * inv), round(y * inv), round(tw * inv), round(th * inv)),
        score=round(score, 4),
        text=text,
    )


def _overlap(a: tuple[float, int, int, int, int, str], b: tuple[float, int, int, int, int, str]) -> bool:
    return a[1] < b[1] + b[3] and b[1] < a[1] + a[3] and a[2] < b[2] + b[4] and b[2] < a[2] + a[4]


def _refine(
    gray: Array, text: str, x: int, y: int, px: float
) -> tuple[float, int, int, int, int, str] | None:
    best: tuple[float, int, int, int, int, str] | None = None
    for step in range(-REFINE_STEPS, REFINE_STEPS + 1):
        template = _template(text, px * (1 + 0.01 * step))
        th, tw = template.shape
        margin = max(4, th // 2)
        x0, y0 = max(0, x - margin), max(0, y - margin)
        crop = gray[y0 : y + th + margin, x0 : x + tw + margin]
        if crop.shape[0] < th or crop.shape[1] < tw:
            continue
        score, dy, dx = _Searcher(crop).best(template)
        if best is None or score > best[0]:
            best = (score, x0 + dx, y0 + dy, tw, th, text)
    return best


@lru_cache(maxsize=1024)
def _template(text: str, px: float) -> Array:
    """The ink of ``text`` at (fractional) text height ``px``, cropped to the glyph box, no plate.

    Drawn once at a large size and resampled, so any fractional scale is available: a long notice
    matched 2 % off scale drifts off its own glyphs by its far end.
    """
    base = _base_template(text)
    factor = px / TEMPLATE_BASE_PX
    size = (max(1, round(base.width * factor)), max(1, round(base.height * factor)))
    return np.asarray(base.resize(size, Image.Resampling.BOX), dtype=np.float64) / 255.0


@lru_cache(maxsize=64)
def _base_template(text: str) -> Image.Image:
    font = _render.fit_font(text, TEMPLATE_BASE_PX)
    left, top, right, bottom = (int(v) for v in font.getbbox(text, anchor="ls"))
    canvas = Image.new("L", (right - left, bottom - top), 0)
    ImageDraw.Draw(canvas).text((-left, -top), text, font=font, fill=255, anchor="ls")
    return canvas


class _Searcher:
    """Zero-mean NCC of many templates against one image (one image FFT, integral images once)."""

    def __init__(self, image: Array) -> None:
        self.image = image
        self.shape = image.shape
        self.spectrum = np.fft.rfft2(image)
        self.sum1 = _integral(image)
        self.sum2 = _integral(image * image)

    def best(self, template: Array) -> tuple[float, int, int]:
        th, tw = template.shape
        height, width = self.shape
        zero_mean = template - template.mean()
        norm = float(np.sqrt((zero_mean * zero_mean).sum()))
        if norm == 0:
            return 0.0, 0, 0
        corr = np.fft.irfft2(self.spectrum * np.conj(np.fft.rfft2(zero_mean, s=self.shape)), s=self.shape)
        corr = corr[: height - th + 1, : width - tw + 1]
        n = th * tw
        s1 = _window(self.sum1, th, tw)
        s2 = _window(self.sum2, th, tw)
        variance = np.maximum(s2 - s1 * s1 / n, 0.0)
        # Flat windows (variance ~ 0) cannot hold text; keep them from dividing by ~0.
        denom = np.sqrt(variance) * norm
        ncc = np.where(variance > n * 4.0, np.abs(corr) / np.maximum(denom, 1e-9), 0.0)
        index = int(np.argmax(ncc))
        y, x = divmod(index, ncc.shape[1])
        return float(ncc[y, x]), y, x


def _integral(a: Array) -> Array:
    out = np.zeros((a.shape[0] + 1, a.shape[1] + 1), dtype=np.float64)
    np.cumsum(np.cumsum(a, axis=0), axis=1, out=out[1:, 1:])
    return out


def _window(integral: Array, th: int, tw: int) -> Array:
    return integral[th:, tw:] - integral[:-th, tw:] - integral[th:, :-tw] + integral[:-th, :-tw]
