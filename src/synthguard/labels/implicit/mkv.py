"""Matroska and WebM: the ``AIGC`` label as a whole-file ``Segment/Tags/Tag/SimpleTag``.

TC260-PG-20257A (video files, the Matroska clause) puts the label in a ``SimpleTag`` whose
``TagName`` is ``AIGC`` and whose ``TagString`` is the seven-key JSON (GB 45438-2025 Annex E). We
write it into a ``Tag`` with empty ``Targets`` (whole file), which is where ``ffmpeg -metadata
AIGC=...`` puts it and where ffprobe, mkvtoolnix and exiftool read format-level tags.

Why hand-written: mutagen has no Matroska support; pymkv/mkvpropedit are external programs; PyAV
(libavformat) can only remux, which rewrites every cluster. Here only metadata bytes move:

* Positions in Matroska (``SeekHead`` entries, ``Cues`` cluster positions) are relative to the
  Segment's data, so nothing may be inserted before a cluster unless those are fixed. We rewrite the
  ``Tags`` element where it is when it fits (with the ``Void`` padding that follows it, or freely
  when it is the last element); otherwise we append a new ``Tags`` at the end of the Segment, turn
  the old one into a ``Void`` of the same size and point the ``SeekHead``'s ``Tags`` entry at the
  new one (inside the SeekHead's own ``Void`` reserve): players (libavformat, mkvtoolnix) find a
  ``Tags`` element behind the clusters only through the ``SeekHead``. Every ``Tags`` element is
  merged into the one we write, so exactly one remains and it is the one the ``SeekHead`` names.
  Files with no ``SeekHead`` room (live WebM from browsers has no ``SeekHead`` at all) get the
  ``Tags`` inserted before the first cluster, and every ``SeekHead`` and ``Cues`` position behind
  it is shifted; when a shifted position no longer fits, ``MetadataTooLarge`` says to remux. An
  optional ``Cluster/Position`` child (an error-recovery hint inside the cluster, which ffmpeg
  does not write) is left as it was: it is cluster content, and the digest covers it.
* ``CRC-32`` children of any element we rebuild are recomputed; the Segment size is rewritten
  (an "unknown" size is left alone).

Reading follows what players do: the level-1 elements before the first ``Cluster`` plus every
``Tags``/``SeekHead`` a ``SeekHead`` points to; it never walks the clusters. A ``Tags`` element
behind the clusters that no ``SeekHead`` references is invisible to players and to ``read``, but
``write`` walks the whole Segment and removes ``AIGC`` from it too. ``TagName`` is compared
case-insensitively (libavformat's dictionaries are), and a track-level ``AIGC`` tag counts as a
carrier as well.

Content digest rule: SHA-256 over the data of every level-1 ``Tracks`` and ``Cluster`` element of
the first Segment, in file order (element data only, not the ID/size header). That is the codec
setup and every block; ``Info``, ``Tags``, ``SeekHead``, ``Cues``, ``Chapters``, ``Attachments`` and
``Void`` are left out, so writing the label (which only touches those) never changes it.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from synthguard.errors import CorruptFile, MetadataTooLarge
from synthguard.labels.implicit._slots import SLOT, decode_value, raw_label
from synthguard.labels.implicit.registry import (
    FormatPlugin,
    copy_range,
    file_size,
    hash_ranges,
    read_exact,
)
from synthguard.labels.model import AIGCLabel, RawLabel

FMT = "MKV"
MAGIC = b"\x1a\x45\xdf\xa3"

EBML = 0x1A45DFA3
DOC_TYPE = 0x4282
SEGMENT = 0x18538067
SEEK_HEAD = 0x114D9B74
SEEK = 0x4DBB
SEEK_ID = 0x53AB
SEEK_POSITION = 0x53AC
TRACKS = 0x1654AE6B
CLUSTER = 0x1F43B675
CUES = 0x1C53BB6B
CUE_POINT = 0xBB
CUE_TRACK_POSITIONS = 0xB7
CUE_CLUSTER_POSITION = 0xF1
CUE_CODEC_STATE = 0xEA
TAGS = 0x1254C367
TAG = 0x7373
TARGETS = 0x63C0
TARGET_TYPE_VALUE = 0x68CA
TARGET_UIDS = frozenset({0x63C5, 0x63C9, 0x63C4, 0x63C6})  # track, edition, chapter, attachment
SIMPLE_TAG = 0x67C8
TAG_NAME = 0x45A3
TAG_STRING = 0x4487
TAG_BINARY = 0x4485
VOID = 0xEC
CRC32 = 0xBF
# Children a Cluster may hold; with an unknown-size Cluster, any other ID ends it (Matroska spec).
CLUSTER_CHILDREN = frozenset({0xE7, 0x5854, 0xA7, 0xAB, 0xA3, 0xA0, 0xAF, CRC32, VOID})

MAX_METADATA_ELEMENT = 64 << 20  # Tags, SeekHead, Cues and the EBML header are read into memory
MAX_SEEK_HEADS = 32
MAX_DEPTH = 16


@dataclass(frozen=True, slots=True)
class _Element:
    """One EBML element: ``start`` is where its ID is, ``data`` where its payload begins."""

    id: int
    start: int
    data: int
    size: int

    @property
    def end(self) -> int:
        return self.data + self.size

    @property
    def total(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class _Layout:
    doc_type: str
    segment: _Element  # size is the data size, even when the header says "unknown"
    size_unknown: bool
    size_len: int
    file_size: int
    children: list[_Element]  # level-1 elements in file order
    first_cluster: int | None


# --- EBML primitives -----------------------------------------------------------------------------


def _header(buf: bytes, pos: int, base: int, end: int | None = None) -> tuple[int, int, int | None]:
    """(id, header length, data size or None for "unknown") of the element at ``buf[pos:end]``."""
    limit = len(buf) if end is None else end
    if pos >= limit:
        raise CorruptFile(FMT, "truncated EBML element header", offset=base + pos)
    first = buf[pos]
    id_len = 9 - first.bit_length()
    if first == 0 or id_len > 4:
        raise CorruptFile(FMT, f"invalid EBML element ID byte 0x{first:02x}", offset=base + pos)
    size_pos = pos + id_len
    if size_pos >= limit:
        raise CorruptFile(FMT, "truncated EBML element header", offset=base + pos)
    lead = buf[size_pos]
    size_len = 9 - lead.bit_length()
    if lead == 0:
        raise CorruptFile(FMT, "invalid EBML size (longer than 8 bytes)", offset=base + size_pos)
    if size_pos + size_len > limit:
        raise CorruptFile(FMT, "truncated EBML element header", offset=base + pos)
    eid = int.from_bytes(buf[pos:size_pos], "big")
    size = lead & (0xFF >> size_len)
    for byte in buf[size_pos + 1 : size_pos + size_len]:
        size = (size << 8) | byte
    if size == (1 << (7 * size_len)) - 1:
        return eid, id_len + size_len, None
    return eid, id_len + size_len, size


def _children(buf: bytes, start: int, end: int, base: int) -> list[_Element]:
    """The child elements of ``buf[start:end]``; offsets in the result are absolute (``base`` + pos)."""
    found: list[_Element] = []
    pos = start
    while pos < end:
        eid, hlen, size = _header(buf, pos, base, end)
        if size is None:
            raise CorruptFile(FMT, f"unknown-size element 0x{eid:x} inside metadata", offset=base + pos)
        if pos + hlen + size > end:
            raise CorruptFile(FMT, f"element 0x{eid:x} runs past its parent", offset=base + pos)
        found.append(_Element(eid, base + pos, base + pos + hlen, size))
        pos += hlen + size
    return found


def _id_bytes(eid: int) -> bytes:
    return eid.to_bytes((eid.bit_length() + 7) // 8, "big")


def _vint_len(value: int) -> int:
    length = 1
    while value >= (1 << (7 * length)) - 1:
        length += 1
    return length


def _vint(value: int, length: int) -> bytes:
    return ((1 << (7 * length)) | value).to_bytes(length, "big")


def _element(eid: int, payload: bytes, size_len: int | None = None) -> bytes:
    length = size_len if size_len is not None else _vint_len(len(payload))
    return _id_bytes(eid) + _vint(len(payload), length) + payload


def _uint(data: bytes) -> int:
    return int.from_bytes(data, "big") if data else 0


def _uint_bytes(value: int, width: int = 1) -> bytes:
    return value.to_bytes(max(width, (value.bit_length() + 7) // 8, 1), "big")


def _with_crc(payload: bytes, crc: bool) -> bytes:
    # Matroska CRC-32: IEEE polynomial over the parent's data after the CRC element, little-endian.
    if not crc:
        return payload
    return _element(CRC32, zlib.crc32(payload).to_bytes(4, "little")) + payload


def _void(total: int) -> bytes:
    """A Void element of exactly ``total`` bytes (``total`` >= 2)."""
    for length in range(1, 9):
        data = total - 1 - length
        if data < 0:
            break
        if data < (1 << (7 * length)) - 1:
            return b"\xec" + _vint(data, length) + bytes(data)
    raise ValueError(f"no Void element has {total} bytes")


def _fit(eid: int, payload: bytes, room: int | None) -> bytes | None:
    """The element, padded with a Void to exactly ``room`` bytes; None when it does not fit.

    A one-byte remainder cannot be a Void (minimum two bytes), so it is absorbed by writing the
    element's size field one byte longer, which EBML allows.
    """
    if room is None:
        return _element(eid, payload)
    for size_len in range(_vint_len(len(payload)), 9):
        used = len(_id_bytes(eid)) + size_len + len(payload)
        rest = room - used
        if rest < 0:
            return None
        if rest == 0 or rest >= 2:
            return _element(eid, payload, size_len) + (_void(rest) if rest else b"")
    return None


# --- file walking --------------------------------------------------------------------------------


def _header_at(src: BinaryIO, pos: int, limit: int) -> tuple[int, int, int | None]:
    src.seek(pos)
    buf = src.read(max(0, min(12, limit - pos)))
    return _header(buf, 0, pos)


def _load(src: BinaryIO, element: _Element) -> bytes:
    if element.size > MAX_METADATA_ELEMENT:
        raise CorruptFile(
            FMT,
            f"element 0x{element.id:x} of {element.size} bytes exceeds the {MAX_METADATA_ELEMENT} byte limit",
            offset=element.start,
        )
    src.seek(element.data)
    return read_exact(src, element.size, FMT, f"element 0x{element.id:x}")


def _cluster_end(src: BinaryIO, start: int, limit: int) -> int:
    """Where an unknown-size Cluster ends: at the first child that cannot belong to a Cluster."""
    pos = start
    while pos < limit:
        eid, hlen, size = _header_at(src, pos, limit)
        if eid not in CLUSTER_CHILDREN:
            return pos
        if size is None:
            raise CorruptFile(FMT, "unknown-size element inside an unknown-size Cluster", offset=pos)
        if pos + hlen + size > limit:
            raise CorruptFile(FMT, "truncated Cluster", offset=pos)
        pos += hlen + size
    return limit


def _open(src: BinaryIO, *, full: bool) -> _Layout:
    """Parse the EBML header and the Segment's level-1 elements (up to the first Cluster unless ``full``)."""
    total = file_size(src)
    eid, hlen, size = _header_at(src, 0, total)
    if eid != EBML or size is None or size > MAX_METADATA_ELEMENT:
        raise CorruptFile(FMT, "no EBML header", offset=0)
    if hlen + size > total:
        raise CorruptFile(FMT, "truncated EBML header", offset=0)
    header = _element_data(src, hlen, size)
    doc_type = "matroska"  # the EBML default when DocType is absent
    for child in _children(header, 0, len(header), hlen):
        if child.id == DOC_TYPE:
            doc_type = header[child.data - hlen : child.end - hlen].rstrip(b"\0").decode("ascii", "replace")
    if doc_type not in ("matroska", "webm"):
        raise CorruptFile(FMT, f"EBML DocType {doc_type!r} is not matroska or webm", offset=0)

    pos = hlen + size
    while True:
        if pos >= total:
            raise CorruptFile(FMT, "no Segment element", offset=pos)
        eid, hlen, size = _header_at(src, pos, total)
        if eid == SEGMENT:
            break
        if eid not in (VOID, CRC32) or size is None:
            raise CorruptFile(FMT, f"unexpected top-level element 0x{eid:x} before the Segment", offset=pos)
        pos += hlen + size
    seg_start, seg_data = pos, pos + hlen
    size_len = hlen - 4
    seg_end = total if size is None else seg_data + size
    if seg_end > total:
        raise CorruptFile(
            FMT, f"truncated: the Segment needs {seg_end} bytes, the file has {total}", offset=seg_start
        )

    children: list[_Element] = []
    first_cluster: int | None = None
    pos = seg_data
    while pos < seg_end:
        eid, hlen, child_size = _header_at(src, pos, seg_end)
        if size is None and eid in (EBML, SEGMENT):
            seg_end = pos  # an unknown-size Segment ends where the next EBML document starts
            break
        if eid == CLUSTER and not full:
            first_cluster = pos  # readers stop here, before sizing a possibly unknown-size Cluster
            break
        if child_size is None:
            if eid != CLUSTER:
                raise CorruptFile(FMT, f"unknown-size level-1 element 0x{eid:x}", offset=pos)
            child_size = _cluster_end(src, pos + hlen, seg_end) - pos - hlen
        if pos + hlen + child_size > seg_end:
            raise CorruptFile(FMT, f"truncated level-1 element 0x{eid:x}", offset=pos)
        children.append(_Element(eid, pos, pos + hlen, child_size))
        if eid == CLUSTER and first_cluster is None:
            first_cluster = pos
        pos += hlen + child_size
    segment = _Element(SEGMENT, seg_start, seg_data, seg_end - seg_data)
    return _Layout(doc_type, segment, size is None, size_len, total, children, first_cluster)


def _element_data(src: BinaryIO, data: int, size: int) -> bytes:
    src.seek(data)
    return read_exact(src, size, FMT, "EBML header")


def _seek_entries(buf: bytes, base: int) -> list[tuple[_Element, int, int]]:
    """(Seek element, target ID, target position relative to the Segment data) per SeekHead entry."""
    entries: list[tuple[_Element, int, int]] = []
    for seek in _children(buf, 0, len(buf), base):
        if seek.id != SEEK:
            continue
        target_id = target_pos = -1
        for child in _children(buf, seek.data - base, seek.end - base, base):
            value = buf[child.data - base : child.end - base]
            if child.id == SEEK_ID:
                target_id = _uint(value)
            elif child.id == SEEK_POSITION:
                target_pos = _uint(value)
        if target_id < 0 or target_pos < 0:
            raise CorruptFile(FMT, "SeekHead entry without SeekID or SeekPosition", offset=seek.start)
        entries.append((seek, target_id, target_pos))
    return entries


# --- reading -------------------------------------------------------------------------------------


def _simple_tag_label(buf: bytes, element: _Element, base: int) -> tuple[bool, bytes]:
    """(is this SimpleTag an AIGC carrier, its value)."""
    name, value = "", b""
    for child in _children(buf, element.data - base, element.end - base, base):
        if child.id == TAG_NAME:
            name = decode_value(buf[child.data - base : child.end - base])
        elif child.id in (TAG_STRING, TAG_BINARY):
            value = buf[child.data - base : child.end - base]
    return name.strip().upper() == SLOT, value


def _is_global(buf: bytes, targets: _Element | None, base: int) -> bool:
    if targets is None:
        return True
    for child in _children(buf, targets.data - base, targets.end - base, base):
        value = _uint(buf[child.data - base : child.end - base])
        if child.id in TARGET_UIDS and value != 0:
            return False
        if child.id == TARGET_TYPE_VALUE and value != 50:
            return False
    return True


def _labels_in_tags(buf: bytes, base: int, kind: str) -> list[RawLabel]:
    found: list[RawLabel] = []

    def visit(simple: _Element, scope: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise CorruptFile(FMT, "SimpleTag nesting too deep", offset=simple.start)
        is_label, value = _simple_tag_label(buf, simple, base)
        if is_label:
            found.append(raw_label(f"{kind} Tags/SimpleTag AIGC{scope}", value, simple.start))
        for child in _children(buf, simple.data - base, simple.end - base, base):
            if child.id == SIMPLE_TAG:
                visit(child, scope, depth + 1)

    for tag in _children(buf, 0, len(buf), base):
        if tag.id != TAG:
            continue
        kids = _children(buf, tag.data - base, tag.end - base, base)
        targets = next((k for k in kids if k.id == TARGETS), None)
        scope = "" if _is_global(buf, targets, base) else " (track/chapter-level Tag)"
        for kid in kids:
            if kid.id == SIMPLE_TAG:
                visit(kid, scope, 1)
    return found


def _read(src: BinaryIO) -> list[RawLabel]:
    layout = _open(src, full=False)
    seg = layout.segment
    known = {child.start: child for child in layout.children}
    pending = [child for child in layout.children if child.id == SEEK_HEAD]
    seen_heads: set[int] = set()
    while pending:
        head = pending.pop(0)
        if head.start in seen_heads:
            continue
        seen_heads.add(head.start)
        if len(seen_heads) > MAX_SEEK_HEADS:
            raise CorruptFile(FMT, "too many SeekHead elements", offset=head.start)
        for _seek, target_id, target_pos in _seek_entries(_load(src, head), head.data):
            where = seg.data + target_pos
            if target_id not in (TAGS, SEEK_HEAD) or where in known:
                continue
            if where >= seg.end:
                raise CorruptFile(FMT, "SeekHead points past the end of the Segment", offset=head.start)
            eid, hlen, size = _header_at(src, where, seg.end)
            if eid != target_id or size is None or where + hlen + size > seg.end:
                raise CorruptFile(
                    FMT, f"SeekHead entry for 0x{target_id:x} points at a different element", offset=where
                )
            element = _Element(eid, where, where + hlen, size)
            known[where] = element
            if eid == SEEK_HEAD:
                pending.append(element)
    kind = "WebM" if layout.doc_type == "webm" else "Matroska"
    found: list[RawLabel] = []
    for element in sorted(known.values(), key=lambda e: e.start):
        if element.id == TAGS:
            found.extend(_labels_in_tags(_load(src, element), element.data, kind))
    return found


# --- writing -------------------------------------------------------------------------------------

_Edit = tuple[int, int, bytes]  # (absolute start in the source, bytes replaced, new bytes)


def _our_simple_tag(label: AIGCLabel) -> bytes:
    return _element(
        SIMPLE_TAG,
        _element(TAG_NAME, SLOT.encode("ascii")) + _element(TAG_STRING, label.to_json().encode("utf-8")),
    )


def _strip_simple(buf: bytes, simple: _Element, base: int, depth: int) -> bytes | None:
    """The SimpleTag without AIGC carriers (None when it is one); unchanged bytes when it holds none."""
    if depth > MAX_DEPTH:
        raise CorruptFile(FMT, "SimpleTag nesting too deep", offset=simple.start)
    raw = buf[simple.start - base : simple.end - base]
    if _simple_tag_label(buf, simple, base)[0]:
        return None
    kids = _children(buf, simple.data - base, simple.end - base, base)
    parts: list[bytes] = []
    changed = False
    for kid in kids:
        part: bytes | None = buf[kid.start - base : kid.end - base]
        if kid.id == SIMPLE_TAG:
            part = _strip_simple(buf, kid, base, depth + 1)
        if part != buf[kid.start - base : kid.end - base]:
            changed = True
        if part is not None and kid.id != CRC32:
            parts.append(part)
    if not changed:
        return raw
    has_crc = any(kid.id == CRC32 for kid in kids)
    return _element(SIMPLE_TAG, _with_crc(b"".join(parts), has_crc))


def _merged_tags(loaded: list[tuple[bytes, _Element]], ours: bytes) -> tuple[bytes, bool]:
    """One Tags payload from every Tags element, AIGC carriers removed, ours in the global Tag."""
    tags: list[bytes] = []
    placed = False
    crc = False
    for buf, element in loaded:
        base = element.data
        for tag in _children(buf, 0, len(buf), base):
            if tag.id == CRC32:
                crc = True
            if tag.id != TAG:
                continue  # Voids and CRCs are rebuilt
            kids = _children(buf, tag.data - base, tag.end - base, base)
            targets = next((k for k in kids if k.id == TARGETS), None)
            parts: list[bytes] = []
            simple_count = 0
            changed = False
            for kid in kids:
                raw = buf[kid.start - base : kid.end - base]
                part: bytes | None = raw
                if kid.id == SIMPLE_TAG:
                    part = _strip_simple(buf, kid, base, 1)
                    simple_count += part is not None
                if part != raw:
                    changed = True
                if part is not None and kid.id not in (CRC32, VOID):
                    parts.append(part)
            if not placed and targets is not None and _is_global(buf, targets, base):
                parts.append(ours)
                placed = changed = True
                simple_count += 1
            if simple_count == 0:
                continue  # a Tag needs at least one SimpleTag; this one held only AIGC
            if not changed:
                tags.append(buf[tag.start - base : tag.end - base])
                continue
            has_crc = any(k.id == CRC32 for k in kids)
            tags.append(_element(TAG, _with_crc(b"".join(parts), has_crc)))
    if not placed:
        tags.append(_element(TAG, _element(TARGETS, b"") + ours))
    return b"".join(tags), crc


class _Writer:
    def __init__(self, src: BinaryIO, layout: _Layout, tags_payload: bytes) -> None:
        self.src = src
        self.layout = layout
        self.tags_payload = tags_payload
        self.children = layout.children
        self.index = {child.start: n for n, child in enumerate(self.children)}
        self.tags = [c for c in self.children if c.id == TAGS]
        self.heads = [c for c in self.children if c.id == SEEK_HEAD]

    def room(self, element: _Element) -> int | None:
        """Bytes available for rewriting ``element``: itself plus the Voids after it (None: no limit)."""
        n = self.index[element.start] + 1
        end = element.end
        while n < len(self.children) and self.children[n].id == VOID:
            end = self.children[n].end
            n += 1
        return None if n == len(self.children) else end - element.start

    def span(self, element: _Element) -> int:
        room = self.room(element)
        if room is not None:
            return room
        return self.layout.segment.end - element.start

    def in_head(self, where: int) -> bool:
        # The inserted Tags lands exactly where the first Cluster was: still before it.
        first = self.layout.first_cluster
        return first is None or where <= first

    def void_tags(self, keep: _Element | None) -> list[_Edit]:
        return [(t.start, t.total, _void(t.total)) for t in self.tags if t is not keep]

    # The three placements, safest first. Each returns the edits or None when it cannot apply.

    def in_place(self) -> list[_Edit] | None:
        for element in self.tags:
            fitted = _fit(TAGS, self.tags_payload, self.room(element))
            if fitted is None:
                continue
            heads = self.fix_seek_heads(element.start, lambda rel: rel)
            if heads is None:
                continue
            return [(element.start, self.span(element), fitted), *self.void_tags(element), *heads]
        return None

    def at_end(self) -> list[_Edit] | None:
        heads = self.fix_seek_heads(self.layout.segment.end, lambda rel: rel)
        if heads is None:
            return None
        # Inserted after any trailing Voids rather than over them: a SeekHead edit may span them.
        tail = (self.layout.segment.end, 0, _element(TAGS, self.tags_payload))
        return [tail, *self.void_tags(None), *heads]

    def before_clusters(self) -> list[_Edit]:
        seg = self.layout.segment
        insert_at = self.layout.first_cluster
        if insert_at is None:
            insert_at = seg.end
        block = _element(TAGS, self.tags_payload)
        shift = len(block)
        edge = insert_at - seg.data

        def moved(rel: int) -> int:
            return rel + shift if rel >= edge else rel

        heads = self.fix_seek_heads(insert_at, moved)
        if heads is None:
            raise _no_room("SeekHead")
        edits: list[_Edit] = [(insert_at, 0, block), *self.void_tags(None), *heads]
        for cues in (c for c in self.children if c.id == CUES):
            payload = _shift_cues(_load(self.src, cues), cues.data, moved)
            fitted = _fit(CUES, payload, self.room(cues))
            if fitted is None:
                raise _no_room("Cues")
            edits.append((cues.start, self.span(cues), fitted))
        return edits

    def fix_seek_heads(self, tags_at: int, moved: Callable[[int], int]) -> list[_Edit] | None:
        """Point the SeekHead players read first at ``tags_at``; drop stale Tags entries elsewhere.

        ``moved`` maps old Segment-relative positions to new ones (identity unless bytes are
        inserted before the clusters). Players read the SeekHead in front of the clusters; a Tags
        element there too is found without any entry, so its entry may be dropped when it does
        not fit. Returns None when the Tags element would be invisible (behind the clusters and
        not referenced from the front).
        """
        tags_rel = tags_at - self.layout.segment.data
        visible_anyway = self.in_head(tags_at)
        front = [h for h in self.heads if self.in_head(h.start)]
        primary = front[0] if front else None
        if primary is None and not visible_anyway:
            return None
        edits: list[_Edit] = []
        for head in self.heads:
            buf = _load(self.src, head)
            kids = _children(buf, 0, len(buf), head.data)
            had_crc = any(k.id == CRC32 for k in kids)
            old = [buf[k.start - head.data : k.end - head.data] for k in kids if k.id not in (CRC32, VOID)]
            with_entry: list[bytes] = []
            without: list[bytes] = []
            placed = head is not primary
            for seek, target_id, target_pos in _seek_entries(buf, head.data):
                raw = buf[seek.start - head.data : seek.end - head.data]
                if target_id == TAGS:
                    if not placed or target_pos == tags_rel:
                        with_entry.append(raw if target_pos == tags_rel else _seek(TAGS, tags_rel))
                        placed = True
                    continue
                new_pos = moved(target_pos)
                entry = raw if new_pos == target_pos else _seek(target_id, new_pos)
                with_entry.append(entry)
                without.append(entry)
            if not placed:
                with_entry.append(_seek(TAGS, tags_rel))
            options = [with_entry, without] if visible_anyway or head is not primary else [with_entry]
            fitted = self.fit_seek_head(head, old, had_crc, options)
            if fitted is None:
                return None
            if fitted:
                edits.append((head.start, self.span(head), fitted))
        return edits

    def fit_seek_head(
        self, head: _Element, old: list[bytes], had_crc: bool, options: list[list[bytes]]
    ) -> bytes | None:
        """The SeekHead rebuilt in its own span (b"" if unchanged); drops its CRC when that makes it fit."""
        for option in options:
            if option == old:
                return b""
            for crc in dict.fromkeys((had_crc, False)):
                fitted = _fit(SEEK_HEAD, _with_crc(b"".join(option), crc), self.span(head))
                if fitted is not None:
                    return fitted
        return None


def _seek(target_id: int, position: int) -> bytes:
    return _element(
        SEEK, _element(SEEK_ID, _id_bytes(target_id)) + _element(SEEK_POSITION, _uint_bytes(position))
    )


def _shift_cues(buf: bytes, base: int, moved: Callable[[int], int]) -> bytes:
    """The Cues payload with every cluster/codec-state position mapped through ``moved``."""

    def rebuild(start: int, end: int, depth: int) -> bytes:
        kids = _children(buf, start, end, base)
        has_crc = any(k.id == CRC32 for k in kids)
        parts: list[bytes] = []
        for kid in kids:
            data = buf[kid.data - base : kid.end - base]
            if kid.id in (CRC32, VOID):
                continue
            if kid.id in (CUE_POINT, CUE_TRACK_POSITIONS) and depth < 2:
                parts.append(_element(kid.id, rebuild(kid.data - base, kid.end - base, depth + 1)))
            elif kid.id in (CUE_CLUSTER_POSITION, CUE_CODEC_STATE) and depth == 2:
                value = _uint(data)
                new = moved(value) if kid.id == CUE_CLUSTER_POSITION or value else value
                parts.append(_element(kid.id, _uint_bytes(new, len(data))))
            else:
                parts.append(buf[kid.start - base : kid.end - base])
        return _with_crc(b"".join(parts), has_crc)

    return rebuild(0, len(buf), 0)


def _no_room(what: str) -> MetadataTooLarge:
    return MetadataTooLarge(
        f"{FMT}: cannot place the Tags element: the {what} element has no room for shifted positions "
        "(remux the file, e.g. with ffmpeg -c copy, to get reserved space)",
    )


def _write(src: BinaryIO, dst: BinaryIO, label: AIGCLabel) -> None:
    _read(src)  # refuse what a reader would refuse, so every written file reads back
    layout = _open(src, full=True)
    loaded = [(_load(src, c), c) for c in layout.children if c.id == TAGS]
    payload, crc = _merged_tags(loaded, _our_simple_tag(label))
    writer = _Writer(src, layout, _with_crc(payload, crc))
    edits = writer.in_place() or writer.at_end() or writer.before_clusters()
    _emit(src, dst, layout, edits)


def _emit(src: BinaryIO, dst: BinaryIO, layout: _Layout, edits: list[_Edit]) -> None:
    seg = layout.segment
    copy_range(src, dst, 0, seg.start, FMT)
    dst.write(_id_bytes(SEGMENT))
    if layout.size_unknown:
        dst.write(_vint((1 << (7 * layout.size_len)) - 1, layout.size_len))
    else:
        new_size = seg.size + sum(len(new) - old for _start, old, new in edits)
        # Positions are relative to the Segment data, so a longer size field shifts nothing.
        dst.write(_vint(new_size, max(layout.size_len, _vint_len(new_size))))
    pos = seg.data
    for start, old, new in sorted(edits, key=lambda e: (e[0], e[1])):
        if start < pos:
            raise AssertionError("overlapping Matroska edits")
        copy_range(src, dst, pos, start - pos, FMT)
        dst.write(new)
        pos = start + old
    copy_range(src, dst, pos, layout.file_size - pos, FMT)


# --- content digest ------------------------------------------------------------------------------


def _content_digest(src: BinaryIO) -> bytes:
    layout = _open(src, full=True)
    ranges = [(c.data, c.size) for c in layout.children if c.id in (TRACKS, CLUSTER)]
    return hash_ranges(src, ranges, FMT)


def _accept(head: bytes) -> bool:
    return head.startswith(MAGIC) and (b"matroska" in head or b"webm" in head)


PLUGIN = FormatPlugin(
    name=FMT,
    extensions=("mkv", "mka", "mk3d", "mks", "webm"),
    mime="video/x-matroska",
    carrier="Matroska/WebM Segment/Tags/Tag (empty Targets)/SimpleTag: TagName AIGC, TagString = label JSON",
    accept=_accept,
    read=_read,
    write=_write,
    content_digest=_content_digest,
)
