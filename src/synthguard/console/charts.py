"""Inline SVG charts drawn on the server (no chart library, no CDN, nothing for a browser to fetch).

Two shapes cover the dashboard: vertical bars over days or buckets, and horizontal bars of rates.
A chart library would be a JavaScript dependency to vendor and audit for two bar charts; the SVG
here is a few dozen elements, and every label passes through ``html.escape``.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup


def bars(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int], str]],
    *,
    title: str,
    width: int = 560,
    height: int = 180,
) -> Markup:
    """Grouped vertical bars: ``series`` is (name, values, colour) per group member."""
    pad_l, pad_b, pad_t = 34, 34, 22
    inner_w, inner_h = width - pad_l - 8, height - pad_b - pad_t
    top = max([1, *(v for _, values, _ in series for v in values)])
    slot = inner_w / max(1, len(labels))
    bar_w = max(1.0, slot * 0.8 / max(1, len(series)))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" class="chart"><title>{escape(title)}</title>',
        f'<text x="{pad_l}" y="14" font-size="12">{escape(title)}</text>',
        f'<line x1="{pad_l}" y1="{pad_t + inner_h}" x2="{width - 8}" y2="{pad_t + inner_h}" stroke="#888"/>',
        f'<text x="{pad_l - 4}" y="{pad_t + 8}" font-size="10" text-anchor="end">{top}</text>',
        f'<text x="{pad_l - 4}" y="{pad_t + inner_h}" font-size="10" text-anchor="end">0</text>',
    ]
    for i, label in enumerate(labels):
        x0 = pad_l + i * slot + slot * 0.1
        for j, (name, values, colour) in enumerate(series):
            value = values[i] if i < len(values) else 0
            h = inner_h * value / top
            x = x0 + j * bar_w
            parts.append(
                f'<rect x="{x:.1f}" y="{pad_t + inner_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{escape(colour)}"><title>{escape(label)} {escape(name)}: {value}</title></rect>'
            )
        if len(labels) <= 8 or i % 2 == 0:
            parts.append(
                f'<text x="{x0 + slot * 0.4:.1f}" y="{height - pad_b + 14}" font-size="9" '
                f'text-anchor="middle">{escape(label[-5:])}</text>'
            )
    for j, (name, _, colour) in enumerate(series):
        x = pad_l + j * 120
        parts.append(f'<rect x="{x}" y="{height - 12}" width="10" height="10" fill="{escape(colour)}"/>')
        parts.append(f'<text x="{x + 14}" y="{height - 3}" font-size="10">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def rates(rows: Sequence[tuple[str, float, str]], *, title: str, width: int = 560) -> Markup:
    """Horizontal bars of fractions 0..1 with a text label: (label, rate, caption)."""
    row_h, pad_l, pad_t = 20, 150, 22
    height = pad_t + row_h * max(1, len(rows)) + 6
    inner_w = width - pad_l - 70
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" class="chart"><title>{escape(title)}</title>',
        f'<text x="4" y="14" font-size="12">{escape(title)}</text>',
    ]
    if not rows:
        parts.append(f'<text x="4" y="{pad_t + 14}" font-size="11">—</text>')
    for i, (label, rate, caption) in enumerate(rows):
        y = pad_t + i * row_h
        w = inner_w * max(0.0, min(1.0, rate))
        parts.append(
            f'<text x="{pad_l - 6}" y="{y + 13}" font-size="11" text-anchor="end">{escape(label)}</text>'
        )
        parts.append(f'<rect x="{pad_l}" y="{y + 3}" width="{inner_w}" height="13" fill="#e6e9ef"/>')
        parts.append(f'<rect x="{pad_l}" y="{y + 3}" width="{w:.1f}" height="13" fill="#b3261e"/>')
        parts.append(f'<text x="{pad_l + inner_w + 6}" y="{y + 13}" font-size="11">{escape(caption)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
