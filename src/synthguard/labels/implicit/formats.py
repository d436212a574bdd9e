"""The ordered list of format plugins. Adding a format is adding one module and one line here.

Order matters only where magic bytes overlap: binary formats with fixed magic first, the text
formats (which accept any UTF-8 head) last, where the extension decides among them.
"""

from __future__ import annotations

from synthguard.labels.implicit.registry import FormatPlugin

PLUGINS: tuple[FormatPlugin, ...] = ()
