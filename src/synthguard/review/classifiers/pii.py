"""Chinese personal information in text: resident ID numbers, mobile numbers, bank cards.

TC260-003 risk A.4.f (personal-information rights) and PIPL: a provider must not leak personal
information in outputs. Presidio ships no Chinese recognizers (shared/research/gateway.md §4), so
this is regex + check digits: a resident ID must pass GB 11643 (``synthguard.identity.numbers``), a
bank card the Luhn check, a mobile number the ``1[3-9]`` prefix; none may be glued to more digits.
"""

from __future__ import annotations

import re

from synthguard.identity.numbers import is_mobile, is_resident_id
from synthguard.review.classifiers.base import Content, Score

RISK = "A.4.f"
_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])[1-9][0-9]{16}[0-9Xx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9])(?:\+?86[ -]?)?(1[3-9][0-9])[ -]?([0-9]{4})[ -]?([0-9]{4})(?![0-9])")
_CARD = re.compile(r"(?<![0-9Xx])(?:[0-9][ -]?){15,18}[0-9](?![0-9Xx])")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


class ChinesePII:
    name = "pii_cn"
    modalities = frozenset({"text"})

    def classify(self, content: Content) -> list[Score]:
        return find_pii(content.text)


def find_pii(text: str) -> list[Score]:
    scores: list[Score] = []
    taken: list[tuple[int, int]] = []
    for m in _RESIDENT_ID.finditer(text):
        if is_resident_id(m.group(0)):
            scores.append(Score(RISK, 1.0, "resident_id", "pii_cn", m.start(), m.end()))
            taken.append(m.span())
    for m in _MOBILE.finditer(text):
        if is_mobile("".join(m.groups())) and not _inside(m.span(), taken):
            scores.append(Score(RISK, 1.0, "mobile", "pii_cn", m.start(), m.end()))
            taken.append(m.span())
    for m in _CARD.finditer(text):
        digits = re.sub(r"[ -]", "", m.group(0))
        if 16 <= len(digits) <= 19 and luhn_ok(digits) and not _inside(m.span(), taken):
            scores.append(Score(RISK, 1.0, "bank_card", "pii_cn", m.start(), m.end()))
    return sorted(scores, key=lambda s: s.start or 0)


def _inside(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in taken)
