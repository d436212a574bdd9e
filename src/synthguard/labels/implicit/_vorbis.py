"""Vorbis comments (the ``NAME=value`` list FLAC, Ogg Vorbis and Opus share), read and rebuilt.

Layout (Vorbis I spec, section 5): a little-endian 32-bit vendor length and vendor string, a 32-bit
count, then ``count`` entries, each a 32-bit length and ``NAME=value`` in UTF-8. Field names are
case-insensitive ASCII, so ``aigc=`` is the same field as ``AIGC=``; readers report either, writers
remove every copy and add one ``AIGC=`` entry (TC260-PG-202510A, FLAC and OGG).

Entries are kept as raw bytes, so every other comment (including a cover in
``METADATA_BLOCK_PICTURE``) survives byte-for-byte, and whatever follows the list (the Vorbis framing
bit, Opus's binary extension data) is kept as it is.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from synthguard.errors import CorruptFile
from synthguard.labels.implicit._slots import SLOT, raw_label
from synthguard.labels.model import RawLabel

_PREFIX = SLOT.encode() + b"="


@dataclass(frozen=True, slots=True)
class Comments:
    vendor: bytes
    entries: list[tuple[int, bytes]]  # (offset of the entry's length field, entry bytes)
    tail: bytes  # bytes after the last entry


def parse(data: bytes, fmt: str, base: int = 0) -> Comments:
    """A comment list starting at ``data[0]``; ``base`` is its file offset, for error reports."""
    pos = 0

    def take(size: int, what: str) -> bytes:
        nonlocal pos
        if size > len(data) - pos:
            raise CorruptFile(fmt, f"truncated Vorbis comment {what}", offset=base + pos)
        chunk = data[pos : pos + size]
        pos += size
        return chunk

    (vendor_len,) = struct.unpack("<I", take(4, "vendor length"))
    vendor = take(vendor_len, "vendor string")
    (count,) = struct.unpack("<I", take(4, "count"))
    # Each entry needs at least its 4-byte length, which bounds a hostile count.
    if count > (len(data) - pos) // 4:
        raise CorruptFile(fmt, f"Vorbis comment count {count} does not fit the block", offset=base + pos - 4)
    entries: list[tuple[int, bytes]] = []
    for _ in range(count):
        at = pos
        (length,) = struct.unpack("<I", take(4, "entry length"))
        entries.append((at, take(length, "entry")))
    return Comments(vendor, entries, data[pos:])


def is_label_entry(entry: bytes) -> bool:
    return entry[: len(_PREFIX)].upper() == _PREFIX


def labels(comments: Comments, where: str, base: int) -> list[RawLabel]:
    found: list[RawLabel] = []
    for at, entry in comments.entries:
        if is_label_entry(entry):
            name = entry[: len(_PREFIX) - 1].decode("ascii", errors="replace")
            found.append(raw_label(f"{where} {name}=", entry[len(_PREFIX) :], base + at))
    return found


def has_label(comments: Comments) -> bool:
    return any(is_label_entry(entry) for _, entry in comments.entries)


def build(comments: Comments, value: str | None) -> bytes:
    """The list without any AIGC entry, plus ``AIGC=value`` when given; vendor and tail kept."""
    entries = [entry for _, entry in comments.entries if not is_label_entry(entry)]
    if value is not None:
        entries.append(_PREFIX + value.encode("utf-8"))
    out = [struct.pack("<I", len(comments.vendor)), comments.vendor, struct.pack("<I", len(entries))]
    for entry in entries:
        out += [struct.pack("<I", len(entry)), entry]
    out.append(comments.tail)
    return b"".join(out)


def new(vendor: bytes, value: str) -> bytes:
    """A list holding only our entry (for a FLAC file without a VORBIS_COMMENT block)."""
    return build(Comments(vendor, [], b""), value)
