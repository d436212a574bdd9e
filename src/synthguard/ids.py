"""Content IDs: 26-character ULIDs (time-ordered, Crockford base32), within Annex E j) and 64 chars.

Hand-written because it is ten lines and the PyPI ULID packages add nothing we need; time order makes
ledger ranges and regulator exports cheap to select.
"""

from __future__ import annotations

import os
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Two characters per 10 bits: 13 lookups for the 130 bits of 26 characters (the top two are zero).
_PAIRS = [high + low for high in _CROCKFORD for low in _CROCKFORD]
_SHIFTS = range(120, -1, -10)


def new_content_id() -> str:
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in _SHIFTS])
