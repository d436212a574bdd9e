"""Small helpers the audio/video format modules share when they turn a metadata value into a RawLabel.

A carrier's bytes are decoded leniently (a reader must report a broken value as "inconclusive", not
crash), capped at ``MAX_LABEL_BYTES`` so a hostile file cannot make a reader load gigabytes, and
checked for the ``{"AIGC":{...}}`` wrapper so the verdict can flag it in a named slot.
"""

from __future__ import annotations

import json

from synthguard.labels.model import RawLabel

# A compliant label with SecurityData in both reserved codes is under 10 KB; anything over 1 MiB is
# not a label a reader needs whole: it is reported truncated (and so unparseable, "inconclusive").
MAX_LABEL_BYTES = 1 << 20
SLOT = "AIGC"


def is_wrapped(text: str) -> bool:
    """True when ``text`` is the ``{"AIGC":{...}}`` form rather than the bare seven-key object."""
    try:
        data = json.loads(text.strip().strip("\x00"))
    except (ValueError, RecursionError):
        return False
    return isinstance(data, dict) and set(data) == {SLOT}


def decode_value(value: bytes) -> str:
    """Carrier bytes -> text; trailing NULs (C-string writers) dropped, bad UTF-8 kept visible."""
    return value[:MAX_LABEL_BYTES].rstrip(b"\x00").decode("utf-8", errors="replace")


def raw_label(carrier: str, value: bytes | str, offset: int, *, named_slot: bool = True) -> RawLabel:
    text = decode_value(value) if isinstance(value, bytes) else value.rstrip("\x00")
    return RawLabel(
        carrier=carrier, text=text, offset=offset, wrapped=is_wrapped(text), named_slot=named_slot
    )
