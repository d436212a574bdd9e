"""Content IDs: 26-character ULIDs (time-ordered, Crockford base32), within Annex E j) and 64 chars.

Hand-written because it is ten lines and the PyPI ULID packages add nothing we need; time order makes
ledger ranges and regulator exports cheap to select.
"""

from __future__ import annotations

import os
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_content_id() -> str:
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))
