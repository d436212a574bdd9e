"""What the JPEG, PNG, WebP and GIF plugins share: splicing a new file from ranges of the old one,
recognising the TC260-PG-20259A App. B wrapper forms, removing ``TC260:AIGC`` from an extra XMP
packet, and finding/blanking an EXIF ``UserComment`` (tag 0x9286) that carries the label.

Every image plugin writes the same way: parse the container's headers into a list of pieces (a
``(start, length)`` range of the source or new ``bytes``) and hand them to :func:`splice`, which copies
the ranges in big chunks with :func:`registry.copy_range`. Pixel data is never held in memory.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable
from typing import BinaryIO

from synthguard.errors import CorruptFile
from synthguard.labels.implicit._xmp import PROPERTY, find_values
from synthguard.labels.implicit.registry import copy_range

Piece = tuple[int, int] | bytes

# A metadata value we hold in memory is bounded: XMP and text chunks of real files are kilobytes, and
# a hostile length field must not make us allocate gigabytes.
MAX_METADATA_BYTES = 16 << 20

_XPACKET_BEGIN = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
_XPACKET_END = '<?xpacket end="w"?>'


def splice(src: BinaryIO, dst: BinaryIO, pieces: Iterable[Piece], fmt: str) -> int:
    """Write ``pieces`` to ``dst`` in order; adjacent source ranges become one copy. Returns bytes written."""
    written = 0
    run_start = -1
    run_length = 0
    for piece in pieces:
        if isinstance(piece, bytes):
            if run_length:
                copy_range(src, dst, run_start, run_length, fmt)
                written += run_length
                run_length = 0
            dst.write(piece)
            written += len(piece)
            continue
        start, length = piece
        if length <= 0:
            continue
        if run_length and run_start + run_length == start:
            run_length += length
            continue
        if run_length:
            copy_range(src, dst, run_start, run_length, fmt)
            written += run_length
        run_start, run_length = start, length
    if run_length:
        copy_range(src, dst, run_start, run_length, fmt)
        written += run_length
    return written


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Coalesce touching ``(start, length)`` ranges so hashing makes few large reads."""
    merged: list[tuple[int, int]] = []
    for start, length in ranges:
        if length <= 0:
            continue
        if merged and merged[-1][0] + merged[-1][1] == start:
            merged[-1] = (merged[-1][0], merged[-1][1] + length)
        else:
            merged.append((start, length))
    return merged


def is_wrapped(text: str) -> bool:
    """True when ``text`` is the App. B ``{"AIGC": {...}}`` wrapper rather than the bare object."""
    try:
        data = json.loads(text.strip().strip("\x00"))
    except (ValueError, RecursionError):
        return text.lstrip().startswith('{"AIGC"')
    return isinstance(data, dict) and set(data) == {"AIGC"}


def looks_like_label(text: str) -> bool:
    """Whether free text in an unnamed slot (UserComment, a comment) is meant as an AIGC value.

    Unnamed slots hold anything (camera notes, prompts), so only a JSON object that names the
    ``AIGC`` wrapper or the Annex E producer key counts; a broken one still counts, so the detector
    can call it inconclusive instead of missing it.
    """
    body = text.strip().strip("\x00").strip()
    return body.startswith("{") and ('"AIGC"' in body or '"ContentProducer"' in body)


def xmp_values(packet: bytes, fmt: str) -> list[str]:
    """The ``TC260:AIGC`` values of a packet, for readers.

    A packet that is not well-formed XML but mentions ``AIGC`` is returned whole as one value, so
    the detector reports an unparseable carrier (inconclusive) instead of the read failing; a
    write still refuses such a packet, since it cannot be merged safely.
    """
    try:
        return find_values(packet, fmt)
    except CorruptFile:
        if PROPERTY.encode() not in packet:
            return []
        return [packet.decode("utf-8", errors="replace")]


# --- EXIF UserComment (TC260-PG-20259A App. B) -----------------------------------------------------

_USER_COMMENT = 0x9286
_EXIF_IFD_POINTER = 0x8769
_MAX_IFD_ENTRIES = 4096
# JEITA CP-3451 8-byte character-code prefixes of UserComment.
_UNICODE_PREFIX = b"UNICODE\x00"
# What looks_like_label() keys on, as ASCII/UTF-8 and as UTF-16 in either byte order.
_LABEL_MARKERS = tuple(
    word.encode(codec)
    for word in ("AIGC", "ContentProducer")
    for codec in ("ascii", "utf-16-le", "utf-16-be")
)


def _decode_user_comment(value: bytes, big_endian: bool) -> str:
    prefix, body = value[:8], value[8:]
    if prefix == _UNICODE_PREFIX:
        if body[:2] in (b"\xff\xfe", b"\xfe\xff"):
            return body.decode("utf-16", errors="replace")
        return body.decode("utf-16-be" if big_endian else "utf-16-le", errors="replace")
    # ASCII, undefined (eight NULs) and what writers in the wild put there: UTF-8 is a superset.
    return body.decode("utf-8", errors="replace")


def exif_label_comments(tiff: bytes) -> list[tuple[int, int, str]]:
    """``(offset, length, text)`` of every UserComment in ``tiff`` that carries an AIGC value.

    ``tiff`` is the TIFF structure of an EXIF block (after ``Exif\\0\\0`` in JPEG). Only IFD0 and the
    Exif IFD are visited, each once, with every offset bounds-checked: EXIF in the wild is often
    damaged, and a damaged EXIF block is no reason to refuse the whole image, so structural problems
    here mean "no label found in EXIF", never an exception.
    """
    if len(tiff) < 8 or not any(marker in tiff for marker in _LABEL_MARKERS):
        return []  # the common case, decided without walking any IFD
    order = tiff[:4]
    if order == b"II*\x00":
        big_endian = False
    elif order == b"MM\x00*":
        big_endian = True
    else:
        return []
    e = ">" if big_endian else "<"
    found: list[tuple[int, int, str]] = []
    visited: set[int] = set()
    (ifd,) = struct.unpack_from(e + "I", tiff, 4)
    queue = [ifd]
    while queue:
        ifd = queue.pop(0)
        if ifd in visited or ifd < 8 or ifd + 2 > len(tiff):
            continue
        visited.add(ifd)
        (count,) = struct.unpack_from(e + "H", tiff, ifd)
        if count > _MAX_IFD_ENTRIES or ifd + 2 + 12 * count > len(tiff):
            continue
        for index in range(count):
            entry = ifd + 2 + 12 * index
            tag, kind, n = struct.unpack_from(e + "HHI", tiff, entry)
            if tag == _EXIF_IFD_POINTER and kind in (4, 13) and n == 1 and len(visited) < 2:
                queue.append(struct.unpack_from(e + "I", tiff, entry + 8)[0])
            elif tag == _USER_COMMENT and kind in (1, 2, 7) and n > 8:  # 7 by the book; 1 and 2 seen
                (offset,) = struct.unpack_from(e + "I", tiff, entry + 8)
                if offset + n > len(tiff):
                    continue
                text = _decode_user_comment(tiff[offset : offset + n], big_endian)
                if looks_like_label(text):
                    found.append((offset, n, text.strip().strip("\x00").strip()))
    return found


def blank(data: bytes, ranges: Iterable[tuple[int, int]]) -> bytes:
    """``data`` with each ``(offset, length)`` range zeroed: same size, so no EXIF offset moves.

    An all-zero UserComment is the "undefined" character code with no text, i.e. an empty comment,
    which every EXIF reader accepts.
    """
    out = bytearray(data)
    for offset, length in ranges:
        out[offset : offset + length] = bytes(length)
    return bytes(out)
