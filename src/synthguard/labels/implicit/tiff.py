"""TIFF implicit labels: ``TC260:AIGC`` in the XMP packet of IFD0 tag 700 (XMLPacket).

TC260-PG-20259A (image files) puts the label for TIFF in XMP, stored the way the XMP specification
(part 3) stores it in TIFF: IFD0 tag 700, field type 7 (UNDEFINED); type 1 (BYTE), which older
writers use, is accepted on read. Both byte orders (``II``/``MM``) and BigTIFF (``II+``) are read
and written.

Reading walks the IFD chain with seeks and reports every carrier: tag 700 in IFD0 (the named slot)
and in later pages, plus the unnamed slots seen in the wild (TC260-PG-20259A App. B): an EXIF
``UserComment`` or an ``ImageDescription`` whose whole value is the ``{"AIGC":{...}}`` wrapper.

Writing never moves a byte that something points at. The new XMP packet (merged into the existing
one, other properties kept) and a rewritten IFD0 (tag 700 added or replaced, entries sorted by tag)
are appended at the end, and the header's first-IFD offset is patched; strip and tile offsets stay
valid because the image data does not move. A wrapper ``UserComment`` is dropped by appending a
rewritten EXIF IFD. The old packet's bytes are zeroed (no stale copy survives), and when the old
IFD0 and packet form the file's tail (as after our previous write) they are cut off first, so
labeling the same file again does not grow it.

``content_digest`` is SHA-256 over, for every image IFD (the IFD chain and SubIFDs, in order): the
decoded values of the tags that shape the pixels (size, bits and samples per pixel, compression,
photometric, planar configuration, predictor, strip/tile geometry, colour map, sample format,
JPEG tables, YCbCr settings), then a SHA-256 of the strip or tile data ranges (StripOffsets/
StripByteCounts or TileOffsets/TileByteCounts). Offsets themselves, XMP, EXIF and every other tag
are left out, so writing a label, or rewriting the IFDs elsewhere, never changes it.

Hand-written because Pillow rewrites the whole image (re-encoding compressed strips) when saving
and tifffile's in-place tag edit cannot add a tag that is not already there.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import BinaryIO

from synthguard.errors import CorruptFile, MetadataTooLarge
from synthguard.labels.implicit import _xmp
from synthguard.labels.implicit.registry import (
    FormatPlugin,
    content_hasher,
    copy_range,
    file_size,
    hash_ranges,
    read_exact,
)
from synthguard.labels.model import AIGCLabel, RawLabel

FMT = "TIFF"
XMP_TAG = 700
DESCRIPTION_TAG = 270
EXIF_IFD_TAG = 34665
GPS_IFD_TAG = 34853
INTEROP_IFD_TAG = 40965
SUBIFDS_TAG = 330
USER_COMMENT_TAG = 37510
STRIP_OFFSETS, STRIP_BYTE_COUNTS = 273, 279
TILE_OFFSETS, TILE_BYTE_COUNTS = 324, 325
JPEG_IF_OFFSET, JPEG_IF_LENGTH = 513, 514
UNDEFINED = 7
MAX_IFDS = 4096
MAX_ENTRIES = 1 << 16
VALUE_LIMIT = 64 << 20
# Tags whose values decide how strip/tile bytes turn into pixels.
SHAPE_TAGS = (
    256,
    257,
    258,
    259,
    262,
    266,
    277,
    278,
    284,
    317,
    320,
    322,
    323,
    338,
    339,
    347,
    529,
    530,
    531,
    532,
)
_TYPE_SIZES = {
    1: 1,
    2: 1,
    3: 2,
    4: 4,
    5: 8,
    6: 1,
    7: 1,
    8: 2,
    9: 4,
    10: 8,
    11: 4,
    12: 8,
    13: 4,
    16: 8,
    17: 8,
    18: 8,
}
_INT_CODES = {1: "B", 3: "H", 4: "I", 6: "b", 8: "h", 9: "i", 13: "I", 16: "Q", 17: "q", 18: "Q"}
_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def accept(head: bytes) -> bool:
    return head[:4] in _MAGIC


@dataclass(frozen=True, slots=True)
class Entry:
    tag: int
    type: int
    count: int
    field: bytes  # the raw value/offset field (4 bytes, 8 in BigTIFF)


@dataclass(slots=True)
class Ifd:
    offset: int
    entries: list[Entry]
    next_offset: int
    table_size: int

    def get(self, tag: int) -> Entry | None:
        return next((e for e in self.entries if e.tag == tag), None)


@dataclass(slots=True)
class Tiff:
    """One TIFF file's structure, read with seeks (values are fetched on demand)."""

    src: BinaryIO
    order: str
    big: bool
    eof: int
    first_offset: int
    chain: list[Ifd] = field(default_factory=list)

    @property
    def inline(self) -> int:
        return 8 if self.big else 4

    @property
    def offset_code(self) -> str:
        return "Q" if self.big else "I"

    def unpack(self, code: str, data: bytes, at: int = 0) -> tuple[int, ...]:
        try:
            return struct.unpack_from(self.order + code, data, at)
        except struct.error as exc:
            raise CorruptFile(FMT, f"truncated field: {exc}") from exc

    def value_range(self, entry: Entry) -> tuple[int, int] | None:
        """``(offset, size)`` of an out-of-line value, None when it sits in the entry itself."""
        size = _TYPE_SIZES.get(entry.type, 1) * entry.count
        if size <= self.inline:
            return None
        (offset,) = self.unpack(self.offset_code, entry.field)
        if offset + size > self.eof:
            raise CorruptFile(FMT, f"tag {entry.tag} value runs past the end of the file", offset=offset)
        return offset, size

    def value(self, entry: Entry, limit: int = VALUE_LIMIT) -> bytes:
        size = _TYPE_SIZES.get(entry.type, 1) * entry.count
        where = self.value_range(entry)
        if where is None:
            return entry.field[:size]
        if size > limit:
            raise CorruptFile(FMT, f"tag {entry.tag} value of {size} bytes exceeds {limit}")
        self.src.seek(where[0])
        return read_exact(self.src, size, FMT, f"tag {entry.tag} value")

    def ints(self, entry: Entry) -> tuple[int, ...]:
        code = _INT_CODES.get(entry.type)
        if code is None:
            raise CorruptFile(FMT, f"tag {entry.tag} has type {entry.type}, expected an integer type")
        return self.unpack(f"{entry.count}{code}", self.value(entry))

    def read_ifd(self, offset: int) -> Ifd:
        count_size, entry_size = (8, 20) if self.big else (2, 12)
        if offset < 8 or offset + count_size > self.eof:
            raise CorruptFile(FMT, "IFD offset points outside the file", offset=offset)
        self.src.seek(offset)
        (count,) = self.unpack("Q" if self.big else "H", read_exact(self.src, count_size, FMT, "IFD count"))
        table = count_size + count * entry_size + self.inline
        if count > MAX_ENTRIES or offset + table > self.eof:
            raise CorruptFile(FMT, f"IFD of {count} entries runs past the end of the file", offset=offset)
        data = read_exact(self.src, table - count_size, FMT, "IFD entries")
        entries = []
        head = "HHQ" if self.big else "HHI"
        for i in range(count):
            at = i * entry_size
            tag, kind, n = self.unpack(head, data, at)
            entries.append(Entry(tag, kind, n, data[at + entry_size - self.inline : at + entry_size]))
        (next_offset,) = self.unpack(self.offset_code, data, count * entry_size)
        return Ifd(offset, entries, next_offset, table)

    def sub_ifd(self, ifd: Ifd, tag: int) -> list[Ifd]:
        entry = ifd.get(tag)
        if entry is None or entry.type not in (4, 13, 16, 18) or entry.count > MAX_IFDS:
            return []
        return [self.read_ifd(offset) for offset in self.ints(entry) if offset]


def open_tiff(src: BinaryIO) -> Tiff:
    eof = file_size(src)
    src.seek(0)
    head = src.read(16)
    if head[:4] not in _MAGIC:
        raise CorruptFile(FMT, "not a TIFF header", offset=0)
    order = "<" if head[:2] == b"II" else ">"
    big = head[2:4] in (b"+\x00", b"\x00+")
    if big:
        if len(head) < 16:
            raise CorruptFile(FMT, "truncated BigTIFF header", offset=0)
        size, _, first = struct.unpack(order + "HHQ", head[4:16])
        if size != 8:
            raise CorruptFile(FMT, f"BigTIFF offset size {size}, expected 8", offset=4)
    else:
        if len(head) < 8:
            raise CorruptFile(FMT, "truncated TIFF header", offset=0)
        (first,) = struct.unpack(order + "I", head[4:8])
    tiff = Tiff(src, order, big, eof, first)
    seen: set[int] = set()
    offset = first
    while offset:
        if offset in seen:
            raise CorruptFile(FMT, "the IFD chain loops back on itself", offset=offset)
        if len(seen) >= MAX_IFDS:
            raise CorruptFile(FMT, f"more than {MAX_IFDS} IFDs")
        seen.add(offset)
        ifd = tiff.read_ifd(offset)
        tiff.chain.append(ifd)
        offset = ifd.next_offset
    if not tiff.chain:
        raise CorruptFile(FMT, "the file has no IFD", offset=4)
    return tiff


# --- reading -------------------------------------------------------------------------------------


def _is_wrapped(text: str) -> bool:
    from synthguard.labels.implicit._isobmff import is_wrapped

    return is_wrapped(text)


def _user_comment(data: bytes, order: str) -> str:
    """EXIF UserComment: an 8-byte character code, then the text."""
    code, body = data[:8], data[8:]
    if code == b"UNICODE\x00":
        if body[:2] in (b"\xff\xfe", b"\xfe\xff"):
            return body.decode("utf-16", "replace").rstrip("\x00")
        return body.decode("utf-16-le" if order == "<" else "utf-16-be", "replace").rstrip("\x00")
    return body.decode("utf-8", "replace").rstrip("\x00 ")


def _wrapper_slots(tiff: Tiff) -> list[tuple[str, Entry, int, str]]:
    """Unnamed slots holding the ``{"AIGC":...}`` wrapper: ``(carrier, entry, ifd offset, text)``."""
    found: list[tuple[str, Entry, int, str]] = []
    ifd0 = tiff.chain[0]
    desc = ifd0.get(DESCRIPTION_TAG)
    if desc is not None and desc.count <= VALUE_LIMIT:
        text = tiff.value(desc).decode("utf-8", "replace").rstrip("\x00")
        if _is_wrapped(text):
            found.append(("TIFF IFD0 ImageDescription", desc, ifd0.offset, text))
    for exif in tiff.sub_ifd(ifd0, EXIF_IFD_TAG)[:1]:
        comment = exif.get(USER_COMMENT_TAG)
        if comment is not None and comment.count > 8:
            text = _user_comment(tiff.value(comment), tiff.order)
            if _is_wrapped(text):
                found.append(("EXIF UserComment (TIFF Exif IFD)", comment, exif.offset, text))
    return found


def read(src: BinaryIO) -> list[RawLabel]:
    tiff = open_tiff(src)
    found: list[RawLabel] = []
    for i, ifd in enumerate(tiff.chain):
        entry = ifd.get(XMP_TAG)
        if entry is None:
            continue
        for value in _xmp.find_values(tiff.value(entry), FMT):
            carrier = f"XMP TC260:AIGC (TIFF IFD{i} tag 700)"
            found.append(RawLabel(carrier, value, ifd.offset, _is_wrapped(value), True))
    for carrier, _, offset, text in _wrapper_slots(tiff):
        found.append(RawLabel(carrier, text, offset, True, False))
    return found


# --- writing -------------------------------------------------------------------------------------


def _ranges(tiff: Tiff, ifd: Ifd, skip: set[int]) -> list[tuple[int, int]]:
    """Out-of-line values of ``ifd`` except the ``skip`` tags, plus its strip/tile data."""
    out = [r for e in ifd.entries if e.tag not in skip and (r := tiff.value_range(e)) is not None]
    for offsets_tag, counts_tag in ((STRIP_OFFSETS, STRIP_BYTE_COUNTS), (TILE_OFFSETS, TILE_BYTE_COUNTS)):
        offsets, counts = ifd.get(offsets_tag), ifd.get(counts_tag)
        if offsets is not None and counts is not None:
            out += list(zip(tiff.ints(offsets), tiff.ints(counts), strict=False))
    start, length = ifd.get(JPEG_IF_OFFSET), ifd.get(JPEG_IF_LENGTH)
    if start is not None and length is not None:
        out += list(zip(tiff.ints(start), tiff.ints(length), strict=False))
    for offset, size in out:
        if offset + size > tiff.eof:
            raise CorruptFile(FMT, "image data or a tag value runs past the end of the file", offset=offset)
    return out


class _Appender:
    """Bytes appended after ``start`` (word aligned, as TIFF 6.0 wants for IFDs and values)."""

    def __init__(self, start: int, big: bool) -> None:
        self.start = start
        self.data = bytearray(b"\x00" if start % 2 else b"")
        self.limit = (1 << 64) - 1 if big else 0xFFFFFFFF

    def add(self, blob: bytes) -> int:
        offset = self.start + len(self.data)
        self.data += blob
        if len(self.data) % 2:
            self.data += b"\x00"
        if self.start + len(self.data) > self.limit:
            raise MetadataTooLarge("TIFF: the label would push the file past the 4 GiB classic TIFF limit")
        return offset


def _table(tiff: Tiff, entries: list[Entry], next_offset: int) -> bytes:
    count = struct.pack(tiff.order + ("Q" if tiff.big else "H"), len(entries))
    head = tiff.order + ("HHQ" if tiff.big else "HHI")
    body = b"".join(
        struct.pack(head, e.tag, e.type, e.count) + e.field for e in sorted(entries, key=lambda e: e.tag)
    )
    return count + body + struct.pack(tiff.order + tiff.offset_code, next_offset)


def _offset_field(tiff: Tiff, offset: int) -> bytes:
    return struct.pack(tiff.order + tiff.offset_code, offset)


def _pointer_field(tiff: Tiff, entry: Entry, offset: int) -> bytes:
    code = "Q" if entry.type in (16, 18) else "I"
    return struct.pack(tiff.order + code, offset).ljust(tiff.inline, b"\x00")


def _dead_tail(dead: list[tuple[int, int]], live: list[tuple[int, int]], eof: int) -> int:
    """Where the file can be cut: the start of a run of dead ranges reaching EOF that nothing live
    reaches into (gaps of up to 3 bytes are alignment padding). ``eof`` when there is none."""
    cut = eof
    for start, size in sorted(dead, key=lambda r: r[0] + r[1], reverse=True):
        if start < cut <= start + size + 3:
            cut = min(cut, start)
    live_end = max((s + n for s, n in live), default=8)
    return max(cut, live_end + (live_end % 2), 8) if cut < eof else eof


def write(src: BinaryIO, dst: BinaryIO, label: AIGCLabel) -> None:
    tiff = open_tiff(src)
    ifd0 = tiff.chain[0]
    value = label.to_json()
    wrappers = _wrapper_slots(tiff)
    drop0 = {XMP_TAG} | {e.tag for c, e, off, _ in wrappers if off == ifd0.offset}

    # What still points somewhere after the write (never cut or zeroed), and what becomes dead.
    live: list[tuple[int, int]] = [(0, 8 if not tiff.big else 16)]
    dead: list[tuple[int, int]] = []
    rewritten: dict[int, list[Entry]] = {}
    exif_entries: list[Entry] | None = None
    for i, ifd in enumerate(tiff.chain):
        skip: set[int] = set()
        entry = ifd.get(XMP_TAG)
        if i == 0:
            skip = drop0
        elif entry is not None and _xmp.find_values(tiff.value(entry), FMT):
            skip = {XMP_TAG}
        if skip:
            rewritten[ifd.offset] = [e for e in ifd.entries if e.tag not in skip]
            dead.append((ifd.offset, ifd.table_size))
            dead += [r for e in ifd.entries if e.tag in skip and (r := tiff.value_range(e)) is not None]
        else:
            live.append((ifd.offset, ifd.table_size))
        live += _ranges(tiff, ifd, skip)
        for tag in (EXIF_IFD_TAG, GPS_IFD_TAG, SUBIFDS_TAG):
            for sub in tiff.sub_ifd(ifd, tag):
                drop = {e.tag for c, e, off, _ in wrappers if off == sub.offset} if i == 0 else set()
                if drop and tag == EXIF_IFD_TAG:
                    exif_entries = [e for e in sub.entries if e.tag not in drop]
                    dead.append((sub.offset, sub.table_size))
                    dead += [
                        r for e in sub.entries if e.tag in drop and (r := tiff.value_range(e)) is not None
                    ]
                else:
                    live.append((sub.offset, sub.table_size))
                live += _ranges(tiff, sub, drop)
                for inner in tiff.sub_ifd(sub, INTEROP_IFD_TAG):
                    live += [(inner.offset, inner.table_size), *_ranges(tiff, inner, set())]
    dead = [r for r in dead if not any(r[0] < s + n and s < r[0] + r[1] for s, n in live)]
    cut = _dead_tail(dead, live, tiff.eof)

    out = _Appender(cut, tiff.big)
    new_offsets: dict[int, int] = {}
    if exif_entries is not None:
        exif_at = out.add(_table(tiff, exif_entries, 0))
        pointer = ifd0.get(EXIF_IFD_TAG)
        assert pointer is not None
        rewritten[ifd0.offset] = [
            Entry(e.tag, e.type, e.count, _pointer_field(tiff, pointer, exif_at))
            if e.tag == EXIF_IFD_TAG
            else e
            for e in rewritten[ifd0.offset]
        ]
    for ifd in tiff.chain[1:]:
        entries = rewritten.get(ifd.offset)
        xmp = ifd.get(XMP_TAG)
        if entries is not None and xmp is not None:
            packet = _xmp.remove_values(tiff.value(xmp), FMT)
            entries.append(Entry(XMP_TAG, UNDEFINED, len(packet), _blob_field(tiff, out, packet)))
    old = ifd0.get(XMP_TAG)
    packet = _xmp.merge_packet(tiff.value(old) if old is not None else None, value, FMT)
    rewritten[ifd0.offset].append(Entry(XMP_TAG, UNDEFINED, len(packet), _blob_field(tiff, out, packet)))

    # Tables go last, from the end of the chain backwards, so each knows where its successor went.
    patches: list[tuple[int, bytes]] = []
    following = 0
    for ifd in reversed(tiff.chain):
        entries = rewritten.get(ifd.offset)
        if entries is not None:
            new_offsets[ifd.offset] = out.add(_table(tiff, entries, following))
            following = new_offsets[ifd.offset]
        else:
            if following != ifd.next_offset:
                at = ifd.offset + ifd.table_size - tiff.inline
                patches.append((at, _offset_field(tiff, following)))
            following = ifd.offset
    patches.append((8 if tiff.big else 4, _offset_field(tiff, following)))
    patches += [(start, b"\x00" * size) for start, size in dead if start + size <= cut]

    position = 0
    for start, data in sorted(patches):
        if start < position:  # overlapping zero runs: keep what is already written
            data, start = data[position - start :], position
        if start >= cut or not data:
            continue
        data = data[: cut - start]
        copy_range(src, dst, position, start - position, FMT)
        dst.write(data)
        position = start + len(data)
    copy_range(src, dst, position, cut - position, FMT)
    dst.write(out.data)


def _blob_field(tiff: Tiff, out: _Appender, blob: bytes) -> bytes:
    if len(blob) <= tiff.inline:
        return blob.ljust(tiff.inline, b"\x00")
    return _offset_field(tiff, out.add(blob))


# --- content digest ------------------------------------------------------------------------------


def _shape(tiff: Tiff, ifd: Ifd) -> bytes:
    parts = []
    for tag in SHAPE_TAGS:
        entry = ifd.get(tag)
        if entry is None:
            continue
        code = _INT_CODES.get(entry.type)
        if code is not None:
            shown = repr(tiff.ints(entry))
        elif entry.type in (5, 10):
            shown = repr(
                tiff.unpack(f"{entry.count * 2}{'I' if entry.type == 5 else 'i'}", tiff.value(entry))
            )
        else:
            shown = tiff.value(entry).hex()
        parts.append(f"{tag}={shown}")
    return (";".join(parts) + "\n").encode()


def content_digest(src: BinaryIO) -> bytes:
    tiff = open_tiff(src)
    digest = content_hasher(b"synthguard TIFF content v1\n")
    images: list[Ifd] = []
    for ifd in tiff.chain:
        images.append(ifd)
        images += tiff.sub_ifd(ifd, SUBIFDS_TAG)
    for ifd in images:
        digest.update(_shape(tiff, ifd))
        ranges: list[tuple[int, int]] = []
        for offsets_tag, counts_tag in ((STRIP_OFFSETS, STRIP_BYTE_COUNTS), (TILE_OFFSETS, TILE_BYTE_COUNTS)):
            offsets, counts = ifd.get(offsets_tag), ifd.get(counts_tag)
            if (offsets is None) != (counts is None):
                raise CorruptFile(
                    FMT, f"tag {offsets_tag} and {counts_tag} must come together", offset=ifd.offset
                )
            if offsets is not None and counts is not None:
                starts, sizes = tiff.ints(offsets), tiff.ints(counts)
                if len(starts) != len(sizes):
                    raise CorruptFile(
                        FMT, "strip/tile offsets and byte counts differ in number", offset=ifd.offset
                    )
                for start, size in zip(starts, sizes, strict=True):
                    if start + size > tiff.eof:
                        raise CorruptFile(
                            FMT, "strip or tile data runs past the end of the file", offset=start
                        )
                    ranges.append((start, size))
        digest.update(hash_ranges(src, ranges, FMT))
    return digest.digest()


PLUGIN = FormatPlugin(
    name="TIFF",
    extensions=("tif", "tiff", "dng"),
    mime="image/tiff",
    carrier="XMP packet in IFD0 tag 700 (XMLPacket, type 7): TC260:AIGC",
    accept=accept,
    read=read,
    write=write,
    content_digest=content_digest,
)
