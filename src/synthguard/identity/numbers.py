"""Check digits of Chinese identity numbers, offline.

* Resident identity number, GB 11643-1999: 17 digits + check character (ISO 7064 MOD 11-2).
* Unified social credit code, GB 32100-2015: 17 characters of a 31-symbol set + check character.
* Mainland mobile numbers: 11 digits, ``1[3-9]`` prefix.

These are pure functions: the provider code in ``Settings`` and, later, the real-name registry both
use them. A pass means "well formed", never "this person exists"; that needs a verifier service.
"""

from __future__ import annotations

import datetime as _dt
import re

RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RESIDENT_ID_CHECK = "10X98765432"

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_RESIDENT_ID = re.compile(r"^[0-9]{17}[0-9X]$")


def resident_id_check_char(first17: str) -> str:
    """The check character for the first 17 digits of a resident ID."""
    total = sum(int(c) * w for c, w in zip(first17, RESIDENT_ID_WEIGHTS, strict=True))
    return RESIDENT_ID_CHECK[total % 11]


def is_resident_id(value: str, *, today: _dt.date | None = None) -> bool:
    """True for a well-formed 18-character resident ID: check digit and a real, past birth date."""
    value = value.upper()
    if not _RESIDENT_ID.match(value):
        return False
    if resident_id_check_char(value[:17]) != value[17]:
        return False
    try:
        born = _dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return _dt.date(1900, 1, 1) <= born <= (today or _dt.date.today())


def uscc_check_char(first17: str) -> str:
    """The check character for the first 17 characters of a unified social credit code."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_uscc(value: str) -> bool:
    """True for an 18-character unified social credit code whose check character verifies."""
    if len(value) != 18 or any(c not in USCC_ALPHABET for c in value):
        return False
    return uscc_check_char(value[:17]) == value[17]


def is_mobile(value: str) -> bool:
    return bool(_MOBILE.match(value))


def mask_identity_number(value: str) -> str:
    """``110101199003078515`` -> ``1101**********8515``: enough to recognise, not to reuse."""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]
