"""Markdown: the ``AIGC`` label as a mapping in the YAML front matter (TC260-PG-20258A, 6.5).

**Carrier.** A front matter block at the very top of the file (after an optional UTF-8 BOM): a
``---`` line, YAML lines, and a closing ``---`` (or ``...``) line, as Jekyll, Hugo, Pandoc and most
static-site tools read it. Our entry is a block mapping with the seven Annex E keys, each value
double-quoted so that YAML keeps ``"1"`` a string::

    ---
    title: Existing keys stay as they are
    AIGC:
      Label: "1"
      ContentProducer: "001191110102MACQD9K64010000"
      ...
    ---

A file without front matter gets a block holding only ``AIGC``; a file with one keeps every other
line byte for byte and gets our entry just before the closing line. Every top-level ``AIGC`` entry
already there is removed first, so one remains. The guide also asks for a visible label in the text:
that is the explicit label's job, not this module's.

**Reading** is deliberately not a YAML parser (PyYAML would be a new runtime dependency and resolves
types we then have to undo): Annex E values are restricted ASCII, so a conservative line reader
covers what writers produce: the block mapping (quoted or plain scalars; a plain ``1`` is a YAML
integer and is reported as one), a flow/JSON mapping ``AIGC: {"Label":"1",...}``, a quoted JSON
string, and a literal block scalar (``AIGC: |``). Anything else in an ``AIGC`` entry is reported
as an unparseable carrier (verdict "inconclusive"), never silently dropped. Only the head of the file
is read: front matter that does not close within 1 MiB is not front matter.

**content_digest rule.** SHA-256 over the file with every ``AIGC`` entry (its key line and indented
continuation lines) removed; when nothing else is left in the front matter, over the body after the
closing line only (so a file without front matter and the same file after we add a block hash the
same). A UTF-8 BOM is excluded in that case. Labelling never changes the digest; editing the body or
any other front-matter line does. TOML front matter (``+++``) is refused on write.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import BinaryIO

from synthguard.errors import CorruptFile, MetadataTooLarge, UnsupportedFormat
from synthguard.labels.implicit import _text
from synthguard.labels.implicit._slots import raw_label
from synthguard.labels.implicit.registry import FormatPlugin, file_size, hash_ranges
from synthguard.labels.model import AIGCLabel, RawLabel

FMT = "Markdown"
CARRIER = "Markdown YAML front matter AIGC"
MAX_FRONT_MATTER = 1 << 20
# A file holds one label; thousands of entries are an attack on the reader, not a file to label.
_MAX_ENTRIES = 1024

_OPEN = re.compile(rb"---[ \t]*(\r\n|\n|\r)")
_TOML_OPEN = re.compile(rb"\+\+\+[ \t]*(\r\n|\n|\r)")
_CLOSE = re.compile(rb"(?:---|\.\.\.)[ \t]*")
_KEY = re.compile(rb"""(["']?)AIGC\1[ \t]*:(?=[ \t]|$)""")
_ITEM = re.compile(r"""[ \t]+(["']?)([A-Za-z0-9_]+)\1[ \t]*:(?:[ \t]+(.*?))?[ \t]*$""")
_DOUBLE = re.compile(r"""^"((?:[^"\\]|\\.)*)"[ \t]*(?:#.*)?$""")
_SINGLE = re.compile(r"""^'((?:[^']|'')*)'[ \t]*(?:#.*)?$""")
_COMMENT = re.compile(r"[ \t]+#.*$")
_INT = re.compile(r"[-+]?\d+")
_BLOCK_SCALAR = re.compile(r"[|>][-+]?")


@dataclass(frozen=True, slots=True)
class _FrontMatter:
    close: int  # first byte of the closing line
    body: int  # first byte after the closing line
    newline: bytes
    entries: list[tuple[int, int, str]]  # (start, end, value text) of each AIGC entry, whole lines
    other: bool  # any line in the front matter besides AIGC entries


def _head(src: BinaryIO) -> tuple[bytes, int]:
    size = file_size(src)
    src.seek(0)
    return src.read(min(size, MAX_FRONT_MATTER + 8)), size


def _scalar(text: str) -> object:
    """A YAML scalar as the JSON value a reader would see (strings, ints, booleans, null)."""
    text = text.strip()
    double = _DOUBLE.match(text)
    if double:
        try:
            return json.loads(f'"{double.group(1)}"')
        except ValueError:
            return double.group(1)
    single = _SINGLE.match(text)
    if single:
        return single.group(1).replace("''", "'")
    text = _COMMENT.sub("", text)
    if text in ("", "~", "null", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE", "false", "False", "FALSE"):
        return text.lower() == "true"
    if _INT.fullmatch(text):
        return int(text)
    return text


def _entry_text(first: str, rest: list[str]) -> str:
    """The value of one ``AIGC:`` entry as JSON text (unparseable forms come back verbatim)."""
    first = first.strip()
    raw = "\n".join([first, *rest]).strip()
    if not first:
        mapping: dict[str, object] = {}
        for line in rest:
            if not line.strip():
                continue
            item = _ITEM.match(line)
            if item is None:
                return raw
            mapping[item.group(2)] = _scalar(item.group(3) or "")
        return json.dumps(mapping, ensure_ascii=False, separators=(",", ":"))
    if first.startswith("{"):
        return " ".join([first, *(line.strip() for line in rest)])
    if first[0] in "\"'":
        value = _scalar(" ".join([first, *(line.strip() for line in rest)]))
        return value if isinstance(value, str) else raw
    if _BLOCK_SCALAR.fullmatch(first):
        return "\n".join(line.strip() for line in rest)
    return raw


def _front_matter(head: bytes, size: int) -> _FrontMatter | None:
    start = _text.bom_length(head)
    opening = _OPEN.match(head, start)
    if opening is None:
        return None
    all_lines = _text.lines(head, opening.end())
    close_index = next(
        (i for i, (s, e, _) in enumerate(all_lines) if _CLOSE.fullmatch(head, s, e)),
        None,
    )
    if close_index is None:
        return None
    close_start, close_content_end, close_end = all_lines[close_index]
    if close_content_end == close_end == len(head) < size:
        return None  # the closing line may go on past what we read, so it is not known to be one
    inner = all_lines[:close_index]
    entries: list[tuple[int, int, str]] = []
    covered = 0
    i = 0
    while i < len(inner):
        s, e, _ = inner[i]
        key = _KEY.match(head, s, e)
        if key is None:
            i += 1
            continue
        if len(entries) >= _MAX_ENTRIES:
            raise CorruptFile(FMT, f"more than {_MAX_ENTRIES} AIGC entries in the front matter", offset=s)
        last = i
        j = i + 1
        while j < len(inner):
            js, je, _ = inner[j]
            content = head[js:je]
            if content.strip() and content[:1] not in (b" ", b"\t"):
                break
            if content.strip():
                last = j
            j += 1
        first = head[key.end() : e].decode("utf-8", errors="replace")
        rest = [head[ls:le].decode("utf-8", errors="replace") for ls, le, _ in inner[i + 1 : last + 1]]
        entries.append((s, inner[last][2], _entry_text(first, rest)))
        covered += last + 1 - i
        i = last + 1
    return _FrontMatter(
        close=close_start,
        body=close_end,
        newline=opening.group(1),
        entries=entries,
        other=covered < len(inner),
    )


def accept(head: bytes) -> bool:
    return _text.accept_text(head)


def read(src: BinaryIO) -> list[RawLabel]:
    head, size = _head(src)
    front = _front_matter(head, size)
    if front is None:
        return []
    return [raw_label(CARRIER, text, start) for start, _, text in front.entries]


def _block(label: AIGCLabel, newline: bytes) -> bytes:
    lines = [b"AIGC:"] + [f'  {key}: "{value}"'.encode("ascii") for key, value in label.to_dict().items()]
    return b"".join(line + newline for line in lines)


def write(src: BinaryIO, dst: BinaryIO, label: AIGCLabel) -> None:
    head, size = _head(src)
    bom = _text.bom_length(head)
    if _TOML_OPEN.match(head, bom):
        raise UnsupportedFormat(
            "Markdown with TOML front matter (+++): synthguard writes the AIGC label into YAML front "
            "matter only",
            message_zh="Markdown 使用 TOML 前置元数据（+++），暂不支持写入隐式标识",
        )
    front = _front_matter(head, size)
    if front is None:
        newline = _text.newline_of(head)
        pieces: list[_text.Piece] = [(0, bom), b"---" + newline + _block(label, newline) + b"---" + newline]
        pieces.append((bom, size - bom))
        _text.splice(src, dst, pieces, FMT)
        return
    block = _block(label, front.newline)
    kept = _text.complement([(s, e) for s, e, _ in front.entries], front.close)
    if sum(length for _, length in kept) + len(block) + len(front.newline) + 3 > MAX_FRONT_MATTER:
        raise MetadataTooLarge("Markdown: the front matter would exceed 1 MiB, which readers stop at")
    pieces = [*kept, block, (front.close, size - front.close)]
    _text.splice(src, dst, pieces, FMT)


def content_digest(src: BinaryIO) -> bytes:
    head, size = _head(src)
    front = _front_matter(head, size)
    if front is None:
        ranges = [(_text.bom_length(head), size - _text.bom_length(head))]
    elif not front.other:
        ranges = [(front.body, size - front.body)]
    else:
        ranges = _text.complement([(s, e) for s, e, _ in front.entries], size)
    return hash_ranges(src, [r for r in ranges if r[1] > 0], FMT)


PLUGIN = FormatPlugin(
    name=FMT,
    extensions=("md", "markdown", "mdown", "mkd", "mdx"),
    mime="text/markdown",
    carrier="YAML front matter mapping AIGC: with the seven keys as quoted strings",
    accept=accept,
    read=read,
    write=write,
    content_digest=content_digest,
    needs_extension=True,
)
