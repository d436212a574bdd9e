"""Implicit labels: the GB 45438-2025 ``AIGC`` metadata field in every common file format.

``read_label(path)`` returns a :class:`LabelFinding` (verdict + label + reasons); ``write_label(path,
label)`` writes exactly one label into the format's carrier (TC260 practice guides 2025-08) without
touching pixels or samples; ``content_digest(path)`` hashes the content bytes outside metadata, which
is what producer and propagator signatures bind to.
"""

from synthguard.labels.implicit.files import (
    Staged,
    atomic_write,
    content_digest,
    identify_path,
    open_source,
    read_label,
    read_raw,
    stage_opened,
    write_label,
    write_opened,
)
from synthguard.labels.implicit.registry import FormatPlugin, by_name, identify, plugins
from synthguard.labels.implicit.verdict import evaluate

__all__ = [
    "FormatPlugin",
    "Staged",
    "atomic_write",
    "by_name",
    "content_digest",
    "evaluate",
    "identify",
    "identify_path",
    "open_source",
    "plugins",
    "read_label",
    "read_raw",
    "stage_opened",
    "write_label",
    "write_opened",
]
