"""Plain text: the ``AIGC`` label as a trailer line ``AIGC: {...}`` at the end of the file.

Neither GB 45438 nor the TC260 text-file guide (TC260-PG-20258A) fixes a metadata slot for plain text:
a ``.txt`` file has none, and for text the explicit label (a notice in the text itself) is what the
standard requires. labels.md leaves the implicit carrier to us, and we choose a last line::

    ...the text as it was
    <blank line>
    AIGC: {"Label":"1","ContentProducer":"...",...}

A trailer line is visible, so it survives what text goes through (copy and paste of the whole text,
editors, version control, mail) where an invisible first-line marker or a BOM trick would be stripped
or mangled; it is at the end, so it does not push the reader's first line down; ``AIGC:`` followed by
the bare JSON object is trivially parseable by any tool (``tail -n 1``). The line is preceded by one
line end (so a text ending in a line end gets a blank separator line) and ends with one; both use the
file's own line-end style (CRLF stays CRLF) and a BOM at the start is untouched.

**Reading** looks only at the tail (64 KiB, more if the carrier lines need it, at most 16 MiB): the
run of lines starting with ``AIGC:`` at the very end of the file, optionally followed by blank lines.
Each is a carrier; a write replaces the whole run with one line. A run of more than 64 such lines is
refused (``CorruptFile``) rather than half cleaned. ``AIGC:`` at the start of a line elsewhere is
text that talks about labels, not a carrier.

**content_digest rule.** SHA-256 over the file up to the trailer: everything before the line end that
precedes the first ``AIGC:`` line of the final run (the whole file when there is none). Appending or
rewriting the label never changes it; any change to the text does.

Hand-written because there is nothing for a library to parse: the slot is a line of bytes at the end
of the file, found with ``rfind`` from the end, so the body is never read.
"""

from __future__ import annotations

from typing import BinaryIO

from synthguard.errors import CorruptFile
from synthguard.labels.implicit import _text
from synthguard.labels.implicit._slots import raw_label
from synthguard.labels.implicit.registry import FormatPlugin, file_size, hash_ranges
from synthguard.labels.model import AIGCLabel, RawLabel

FMT = "Text"
PREFIX = b"AIGC:"
CARRIER = "text trailer line AIGC:"
_TAIL_BYTES = 64 << 10
_MAX_TAIL_BYTES = 16 << 20
# A file holds one label; a longer run is refused rather than half-cleaned.
_MAX_CARRIERS = 64


def _last_newline(data: bytes) -> bytes:
    """The file's line end as its last line shows it; LF when the tail has none."""
    at = max(data.rfind(b"\n"), data.rfind(b"\r"))
    if at < 0:
        return b"\n"
    if data[at] == 0x0A and at > 0 and data[at - 1] == 0x0D:
        return b"\r\n"
    return data[at : at + 1]


def _scan(data: bytes, cut: bool) -> tuple[int, list[tuple[int, int]]] | None:
    """Find the carrier run at the end of ``data`` (the file's tail; ``cut`` when it is not the whole
    file): the region start and each carrier line's (start, end). None: the window is too small.
    """
    end = len(data.rstrip(b" \t\r\n"))  # trailing blank lines belong to the trailer region
    if end == 0 and cut:
        return None
    carriers: list[tuple[int, int]] = []
    while True:
        if len(carriers) > _MAX_CARRIERS:
            raise CorruptFile(FMT, f"the text ends with more than {_MAX_CARRIERS} 'AIGC:' lines")
        newline = max(data.rfind(b"\n", 0, end), data.rfind(b"\r", 0, end))
        if newline < 0 and cut:
            return None  # this line may begin before the window
        if not data.startswith(PREFIX, newline + 1):
            break
        carriers.append((newline + 1, end))
        if newline < 0:
            break
        end = newline - 1 if data[newline - 1 : newline + 1] == b"\r\n" else newline
    if not carriers:
        return len(data), []
    region = carriers[-1][0]
    if data.endswith(b"\r\n", 0, region):
        region -= 2
    elif data.endswith((b"\n", b"\r"), 0, region):
        region -= 1
    return region, carriers[::-1]


def _trailer(src: BinaryIO) -> tuple[int, list[tuple[int, str]], bytes, int]:
    """(start of the trailer region, [(offset, value)] of the carrier lines, line end, file size)."""
    size = file_size(src)
    window = _TAIL_BYTES
    while True:
        start = max(0, size - window)
        src.seek(start)
        data = src.read(size - start)
        found = _scan(data, cut=start > 0)
        if found is not None:
            break
        if window >= _MAX_TAIL_BYTES:
            # A tail of blank lines or one line longer than the limit: no carrier we can delimit.
            return size, [], _last_newline(data), size
        window *= 4
    region, spans = found
    carriers = [
        (start + s, data[s + len(PREFIX) : e].strip().decode("utf-8", errors="replace")) for s, e in spans
    ]
    return start + region, carriers, _last_newline(data), size


def accept(head: bytes) -> bool:
    return _text.accept_text(head)


def read(src: BinaryIO) -> list[RawLabel]:
    _, carriers, _, _ = _trailer(src)
    return [raw_label(CARRIER, value, offset) for offset, value in carriers]


def write(src: BinaryIO, dst: BinaryIO, label: AIGCLabel) -> None:
    region, _, newline, _ = _trailer(src)
    _text.splice(
        src, dst, [(0, region), newline + PREFIX + b" " + label.to_json().encode("ascii") + newline], FMT
    )


def content_digest(src: BinaryIO) -> bytes:
    region, _, _, _ = _trailer(src)
    return hash_ranges(src, [(0, region)], FMT)


PLUGIN = FormatPlugin(
    name=FMT,
    extensions=("txt", "text", "log"),
    mime="text/plain",
    carrier="final line 'AIGC: {json}' after one line end",
    accept=accept,
    read=read,
    write=write,
    content_digest=content_digest,
    needs_extension=True,
)
