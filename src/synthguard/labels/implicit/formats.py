"""The ordered list of format plugins. Adding a format is adding one module and one line here.

Order matters only where magic bytes overlap: binary formats with fixed magic first, the text
formats (which accept any UTF-8 head) last, where the extension decides among them.
"""

from __future__ import annotations

from synthguard.labels.implicit import (
    avi,
    flac,
    flv,
    gif,
    heif,
    html,
    jpeg,
    markdown,
    mkv,
    mp3,
    mp4,
    ogg,
    ooxml,
    pdf,
    png,
    text,
    tiff,
    wav,
    webp,
)
from synthguard.labels.implicit.registry import FormatPlugin

PLUGINS: tuple[FormatPlugin, ...] = (
    jpeg.PLUGIN,
    png.PLUGIN,
    webp.PLUGIN,
    gif.PLUGIN,
    tiff.PLUGIN,
    heif.PLUGIN,  # before MP4: both are ISOBMFF, the ftyp brands tell HEIF images apart
    mp4.PLUGIN,
    wav.PLUGIN,
    avi.PLUGIN,
    mkv.PLUGIN,
    flv.PLUGIN,
    ogg.PLUGIN,
    mp3.PLUGIN,  # before FLAC: both accept an ID3v2 head, an unknown extension means MP3
    flac.PLUGIN,
    pdf.PLUGIN,
    ooxml.PLUGIN,
    # Text formats accept any UTF-8 head; plain text first, so an unknown extension means text.
    text.PLUGIN,
    markdown.PLUGIN,
    html.PLUGIN,
)
