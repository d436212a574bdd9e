"""MP4/MOV/M4A implicit labels: the ``AIGC`` key in ``moov/udta/meta`` (``mdta`` handler).

TC260-PG-20257A §6.1.1 (video) and TC260-PG-202510A (M4A audio) put the label in a QuickTime
metadata ``meta`` box with handler ``mdta``: a ``keys`` entry ``mdta``/``AIGC`` and the ``ilst`` item
whose atom type is that key's 1-based index, holding a ``data`` atom of type 1 (UTF-8). That is byte
for byte what ``ffmpeg -metadata AIGC=... -movflags use_metadata_tags -c copy`` writes, so ffprobe,
ExifTool (``[Keys] AIGC``) and the verifiers in the wild read it.

Reading walks box headers with seeks and reads only ``moov`` children that can hold metadata, so a
100 MB file with ``moov`` after ``mdat`` costs a few dozen small reads. Besides the named slot it
reports, as extra carriers: other ``mdta`` metas holding ``AIGC`` (``moov/meta``, Apple style), an
iTunes freeform ``----:...:AIGC`` item, the Adobe XMP ``uuid`` box (and MOV ``udta/XMP_``) with
``TC260:AIGC``, and any ``ilst`` item or QuickTime ``udta`` ``©xxx`` string whose whole value is the
``{"AIGC":{...}}`` wrapper.

Writing rebuilds only ``moov`` (and an XMP box that held a copy): other keys, ``ilst`` items and
``udta`` children are kept, duplicate ``AIGC`` keys are dropped and the survivors renumbered, and a
new ``mdta`` meta is appended after any iTunes (``mdir``) meta so mutagen and iTunes still find
theirs first. ``mdat`` is streamed byte for byte. When ``moov`` (or anything else we rewrite) sits
before the media data and changes size, every absolute offset into the moved data is relocated:
``stco``/``co64`` (promoted to ``co64`` past 4 GiB) and ``saio`` in every track, and for fragmented
files each ``tfhd`` explicit base data offset and the ``mfra``/``tfra`` index; ``trun`` and ``sidx``
offsets are relative and stay valid. ``moov`` after ``mdat`` is rewritten with nothing else touched.
Not handled: tables in ``trak/udta`` (not read or scrubbed) and files whose sample data lives in
other files (``dref`` URLs): an offset that lands outside the file's boxes raises ``CorruptFile``.

``content_digest`` is SHA-256 over the payload of every top-level ``mdat`` box, in file order: the
coded samples. Metadata (``moov``, ``udta``, ``uuid``, ``free``) and the ``mdat`` headers are left
out, so writing a label of any length, or relocating offsets, never changes it.

Hand-written because mutagen's MP4 support is iTunes ``ilst`` only (no ``keys``/``mdta``, no MOV) and
rewrites atoms with in-place resizing; ffmpeg needs a subprocess and a full remux of the file.
"""

from __future__ import annotations

import io
import struct
from typing import BinaryIO

from synthguard.errors import CorruptFile
from synthguard.labels.implicit import _xmp
from synthguard.labels.implicit._isobmff import (
    XMP_UUID,
    Box,
    Node,
    children,
    handler_type,
    is_heif,
    is_wrapped,
    iter_boxes,
    layout,
    movie_rule,
    parse_node,
    read_box,
    read_payload,
    relocate_moov,
    top_level,
    write_boxes,
)
from synthguard.labels.implicit.registry import FormatPlugin, hash_ranges
from synthguard.labels.model import AIGCLabel, RawLabel

FMT = "MP4"
KEY = b"AIGC"
# ilst items larger than this (cover art, chapter images) cannot be a label; skip them unread.
ITEM_LIMIT = 1 << 20
KEYS_LIMIT = 1 << 20
XMP_LIMIT = 16 << 20
_TOP_LEVEL = {b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}
_UTF8, _UTF16 = 1, 2


def accept(head: bytes) -> bool:
    if len(head) < 8 or is_heif(head):
        return False
    (size,) = struct.unpack(">I", head[:4])
    return head[4:8] in _TOP_LEVEL and (size >= 8 or size in (0, 1))


# --- reading -------------------------------------------------------------------------------------


def _data_atoms(payload: bytes, offset: int) -> tuple[list[tuple[int, bytes]], str]:
    """An ``ilst`` item's ``data`` atoms as ``(type, value)`` and its freeform ``name``, if any."""
    values: list[tuple[int, bytes]] = []
    name = ""
    for atom in iter_boxes(io.BytesIO(payload), 0, len(payload), FMT):
        body = payload[atom.payload_start : atom.end]
        if atom.type == b"data":
            if len(body) < 8:
                raise CorruptFile(FMT, "ilst data atom shorter than its type and locale", offset=offset)
            values.append((int.from_bytes(body[1:4], "big"), body[8:]))
        elif atom.type == b"name" and len(body) >= 4:
            name = body[4:].decode("utf-8", "replace")
    return values, name


def _text(kind: int, value: bytes) -> str:
    if kind == _UTF16:
        return value.decode("utf-16-be", "replace")
    return value.decode("utf-8", "replace")


def _parse_keys(payload: bytes, offset: int) -> list[tuple[bytes, bytes]]:
    if len(payload) < 8:
        raise CorruptFile(FMT, "keys box too small", offset=offset)
    (count,) = struct.unpack_from(">I", payload, 4)
    keys: list[tuple[bytes, bytes]] = []
    pos = 8
    for _ in range(count):
        if pos + 8 > len(payload):
            raise CorruptFile(FMT, f"keys box holds fewer than its {count} entries", offset=offset)
        size, namespace = struct.unpack_from(">I4s", payload, pos)
        if size < 8 or pos + size > len(payload):
            raise CorruptFile(FMT, f"keys entry of {size} bytes does not fit the box", offset=offset + pos)
        keys.append((namespace, payload[pos + 8 : pos + size]))
        pos += size
    return keys


def _read_meta(src: BinaryIO, meta: Box, where: str) -> list[RawLabel]:
    handler, kids = handler_type(src, meta, FMT)
    keys: list[tuple[bytes, bytes]] = []
    for kid in kids:
        if kid.type == b"keys":
            keys = _parse_keys(read_payload(src, kid, FMT, KEYS_LIMIT), kid.start)
    found: list[RawLabel] = []
    for ilst in (k for k in kids if k.type == b"ilst"):
        for item in children(src, ilst, FMT):
            if item.payload_size > ITEM_LIMIT:
                continue
            values, name = _data_atoms(read_payload(src, item, FMT), item.start)
            if handler == b"mdta":
                index = int.from_bytes(item.type, "big")
                key = keys[index - 1][1] if 1 <= index <= len(keys) else b""
                slot = f"key {key.decode('latin-1')}"
                named = key == KEY
            elif item.type == b"----":
                slot, named = f"item ----:{name}", name == KEY.decode()
            else:
                slot, named = f"item {item.type.decode('latin-1')}", False
            for kind, value in values:
                text = _text(kind, value)
                if named or is_wrapped(text):
                    found.append(
                        RawLabel(
                            carrier=f"MP4 {where} ({handler.decode('latin-1') or 'no'} handler) {slot}",
                            text=text,
                            offset=item.start,
                            wrapped=is_wrapped(text),
                            named_slot=named,
                        )
                    )
    return found


def _read_xmp(src: BinaryIO, box: Box, where: str) -> list[RawLabel]:
    packet = read_payload(src, box, FMT, XMP_LIMIT)
    return [
        RawLabel(f"XMP TC260:AIGC ({where})", value, box.start, is_wrapped(value), True)
        for value in _xmp.find_values(packet, FMT)
    ]


def _qt_string(payload: bytes) -> str | None:
    """The first text of a QuickTime ``udta`` ``©xxx`` atom (16-bit length, 16-bit language, text)."""
    if len(payload) < 4:
        return None
    (length,) = struct.unpack_from(">H", payload)
    if 4 + length > len(payload):
        return None
    return payload[4 : 4 + length].decode("utf-8", "replace")


def _is_xmp(box: Box | Node) -> bool:
    return (box.type == b"uuid" and box.usertype == XMP_UUID) or box.type == b"XMP_"


def _read_moov(src: BinaryIO, moov: Box) -> list[RawLabel]:
    found: list[RawLabel] = []
    for child in children(src, moov, FMT):
        if child.type == b"meta":
            found += _read_meta(src, child, "moov/meta")
        elif _is_xmp(child):
            found += _read_xmp(src, child, "moov uuid box")
        elif child.type == b"udta":
            for entry in children(src, child, FMT):
                if entry.type == b"meta":
                    found += _read_meta(src, entry, "moov/udta/meta")
                elif _is_xmp(entry):
                    found += _read_xmp(src, entry, f"moov/udta/{entry.name}")
                elif entry.type[:1] == b"\xa9" and entry.payload_size <= ITEM_LIMIT:
                    text = _qt_string(read_payload(src, entry, FMT))
                    if text is not None and is_wrapped(text):
                        carrier = f"MP4 moov/udta QuickTime string {entry.name}"
                        found.append(RawLabel(carrier, text, entry.start, True, False))
    return found


def read(src: BinaryIO) -> list[RawLabel]:
    found: list[RawLabel] = []
    for box in top_level(src, FMT):
        if box.type == b"moov":
            found += _read_moov(src, box)
        elif _is_xmp(box):
            found += _read_xmp(src, box, "top-level uuid box")
    return found


# --- writing -------------------------------------------------------------------------------------


def _handler(meta: Node) -> bytes:
    hdlr = meta.kid(b"hdlr")
    return hdlr.prefix[8:12] if hdlr is not None and len(hdlr.prefix) >= 12 else b""


def _item_texts(item: Node) -> tuple[list[str], str]:
    values, name = _data_atoms(item.prefix, 0)
    return [_text(kind, value) for kind, value in values], name


def _scrub_meta(meta: Node) -> None:
    """Drop every AIGC carrier from one ``meta`` (keys renumbered, other items kept)."""
    ilst = meta.kid(b"ilst")
    if _handler(meta) != b"mdta":
        if ilst is not None and ilst.children is not None:
            kept = []
            for item in ilst.children:
                texts, name = _item_texts(item)
                if (item.type == b"----" and name == KEY.decode()) or any(is_wrapped(t) for t in texts):
                    continue
                kept.append(item)
            ilst.children = kept
        return
    keys_node = meta.kid(b"keys")
    keys = _parse_keys(keys_node.prefix, 0) if keys_node is not None else []
    items = ilst.children if ilst is not None and ilst.children is not None else []
    dropped = {i + 1 for i, (_, name) in enumerate(keys) if name == KEY}
    for item in items:
        index = int.from_bytes(item.type, "big")
        if 1 <= index <= len(keys) and any(is_wrapped(t) for t in _item_texts(item)[0]):
            dropped.add(index)
    renumber: dict[int, int] = {}
    kept_keys: list[tuple[bytes, bytes]] = []
    for i, entry in enumerate(keys, start=1):
        if i not in dropped:
            kept_keys.append(entry)
            renumber[i] = len(kept_keys)
    kept_items = []
    for item in items:
        new = renumber.get(int.from_bytes(item.type, "big"))
        if new is not None:  # items of dropped keys, and dangling items no reader can name, go
            item.type = new.to_bytes(4, "big")
            kept_items.append(item)
    if keys_node is not None:
        keys_node.prefix = _keys_payload(keys_node.prefix[:4], kept_keys)
    if ilst is not None:
        ilst.children = kept_items


def _keys_payload(version_flags: bytes, keys: list[tuple[bytes, bytes]]) -> bytes:
    parts = [version_flags, struct.pack(">I", len(keys))]
    for namespace, name in keys:
        parts.append(struct.pack(">I4s", 8 + len(name), namespace) + name)
    return b"".join(parts)


def _scrub_udta(udta: Node) -> None:
    kept = []
    for child in udta.children or []:
        if child.type == b"meta":
            _scrub_meta(child)
        elif _is_xmp(child):
            child.prefix = _xmp.remove_values(child.prefix, FMT)
        elif child.type[:1] == b"\xa9":
            text = _qt_string(child.prefix)
            if text is not None and is_wrapped(text):
                continue
        kept.append(child)
    udta.children = kept


def _mdta_meta() -> Node:
    # The exact boxes ffmpeg's mov_write_meta_tag writes with use_metadata_tags.
    hdlr = Node(b"hdlr", struct.pack(">II4sIIIB", 0, 0, b"mdta", 0, 0, 0, 0))
    return Node(
        b"meta", b"\x00" * 4, [hdlr, Node(b"keys", _keys_payload(b"\x00" * 4, [])), Node(b"ilst", b"", [])]
    )


def _label_moov(moov: Node, value: str) -> None:
    """Exactly one AIGC in ``moov``: every copy removed, ours added to ``udta/meta`` (mdta)."""
    assert moov.children is not None
    for child in moov.children:
        if child.type == b"meta":
            _scrub_meta(child)
        elif _is_xmp(child):
            child.prefix = _xmp.remove_values(child.prefix, FMT)
        elif child.type == b"udta":
            _scrub_udta(child)
    udta = moov.kid(b"udta")
    if udta is None:
        udta = Node(b"udta", b"", [])
        moov.children.append(udta)
    assert udta.children is not None
    meta = next((m for m in udta.kids(b"meta") if _handler(m) == b"mdta"), None)
    if meta is None:
        meta = _mdta_meta()
        udta.children.append(meta)
    assert meta.children is not None
    keys_node = meta.kid(b"keys")
    if keys_node is None:
        keys_node = Node(b"keys", _keys_payload(b"\x00" * 4, []))
        at = next((i + 1 for i, c in enumerate(meta.children) if c.type == b"hdlr"), 0)
        meta.children.insert(at, keys_node)
    ilst = meta.kid(b"ilst")
    if ilst is None:
        ilst = Node(b"ilst", b"", [])
        meta.children.insert(meta.children.index(keys_node) + 1, ilst)
    assert ilst.children is not None
    keys = _parse_keys(keys_node.prefix, 0)
    keys.append((b"mdta", KEY))
    keys_node.prefix = _keys_payload(keys_node.prefix[:4], keys)
    data = Node(b"data", struct.pack(">II", _UTF8, 0) + value.encode("utf-8"))
    ilst.children.append(Node(len(keys).to_bytes(4, "big"), data.to_bytes()))


def write(src: BinaryIO, dst: BinaryIO, label: AIGCLabel) -> None:
    boxes = top_level(src, FMT)
    moovs = [b for b in boxes if b.type == b"moov"]
    if len(moovs) != 1:
        raise CorruptFile(FMT, f"expected one moov box, found {len(moovs)}")
    moov_box = moovs[0]
    tree = parse_node(read_box(src, moov_box, FMT), FMT, movie_rule, moov_box.start)
    _label_moov(tree, label.to_json())
    edited = tree.to_bytes()

    rewritten: dict[int, bytes] = {}
    for box in boxes:
        if _is_xmp(box):
            packet = read_payload(src, box, FMT, XMP_LIMIT)
            stripped = _xmp.remove_values(packet, FMT)
            if stripped != packet:
                rewritten[box.start] = Node(box.type, stripped, None, box.usertype).to_bytes()

    # The new moov's size depends on the relocation (stco may become co64) and vice versa; promotion
    # only ever grows it, so this settles in at most a couple of rounds.
    moov_bytes = edited
    for _ in range(4):
        sizes = {start: len(data) for start, data in rewritten.items()} | {moov_box.start: len(moov_bytes)}
        reloc = layout(boxes, sizes)
        candidate = edited if reloc.identity else relocate_moov(edited, moov_box.start, reloc, FMT)
        if len(candidate) == len(moov_bytes):
            moov_bytes = candidate
            break
        moov_bytes = candidate
    else:  # pragma: no cover - promotion is monotonic, so four rounds always suffice
        raise CorruptFile(FMT, "chunk offsets did not settle after relocation")
    rewritten[moov_box.start] = moov_bytes

    write_boxes(src, dst, boxes, rewritten, reloc, FMT)


def content_digest(src: BinaryIO) -> bytes:
    ranges = [(b.payload_start, b.payload_size) for b in top_level(src, FMT) if b.type == b"mdat"]
    return hash_ranges(src, ranges, FMT)


PLUGIN = FormatPlugin(
    name="MP4",
    extensions=("mp4", "m4v", "m4a", "mov", "qt", "3gp", "3g2", "f4v", "m4b"),
    mime="video/mp4",
    carrier="moov/udta/meta (mdta handler): keys entry AIGC + ilst UTF-8 data atom",
    accept=accept,
    read=read,
    write=write,
    content_digest=content_digest,
)
