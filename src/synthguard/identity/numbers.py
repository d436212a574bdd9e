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


# GB/T 2260 province-level codes (the first two digits of a resident ID). 71 (Taiwan), 81/82
# (Hong Kong/Macau) and 83 (Taiwan residents' residence permits, 830000) are issued in the same
# 18-character format since 2018; 9x is the 2023 foreigners' permanent residence ID.
_NORTH_EAST_EAST = (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37)
_CENTRE_SOUTH_WEST = (41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71)
PROVINCES = frozenset(str(code) for code in (*_NORTH_EAST_EAST, *_CENTRE_SOUTH_WEST))
PERMIT_PREFIXES = ("810000", "820000", "830000")
MIN_AGE_YEARS = 0
MAX_AGE_YEARS = 130


def document_type(value: str) -> str:
    """``ric`` (resident ID), ``hk_mo_tw_permit``, ``foreign_pr`` or ``uscc``/``unknown`` by shape."""
    value = value.strip().upper()
    if len(value) == 18 and value[:6] in PERMIT_PREFIXES:
        return "hk_mo_tw_permit"
    if len(value) == 18 and value[:1] == "9" and value[:17].isdigit():
        return "foreign_pr"
    if _RESIDENT_ID.match(value):
        return "ric"
    if len(value) == 18 and all(c in USCC_ALPHABET for c in value):
        return "uscc"
    return "unknown"


def identity_number_problem(value: str, *, today: _dt.date | None = None) -> str:
    """Why an 18-character personal ID number is not acceptable, or ``""`` when it is.

    Covers the resident ID, the Hong Kong/Macau/Taiwan residence permit and the foreigners'
    permanent residence ID: shape, check character (all three use the GB 11643 MOD 11-2), region
    sanity, a real birth date not in the future and within a human age.
    """
    value = value.strip().upper()
    if not _RESIDENT_ID.match(value):
        return "must be 17 digits followed by a digit or X"
    if resident_id_check_char(value[:17]) != value[17]:
        return "check character does not match (GB 11643 MOD 11-2)"
    kind = document_type(value)
    if kind == "ric" and value[:2] not in PROVINCES:
        return f"region code {value[:6]} is not a GB/T 2260 province"
    try:
        born = _dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return f"birth date {value[6:14]} is not a calendar date"
    today = today or _dt.date.today()
    if born > today:
        return f"birth date {born.isoformat()} is in the future"
    if today.year - born.year > MAX_AGE_YEARS:
        return f"birth date {born.isoformat()} is more than {MAX_AGE_YEARS} years ago"
    return ""


def birth_date(value: str) -> _dt.date:
    """The birth date field of a checked ID number."""
    value = value.strip()
    return _dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def mask_mobile(value: str) -> str:
    """``13812345678`` -> ``138****5678``, the form Chinese services show."""
    return value[:3] + "*" * max(0, len(value) - 7) + value[-4:] if len(value) > 7 else "*" * len(value)
