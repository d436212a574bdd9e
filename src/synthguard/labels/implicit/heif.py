"""HEIF/HEIC/AVIF implicit labels: ``TC260:AIGC`` in the XMP metadata item of the primary image.

TC260-PG-20259A (image files) places the label, for HEIF, in XMP stored the way ISO/IEC 23008-12
stores XMP: an item whose ``infe`` has type ``mime`` and content type ``application/rdf+xml``,
described by the primary item through an ``iref`` ``cdsc`` reference, with its bytes located by
``iloc`` (in the file, construction method 0, or in the ``meta`` box's ``idat``, method 1).

Reading parses only the top-level ``meta`` box and the XMP items' bytes and reports every XMP item
holding ``TC260:AIGC``, saying whether it is linked to the primary item.

Writing keeps exactly one carrier: the XMP item linked to the primary item (else the first XMP
item) is updated with ``_xmp.merge_packet`` (its other properties kept); a new item
(``infe`` v2 + ``iloc`` entry + ``iref cdsc``) is added when there is none, and an existing XMP item
that is not yet linked gets the ``cdsc`` reference; ``TC260:AIGC`` is removed from any other XMP
item. Rewritten packets are stored with construction method 0 (file offsets), because ExifTool
12.x cannot read XMP from ``idat``: a packet that fits where the old one was is written over it;
otherwise it goes into an ``mdat`` box appended at the end of the file (replacing the one a
previous write appended), and the old bytes are zeroed so no stale label survives (a packet that
lived in ``idat`` is dropped from the rebuilt ``idat``). Because ``meta`` usually precedes
``mdat``, its new size shifts the media data, so every absolute offset is relocated: ``iloc``
construction method 0 extents, and for image sequences (``avis``, ``msf1``) the ``moov``/``moof``
sample tables. Coded image data is streamed byte for byte. Item data in other files (``dref``) is
not moved; method 2 (item offset) extents are relative and unchanged. Not read or scrubbed: an
``{"AIGC":...}`` wrapper inside an Exif item.

``content_digest`` is SHA-256 over the ``ipco`` item-property box (decoder configuration, size,
colour: what decoding depends on), then the data extents of every item that is not metadata (types
other than ``mime``, ``Exif`` and ``uri``), in item ID order. XMP/Exif items, ``iinf``, ``iloc``,
``iref`` and ``idat`` bytes outside image items are excluded, so labeling never changes it.

Hand-written because pillow-heif/libheif re-encode the image on save (no metadata-only write), and
ExifTool is a Perl subprocess that cannot be imported.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from typing import BinaryIO

from synthguard.errors import CorruptFile
from synthguard.labels.implicit import _xmp
from synthguard.labels.implicit._isobmff import (
    Box,
    Node,
    Relocation,
    children,
    is_heif,
    is_wrapped,
    iter_boxes,
    layout,
    parse_node,
    read_box,
    top_level,
    write_boxes,
)
from synthguard.labels.implicit.registry import FormatPlugin, file_size, hash_ranges, read_exact
from synthguard.labels.model import AIGCLabel, RawLabel

FMT = "HEIF"
META_LIMIT = 64 << 20
XMP_LIMIT = 16 << 20
XMP_MIME = "application/rdf+xml"
_METADATA_TYPES = {b"mime", b"Exif", b"uri "}


def accept(head: bytes) -> bool:
    return is_heif(head)


# --- the boxes of a HEIF meta --------------------------------------------------------------------


@dataclass(slots=True)
class Extent:
    index: int
    offset: int
    length: int


@dataclass(slots=True)
class Location:
    """One ``iloc`` entry; ``offset`` of each extent is relative to ``base`` (per the box)."""

    item_id: int
    method: int
    data_ref: int
    base: int
    extents: list[Extent] = field(default_factory=list)


@dataclass(slots=True)
class ItemLocations:
    version: int
    offset_size: int
    length_size: int
    base_size: int
    index_size: int
    entries: list[Location]


@dataclass(frozen=True, slots=True)
class ItemInfo:
    item_id: int
    item_type: bytes
    content_type: str


def _uint(data: bytes, pos: int, size: int, what: str) -> int:
    if size == 0:
        return 0
    if size not in (1, 2, 4, 8) or pos + size > len(data):
        raise CorruptFile(FMT, f"truncated or malformed {what}")
    return int.from_bytes(data[pos : pos + size], "big")


def parse_iloc(payload: bytes) -> ItemLocations:
    if len(payload) < 8:
        raise CorruptFile(FMT, "iloc box too small")
    version = payload[0]
    if version > 2:
        raise CorruptFile(FMT, f"iloc version {version} is unknown")
    offset_size, length_size = payload[4] >> 4, payload[4] & 15
    base_size, index_size = payload[5] >> 4, payload[5] & 15
    if version == 0:
        index_size = 0
    for size in (offset_size, length_size, base_size, index_size):
        if size not in (0, 4, 8):
            raise CorruptFile(FMT, f"iloc field size {size} is not 0, 4 or 8")
    id_size = 2 if version < 2 else 4
    pos = 6
    count = _uint(payload, pos, id_size, "iloc item count")
    pos += id_size
    entries: list[Location] = []
    for _ in range(count):
        item_id = _uint(payload, pos, id_size, "iloc item")
        pos += id_size
        method = 0
        if version >= 1:
            method = _uint(payload, pos, 2, "iloc construction method") & 15
            pos += 2
        data_ref = _uint(payload, pos, 2, "iloc data reference")
        base = _uint(payload, pos + 2, base_size, "iloc base offset")
        pos += 2 + base_size
        extent_count = _uint(payload, pos, 2, "iloc extent count")
        pos += 2
        entry = Location(item_id, method, data_ref, base)
        for _ in range(extent_count):
            index = _uint(payload, pos, index_size, "iloc extent index")
            pos += index_size
            offset = _uint(payload, pos, offset_size, "iloc extent offset")
            pos += offset_size
            length = _uint(payload, pos, length_size, "iloc extent length")
            pos += length_size
            entry.extents.append(Extent(index, offset, length))
        entries.append(entry)
    return ItemLocations(version, offset_size, length_size, base_size, index_size, entries)


def _width(values: list[int], allow_zero: bool) -> int:
    top = max(values, default=0)
    if allow_zero and top == 0:
        return 0
    return 4 if top <= 0xFFFFFFFF else 8


def build_iloc(locs: ItemLocations) -> bytes:
    """Serialize ``locs``, choosing field widths that hold every value (at least the original)."""
    version = locs.version
    if any(e.item_id > 0xFFFF for e in locs.entries) or len(locs.entries) > 0xFFFF:
        version = 2
    extents = [x for e in locs.entries for x in e.extents]
    offset_size = max(locs.offset_size, _width([x.offset for x in extents], False))
    length_size = max(locs.length_size, _width([x.length for x in extents], False))
    base_size = max(locs.base_size, _width([e.base for e in locs.entries], True))
    index_size = locs.index_size if version >= 1 else 0
    id_code = ">H" if version < 2 else ">I"
    out = bytearray(
        struct.pack(">B3xBB", version, offset_size << 4 | length_size, base_size << 4 | index_size)
    )
    out += struct.pack(id_code, len(locs.entries))

    def put(value: int, size: int) -> None:
        if size:
            out.extend(value.to_bytes(size, "big"))

    for entry in locs.entries:
        out += struct.pack(id_code, entry.item_id)
        if version >= 1:
            out += struct.pack(">H", entry.method)
        out += struct.pack(">H", entry.data_ref)
        put(entry.base, base_size)
        out += struct.pack(">H", len(entry.extents))
        for extent in entry.extents:
            put(extent.index, index_size)
            put(extent.offset, offset_size)
            put(extent.length, length_size)
    return bytes(out)


def _cstring(data: bytes, pos: int) -> tuple[str, int]:
    end = data.find(b"\x00", pos)
    if end < 0:
        end = len(data)
    return data[pos:end].decode("utf-8", "replace"), end + 1


def parse_infe(payload: bytes) -> ItemInfo:
    if len(payload) < 8:
        raise CorruptFile(FMT, "infe box too small")
    version = payload[0]
    if version < 2:
        item_id = _uint(payload, 4, 2, "infe")
        name_end = payload.find(b"\x00", 8)
        content_type = _cstring(payload, name_end + 1)[0] if name_end >= 0 else ""
        return ItemInfo(item_id, b"mime" if content_type else b"", content_type)
    id_size = 2 if version == 2 else 4
    item_id = _uint(payload, 4, id_size, "infe item id")
    pos = 4 + id_size + 2
    if pos + 4 > len(payload):
        raise CorruptFile(FMT, "infe box too small for its item type")
    item_type = payload[pos : pos + 4]
    _, pos = _cstring(payload, pos + 4)
    content_type = _cstring(payload, pos)[0] if item_type == b"mime" and pos <= len(payload) else ""
    return ItemInfo(item_id, item_type, content_type)


def parse_iref(payload: bytes) -> list[tuple[bytes, int, list[int]]]:
    """``(reference type, from item, [to items])`` for every reference in an ``iref`` payload."""
    if len(payload) < 4:
        raise CorruptFile(FMT, "iref box too small")
    id_size = 2 if payload[0] == 0 else 4
    refs: list[tuple[bytes, int, list[int]]] = []
    for box in iter_boxes(io.BytesIO(payload), 4, len(payload), FMT):
        body = payload[box.payload_start : box.end]
        from_id = _uint(body, 0, id_size, "iref reference")
        count = _uint(body, id_size, 2, "iref reference count")
        if len(body) < id_size + 2 + count * id_size:
            raise CorruptFile(FMT, "iref reference list runs past its box")
        to = [_uint(body, id_size + 2 + i * id_size, id_size, "iref reference") for i in range(count)]
        refs.append((box.type, from_id, to))
    return refs


def build_iref(refs: list[tuple[bytes, int, list[int]]]) -> bytes:
    wide = any(i > 0xFFFF for _, f, to in refs for i in [f, *to])
    code = "I" if wide else "H"
    out = bytearray(struct.pack(">B3x", 1 if wide else 0))
    for typ, from_id, to in refs:
        body = struct.pack(f">{code}H{len(to)}{code}", from_id, len(to), *to)
        out += struct.pack(">I4s", 8 + len(body), typ) + body
    return bytes(out)


@dataclass(slots=True)
class Meta:
    """What a HEIF ``meta`` box says about its items."""

    box: Box
    primary: int
    infos: dict[int, ItemInfo]
    iloc: ItemLocations
    refs: list[tuple[bytes, int, list[int]]]
    idat_start: int  # absolute offset of the idat payload, -1 when there is none
    idat: bytes

    def location(self, item_id: int) -> Location | None:
        return next((e for e in self.iloc.entries if e.item_id == item_id), None)

    def xmp_items(self) -> list[int]:
        return [
            i
            for i, info in sorted(self.infos.items())
            if info.item_type == b"mime" and info.content_type.strip().lower() == XMP_MIME
        ]

    def describes_primary(self, item_id: int) -> bool:
        return any(t == b"cdsc" and f == item_id and self.primary in to for t, f, to in self.refs)


def _rule(typ: bytes, payload: bytes) -> int | None:
    if typ in (b"meta", b"iref"):
        return 4
    if typ == b"iinf":
        if len(payload) < 6:
            raise CorruptFile(FMT, "iinf box too small")
        return 6 if payload[0] == 0 else 8
    return None


def _find_meta(boxes: list[Box]) -> Box:
    metas = [b for b in boxes if b.type == b"meta"]
    if len(metas) != 1:
        raise CorruptFile(FMT, f"expected one top-level meta box, found {len(metas)}")
    return metas[0]


def _parse_meta(tree: Node, box: Box, idat_start: int) -> Meta:
    primary = -1
    infos: dict[int, ItemInfo] = {}
    iloc: ItemLocations | None = None
    refs: list[tuple[bytes, int, list[int]]] = []
    idat = b""
    for child in tree.children or []:
        if child.type == b"pitm":
            id_size = 2 if child.prefix[:1] == b"\x00" else 4
            primary = _uint(child.prefix, 4, id_size, "pitm")
        elif child.type == b"iinf":
            for infe in child.kids(b"infe"):
                info = parse_infe(infe.prefix)
                infos[info.item_id] = info
        elif child.type == b"iloc":
            iloc = parse_iloc(child.prefix)
        elif child.type == b"iref":
            refs = parse_iref(child.payload())
        elif child.type == b"idat":
            idat = child.prefix
    if iloc is None:
        raise CorruptFile(FMT, "meta box has no iloc (item locations)", offset=box.start)
    return Meta(box, primary, infos, iloc, refs, idat_start, idat)


def _load_meta(src: BinaryIO, boxes: list[Box]) -> tuple[Meta, Node]:
    box = _find_meta(boxes)
    tree = parse_node(read_box(src, box, FMT, META_LIMIT), FMT, _rule, box.start)
    idat_start = -1
    for child in children(src, box, FMT, 4):
        if child.type == b"idat":
            idat_start = child.payload_start
    return _parse_meta(tree, box, idat_start), tree


def _item_bytes(src: BinaryIO, meta: Meta, loc: Location, eof: int) -> bytes:
    parts: list[bytes] = []
    total = 0
    for extent in loc.extents:
        start = loc.base + extent.offset
        if loc.method == 0:
            length = extent.length or eof - start
            if start + length > eof:
                raise CorruptFile(FMT, f"item {loc.item_id} data runs past the end of the file", offset=start)
            total += length
            if total > XMP_LIMIT:
                raise CorruptFile(FMT, f"item {loc.item_id} is larger than {XMP_LIMIT} bytes")
            src.seek(start)
            parts.append(read_exact(src, length, FMT, f"item {loc.item_id} data"))
        elif loc.method == 1:
            length = extent.length or len(meta.idat) - start
            if start + length > len(meta.idat):
                raise CorruptFile(FMT, f"item {loc.item_id} runs past the end of idat")
            parts.append(meta.idat[start : start + length])
        else:
            raise CorruptFile(FMT, f"XMP item {loc.item_id} uses iloc construction method {loc.method}")
    return b"".join(parts)


def _xmp_packet(src: BinaryIO, meta: Meta, item_id: int, eof: int) -> bytes:
    loc = meta.location(item_id)
    if loc is None:
        raise CorruptFile(FMT, f"XMP item {item_id} has no iloc entry")
    if loc.data_ref != 0:
        return b""  # stored in another file: nothing we can read
    return _item_bytes(src, meta, loc, eof)


def read(src: BinaryIO) -> list[RawLabel]:
    boxes = top_level(src, FMT)
    meta, _ = _load_meta(src, boxes)
    eof = file_size(src)
    found: list[RawLabel] = []
    for item_id in meta.xmp_items():
        linked = "linked to the primary item" if meta.describes_primary(item_id) else "not linked"
        for value in _xmp.find_values(_xmp_packet(src, meta, item_id, eof), FMT):
            carrier = f"XMP TC260:AIGC (HEIF item {item_id}, {linked})"
            found.append(RawLabel(carrier, value, meta.box.start, is_wrapped(value), True))
    return found


# --- writing -------------------------------------------------------------------------------------


def _new_infe(item_id: int) -> Node:
    version = 2 if item_id <= 0xFFFF else 3
    ident = struct.pack(">H" if version == 2 else ">I", item_id)
    body = struct.pack(">B3x", version) + ident + b"\x00\x00mime\x00" + XMP_MIME.encode() + b"\x00"
    return Node(b"infe", body)


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[0] + b[1] and b[0] < a[0] + a[1]


def _file_ranges(loc: Location, eof: int) -> list[tuple[int, int]]:
    return [(loc.base + x.offset, x.length or eof - loc.base - x.offset) for x in loc.extents]


def _new_packets(src: BinaryIO, meta: Meta, eof: int, value: str) -> tuple[int | None, dict[int, bytes]]:
    """The XMP item to carry the label (linked to the primary first) and every packet that changes."""
    xmp_ids = meta.xmp_items()
    target = next((i for i in xmp_ids if meta.describes_primary(i)), xmp_ids[0] if xmp_ids else None)
    packets: dict[int, bytes] = {}
    for item_id in xmp_ids:
        old = _xmp_packet(src, meta, item_id, eof)
        if item_id == target:
            packets[item_id] = _xmp.merge_packet(old, value, FMT)
        elif _xmp.find_values(old, FMT):
            packets[item_id] = _xmp.remove_values(old, FMT)
    return target, packets


def _add_item(tree: Node, meta: Meta) -> int:
    """A new XMP item (``infe`` v2/v3 and an empty ``iloc`` entry); returns its ID."""
    iinf = tree.kid(b"iinf")
    if iinf is None or iinf.children is None:
        raise CorruptFile(FMT, "meta box has no iinf (item information)", offset=meta.box.start)
    item_id = max([*meta.infos, *(e.item_id for e in meta.iloc.entries)]) + 1
    iinf.children.append(_new_infe(item_id))
    count = len(iinf.kids(b"infe"))
    if iinf.prefix[0] == 0 and count > 0xFFFF:
        iinf.prefix = struct.pack(">B3xI", 1, count)
    else:
        iinf.prefix = iinf.prefix[:4] + count.to_bytes(len(iinf.prefix) - 4, "big")
    meta.iloc.entries.append(Location(item_id, 0, 0, 0))
    return item_id


def _link_to_primary(tree: Node, meta: Meta, item_id: int) -> None:
    """Add ``cdsc`` item_id -> primary, rebuilding ``iref`` (32-bit IDs only when needed)."""
    assert tree.children is not None
    iref = tree.kid(b"iref")
    if iref is None:
        iref = Node(b"iref", b"", [])
        after = tree.kid(b"iinf") or tree.children[-1]
        tree.children.insert(tree.children.index(after) + 1, iref)
    refs = [*meta.refs, (b"cdsc", item_id, [meta.primary])]
    rebuilt = parse_node(Node(b"iref", build_iref(refs)).to_bytes(), FMT, _rule)
    iref.prefix, iref.children = rebuilt.prefix, rebuilt.children


def _rebuild_idat(tree: Node, meta: Meta) -> None:
    """``idat`` holding only the bytes method-1 items still use (a moved packet leaves no copy)."""
    node = tree.kid(b"idat")
    if node is None:
        return
    idat = bytearray()
    for e in meta.iloc.entries:
        if e.method != 1:
            continue
        pieces = []
        for x in e.extents:
            start = e.base + x.offset
            length = x.length or len(meta.idat) - start
            if start + length > len(meta.idat):
                raise CorruptFile(FMT, f"item {e.item_id} runs past the end of idat")
            pieces.append(Extent(x.index, len(idat), length))
            idat += meta.idat[start : start + length]
        e.base, e.extents = 0, pieces
    node.prefix = bytes(idat)


def write(src: BinaryIO, dst: BinaryIO, label: AIGCLabel) -> None:
    boxes = top_level(src, FMT)
    meta, tree = _load_meta(src, boxes)
    eof = file_size(src)
    if meta.primary not in meta.infos:
        raise CorruptFile(
            FMT, "the primary item (pitm) is missing or has no item info", offset=meta.box.start
        )
    value = label.to_json()
    target, packets = _new_packets(src, meta, eof, value)
    if target is None:
        target = _add_item(tree, meta)
        packets[target] = _xmp.new_packet(value)
    if not meta.describes_primary(target):
        _link_to_primary(tree, meta, target)

    # Packets are stored with construction method 0 (file offsets): ExifTool 12.x cannot read XMP
    # from idat. A packet that fits where the old one was is written there; otherwise it goes into
    # an mdat box appended at the end, replacing the one a previous write appended.
    locs = meta.iloc
    live = [
        r
        for e in locs.entries
        if e.method == 0 and e.data_ref == 0 and e.item_id not in packets
        for r in _file_ranges(e, eof)
    ]
    copied = [(b.start, b.size) for b in boxes if b is not meta.box]
    last = boxes[-1]
    drop_last = False
    patches: list[tuple[int, bytes]] = []
    appended: dict[int, tuple[int, int]] = {}
    tail = bytearray()
    for e in locs.entries:
        if e.item_id not in packets:
            continue
        data = packets[e.item_id]
        old = _file_ranges(e, eof) if e.method == 0 and e.data_ref == 0 and e.extents else []
        private = [
            r
            for r in old
            if not any(_overlaps(r, x) for x in live)
            and any(s <= r[0] and r[0] + r[1] <= s + n for s, n in copied)
        ]
        e.method, e.data_ref, e.base = 0, 0, 0
        if len(old) == 1 and private == old and e.extents[0].length and len(data) <= old[0][1]:
            start, length = old[0]
            patches.append((start, data + b"\x00" * (length - len(data))))
            e.extents = [Extent(0, start, len(data))]
            continue
        if (
            len(old) == 1
            and private == old
            and last.type == b"mdat"
            and old[0]
            == (
                last.payload_start,
                last.payload_size,
            )
        ):
            drop_last = True
        else:
            patches += [(start, b"\x00" * length) for start, length in private]
        appended[e.item_id] = (len(tail), len(data))
        e.extents = []
        tail += data
    _rebuild_idat(tree, meta)
    kept = boxes[:-1] if drop_last else boxes
    iloc_node = tree.kid(b"iloc")
    assert iloc_node is not None

    # Method-0 extents are absolute: they move with the meta box's new size, which in turn depends
    # on the iloc field widths the moved offsets need, so settle it in a few rounds.
    originals = [
        (e, e.base, [(x.index, x.offset, x.length) for x in e.extents])
        for e in locs.entries
        if e.method == 0 and e.data_ref == 0 and e.item_id not in appended
    ]
    by_id = {e.item_id: e for e in locs.entries}
    reloc = Relocation()
    size, tail_at = -1, 0
    for _ in range(5):
        for e, base, extents in originals:
            e.base = 0
            e.extents = [
                Extent(i, reloc.map(base + offset, FMT) if reloc.moves else base + offset, length)
                for i, offset, length in extents
            ]
        for item_id, (pos, length) in appended.items():
            by_id[item_id].extents = [Extent(0, tail_at + pos, length)]
        iloc_node.prefix = build_iloc(locs)
        meta_bytes = tree.to_bytes()
        if len(meta_bytes) == size:
            break
        size = len(meta_bytes)
        reloc = layout(kept, {meta.box.start: size})
        tail_at = sum(b.size for b in kept if b is not meta.box) + size + 8
    else:  # pragma: no cover - field widths only grow, so this settles
        raise CorruptFile(FMT, "item offsets did not settle after relocation")
    write_boxes(src, dst, kept, {meta.box.start: meta_bytes}, reloc, FMT, patches)
    if tail:
        dst.write(struct.pack(">I4s", 8 + len(tail), b"mdat") + tail)


def content_digest(src: BinaryIO) -> bytes:
    boxes = top_level(src, FMT)
    meta, _ = _load_meta(src, boxes)
    eof = file_size(src)
    ranges: list[tuple[int, int]] = []
    for child in children(src, meta.box, FMT, 4):
        if child.type == b"iprp":
            ranges += [(b.start, b.size) for b in children(src, child, FMT) if b.type == b"ipco"]
    for loc in sorted(meta.iloc.entries, key=lambda e: e.item_id):
        info = meta.infos.get(loc.item_id)
        if (info is not None and info.item_type in _METADATA_TYPES) or loc.data_ref != 0:
            continue
        for extent in loc.extents:
            start = loc.base + extent.offset
            if loc.method == 0:
                ranges.append((start, extent.length or eof - start))
            elif loc.method == 1:
                if meta.idat_start < 0:
                    raise CorruptFile(FMT, f"item {loc.item_id} refers to a missing idat box")
                length = extent.length or len(meta.idat) - start
                if start + length > len(meta.idat):
                    raise CorruptFile(FMT, f"item {loc.item_id} runs past the end of idat")
                ranges.append((meta.idat_start + start, length))
    for start, length in ranges:
        if start < 0 or length < 0 or start + length > eof:
            raise CorruptFile(FMT, "an item's data runs past the end of the file", offset=start)
    return hash_ranges(src, ranges, FMT)


PLUGIN = FormatPlugin(
    name="HEIF",
    extensions=("heic", "heif", "avif", "hif", "heics", "avifs"),
    mime="image/heif",
    carrier="XMP metadata item (infe mime application/rdf+xml, iref cdsc to the primary item): TC260:AIGC",
    accept=accept,
    read=read,
    write=write,
    content_digest=content_digest,
)
