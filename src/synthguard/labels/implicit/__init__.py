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
    digest_opened,
    identify_path,
    open_source,
    read_label,
    read_raw,
    source_mode,
    stage_opened,
    write_label,
    write_opened,
)
from synthguard.labels.implicit.registry import (
    CONTENT_DIGESTS,
    FormatPlugin,
    by_name,
    digest_algorithm,
    identify,
    plugins,
)
from synthguard.labels.implicit.verdict import evaluate

__all__ = [
    "CONTENT_DIGESTS",
    "FormatPlugin",
    "Staged",
    "atomic_write",
    "by_name",
    "content_digest",
    "digest_algorithm",
    "digest_opened",
    "evaluate",
    "identify",
    "identify_path",
    "open_source",
    "plugins",
    "read_label",
    "read_raw",
    "source_mode",
    "stage_opened",
    "write_label",
    "write_opened",
]
