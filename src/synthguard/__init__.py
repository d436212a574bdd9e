"""synthguard: GB 45438 labels, watermarks, review and evidence for deep synthesis services."""

from synthguard.errors import SynthguardError

__version__ = "0.1.0"

__all__ = ["SynthguardError", "__version__"]
