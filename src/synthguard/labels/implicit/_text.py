"""What the text-file plugins (``markdown``, ``html``, ``text``) share: sniffing, BOM, line ends.

Text has no magic number, so all three accept any head that is UTF-8 text and the file extension
decides among them (``registry.identify``). They edit bytes, never decoded text, so a file's UTF-8 BOM,
its CRLF line ends and any bytes we do not touch come out exactly as they went in.
"""

from __future__ import annotations

import codecs
import re
from typing import BinaryIO

from synthguard.errors import CorruptFile
from synthguard.labels.implicit.registry import HEAD_BYTES, copy_range

BOM = b"\xef\xbb\xbf"
# C0 controls other than tab, LF, VT, FF, CR and ESC (terminal colours in logs) do not occur in text.
_BINARY_CONTROLS = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
_LINE = re.compile(rb"([^\r\n]*)(\r\n|\n|\r)?")

Piece = tuple[int, int] | bytes


def accept_text(head: bytes) -> bool:
    """True for a head that is UTF-8 text.

    A multi-byte character cut off at the end is fine only when the head is cut (a full
    ``HEAD_BYTES``); a shorter head is the whole file and must decode completely.
    """
    if _BINARY_CONTROLS.search(head):
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < HEAD_BYTES)
    except UnicodeDecodeError:
        return False
    return True


def bom_length(data: bytes) -> int:
    return len(BOM) if data.startswith(BOM) else 0


def newline_of(data: bytes, default: bytes = b"\n") -> bytes:
    """The line end ``data`` uses (its first one), so inserted lines match the file."""
    match = re.search(rb"\r\n|\n|\r", data)
    return match.group() if match else default


def lines(data: bytes, start: int = 0, stop: int | None = None) -> list[tuple[int, int, int]]:
    """``(start, end of content, end with line end)`` for each line of ``data[start:stop]``."""
    stop = len(data) if stop is None else stop
    found: list[tuple[int, int, int]] = []
    pos = start
    while pos < stop:
        match = _LINE.match(data, pos, stop)
        assert match is not None  # the pattern matches the empty string
        if match.end() == pos:
            break
        found.append((pos, pos + len(match.group(1)), match.end()))
        pos = match.end()
    return found


def output_head(src: BinaryIO, pieces: list[Piece]) -> bytes:
    """The first ``HEAD_BYTES`` of what ``splice(pieces)`` would write."""
    head = b""
    for piece in pieces:
        if len(head) >= HEAD_BYTES:
            break
        if isinstance(piece, bytes):
            head += piece
        else:
            src.seek(piece[0])
            head += src.read(min(piece[1], HEAD_BYTES - len(head)))
    return head[:HEAD_BYTES]


def ensure_text(head: bytes, fmt: str) -> None:
    """Refuse a write whose result would no longer be recognised as text.

    Removing an old carrier can pull bytes from further down (a NUL, a broken UTF-8 sequence) into
    the head that identifies the file; writing it would leave a file synthguard cannot read back.
    """
    if not accept_text(head):
        raise CorruptFile(fmt, "the file holds bytes that are not UTF-8 text (NUL, control or invalid)")


def splice(src: BinaryIO, dst: BinaryIO, pieces: list[Piece], fmt: str) -> None:
    """Write ``pieces`` in order: ``(start, length)`` ranges copied from ``src``, or new bytes."""
    ensure_text(output_head(src, pieces), fmt)
    for piece in pieces:
        if isinstance(piece, bytes):
            dst.write(piece)
        elif piece[1] > 0:
            copy_range(src, dst, piece[0], piece[1], fmt)


def complement(spans: list[tuple[int, int]], size: int, start: int = 0) -> list[tuple[int, int]]:
    """The ``(start, length)`` ranges of ``[start, size)`` outside the sorted ``(start, end)`` spans."""
    ranges: list[tuple[int, int]] = []
    pos = start
    for span_start, span_end in sorted(spans):
        if span_start > pos:
            ranges.append((pos, span_start - pos))
        pos = max(pos, span_end)
    if pos < size:
        ranges.append((pos, size - pos))
    return ranges
