"""Shared helpers of the governance records: field checks, the actor, time helpers.

Every text a member of the public or a staff member types goes through ``text_field`` so that
length limits and control characters are enforced in one place (the console escapes on output;
this keeps stored records sane).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from synthguard.errors import InvalidField

ROLES = ("admin", "reviewer", "auditor")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CONTENT_ID_RE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,64}$")  # the GB 45438 label charset


@dataclass(frozen=True)
class Actor:
    """Who does something: a console user (with role), the CLI operator, or the public."""

    name: str
    role: str = ""


PUBLIC = Actor("public", "public")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def text_field(
    value: str | None, field: str, *, max_chars: int, required: bool = True, multiline: bool = True
) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidField(f"{field} is required", message_zh=f"{field} 为必填项")
    if len(text) > max_chars:
        raise InvalidField(
            f"{field} is {len(text)} characters; at most {max_chars}",
            message_zh=f"{field} 为 {len(text)} 个字符，最多 {max_chars} 个",
        )
    if _CONTROL.search(text) or (not multiline and ("\n" in text or "\r" in text)):
        raise InvalidField(f"{field} contains control characters", message_zh=f"{field} 含有控制字符")
    return text


def choice(value: str | None, field: str, allowed: tuple[str, ...]) -> str:
    text = (value or "").strip()
    if text not in allowed:
        raise InvalidField(
            f"{field} must be one of {', '.join(allowed)} (got {text[:40]!r})",
            message_zh=f"{field} 须为 {'/'.join(allowed)} 之一",
        )
    return text


def content_id_field(value: str | None, *, required: bool = True) -> str:
    text = (value or "").strip()
    if not text and not required:
        return ""
    if not CONTENT_ID_RE.match(text):
        raise InvalidField(
            "content ID must be 1-64 printable ASCII characters without space, quote or backslash "
            "(GB 45438 Annex E)",
            message_zh="内容标识须为 1-64 个可打印 ASCII 字符（不含空格、引号、反斜杠）",
        )
    return text


def id_list(value: str | list[str] | None, field: str, *, max_items: int = 100) -> list[str]:
    """Content or user IDs given as a list or as text separated by commas, spaces or newlines."""
    items = value if isinstance(value, list) else re.split(r"[\s,，]+", value or "")
    out: list[str] = []
    for item in items:
        item = item.strip()
        if not item or item in out:
            continue
        out.append(text_field(item, field, max_chars=128, multiline=False))
    if len(out) > max_items:
        raise InvalidField(f"{field}: at most {max_items} items", message_zh=f"{field} 最多 {max_items} 项")
    return out
