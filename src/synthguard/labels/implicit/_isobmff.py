"""ISO base media file format boxes (ISO/IEC 14496-12): the parsing shared by ``mp4`` and ``heif``.

MP4/MOV/M4A (TC260-PG-20257A, TC260-PG-202510A) and HEIF/AVIF (TC260-PG-20259A) are both trees of
size-prefixed boxes. This module holds what both need and nothing format-specific:

* ``iter_boxes`` walks box *headers* with seeks, so a reader steps over a 100 MB ``mdat`` without
  reading it;
* ``Node`` is a small mutable tree for the few boxes a writer rebuilds in memory (``moov``, ``meta``);
* ``Relocation`` maps an offset in the source file to the output file when a rewritten box before
  the media data changes size, and the ``shift_*`` helpers apply it to the tables that hold absolute
  file offsets (``stco``/``co64``/``saio`` in ``stbl``, ``tfhd`` base data offsets, ``tfra``).

Hand-written because mutagen only understands iTunes ``ilst`` atoms in M4A (no ``keys``/``mdta``, no
HEIF) and rewrites by shifting the file in place, and pymp4/construct-based parsers load whole boxes
(``mdat`` included) into memory, which breaks the "read only headers" rule for large videos.
"""

from __future__ import annotations

import bisect
import io
import json
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from synthguard.errors import CorruptFile
from synthguard.labels.implicit.registry import copy_range, file_size, read_exact

# Anything we pull into memory (moov, meta, keys, one ilst item) is bounded, so a forged size field
# cannot make us allocate gigabytes; real moov boxes of feature-length films stay well below this.
MAX_IN_MEMORY = 256 << 20
XMP_UUID = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")

# A box whose payload starts with children after a fixed prefix; used by Node parsing.
PrefixRule = Callable[[bytes, bytes], "int | None"]


@dataclass(frozen=True, slots=True)
class Box:
    """One box header as found in the file (offsets are absolute)."""

    type: bytes
    start: int
    header: int
    size: int
    usertype: bytes = b""

    @property
    def end(self) -> int:
        return self.start + self.size

    @property
    def payload_start(self) -> int:
        return self.start + self.header

    @property
    def payload_size(self) -> int:
        return self.size - self.header

    @property
    def name(self) -> str:
        return self.type.decode("latin-1")


def iter_boxes(src: BinaryIO, start: int, end: int, fmt: str) -> Iterator[Box]:
    """The boxes between ``start`` and ``end``, headers only; every box must fit inside the range.

    A tail of fewer than 8 zero bytes is accepted and skipped: QuickTime ends ``udta`` lists with a
    32-bit zero terminator.
    """
    pos = start
    while pos < end:
        src.seek(pos)
        if end - pos < 8:
            rest = src.read(end - pos)
            if rest.strip(b"\x00"):
                raise CorruptFile(fmt, f"{end - pos} stray bytes where a box header should be", offset=pos)
            return
        size, typ = struct.unpack(">I4s", read_exact(src, 8, fmt, "box header"))
        header = 8
        if size == 1:
            if end - pos < 16:
                raise CorruptFile(fmt, f"{typ!r} box: truncated 64-bit size", offset=pos)
            (size,) = struct.unpack(">Q", read_exact(src, 8, fmt, "box size"))
            header = 16
        elif size == 0:
            size = end - pos  # "extends to the end of the enclosing space"
        usertype = b""
        if typ == b"uuid":
            if size < header + 16:
                raise CorruptFile(fmt, "uuid box too small for its user type", offset=pos)
            usertype = read_exact(src, 16, fmt, "uuid user type")
            header += 16
        if size < header:
            raise CorruptFile(fmt, f"{typ!r} box size {size} is smaller than its header", offset=pos)
        if pos + size > end:
            raise CorruptFile(
                fmt,
                f"{typ!r} box of {size} bytes runs {pos + size - end} bytes past the end of its parent",
                offset=pos,
            )
        yield Box(typ, pos, header, size, usertype)
        pos += size


def top_level(src: BinaryIO, fmt: str) -> list[Box]:
    """Every top-level box of the file (headers only)."""
    size = file_size(src)
    if size < 8:
        raise CorruptFile(fmt, f"file of {size} bytes is too short for a box")
    return list(iter_boxes(src, 0, size, fmt))


def children(src: BinaryIO, box: Box, fmt: str, skip: int = 0) -> list[Box]:
    """The child boxes of ``box``, after ``skip`` bytes of the payload (a full box's version/flags)."""
    if box.payload_size < skip:
        raise CorruptFile(fmt, f"{box.name} box too small", offset=box.start)
    return list(iter_boxes(src, box.payload_start + skip, box.end, fmt))


def read_payload(src: BinaryIO, box: Box, fmt: str, limit: int = MAX_IN_MEMORY) -> bytes:
    if box.payload_size > limit:
        raise CorruptFile(
            fmt,
            f"{box.name} box of {box.payload_size} bytes exceeds the {limit}-byte limit",
            offset=box.start,
        )
    src.seek(box.payload_start)
    return read_exact(src, box.payload_size, fmt, f"{box.name} box")


def read_box(src: BinaryIO, box: Box, fmt: str, limit: int = MAX_IN_MEMORY) -> bytes:
    """The whole box, header included."""
    if box.size > limit:
        raise CorruptFile(
            fmt, f"{box.name} box of {box.size} bytes exceeds the {limit}-byte limit", offset=box.start
        )
    src.seek(box.start)
    return read_exact(src, box.size, fmt, f"{box.name} box")


HEIF_BRANDS = frozenset(
    {b"mif1", b"mif2", b"msf1", b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"avif", b"avis"}
)


def ftyp_brands(head: bytes) -> list[bytes]:
    """Major and compatible brands of a leading ``ftyp`` box, as far as ``head`` reaches."""
    if len(head) < 12 or head[4:8] != b"ftyp":
        return []
    (size,) = struct.unpack(">I", head[:4])
    end = min(size, len(head))
    brands = [head[8:12]]
    brands += [head[i : i + 4] for i in range(16, end - 3, 4)]
    return brands


def is_heif(head: bytes) -> bool:
    """HEIF/HEIC/AVIF (ISO/IEC 23008-12) rather than an MP4 movie, judged by the ``ftyp`` brands."""
    return any(brand in HEIF_BRANDS for brand in ftyp_brands(head))


def meta_prefix(payload: bytes) -> int:
    """4 for an ISO ``meta`` full box, 0 for the QuickTime form that has no version/flags.

    Apple's ``moov/meta`` omits version/flags, so its payload starts with a child header (``hdlr``).
    """
    return 0 if payload[4:8] == b"hdlr" else 4


def handler_type(src: BinaryIO, meta: Box, fmt: str) -> tuple[bytes, list[Box]]:
    """The ``hdlr`` handler type of a ``meta`` box (``mdta``, ``mdir``, ``pict``) and its children."""
    src.seek(meta.payload_start)
    first = src.read(8)
    skip = 0 if first[4:8] == b"hdlr" else 4
    kids = children(src, meta, fmt, skip)
    for kid in kids:
        if kid.type == b"hdlr":
            data = read_payload(src, kid, fmt, 1 << 16)
            if len(data) < 12:
                raise CorruptFile(fmt, "hdlr box too small", offset=kid.start)
            return data[8:12], kids
    return b"", kids


def is_wrapped(text: str) -> bool:
    """True when the value is the ``{"AIGC":{...}}`` form (TC260-PG-20259A App. B) rather than bare."""
    stripped = text.strip().strip("\x00")
    if not stripped.startswith("{"):
        return False
    try:
        data = json.loads(stripped)
    except (ValueError, RecursionError):
        return False
    return isinstance(data, dict) and set(data) == {"AIGC"}


# --- an editable in-memory tree ------------------------------------------------------------------


@dataclass(slots=True)
class Node:
    """A box rebuilt in memory. Containers keep ``prefix`` (bytes before the children, e.g. a full
    box's version/flags) and ``children``; leaves keep their whole payload in ``prefix``."""

    type: bytes
    prefix: bytes = b""
    children: list[Node] | None = None
    usertype: bytes = b""
    trailer: bytes = b""

    def kids(self, typ: bytes) -> list[Node]:
        return [c for c in self.children or () if c.type == typ]

    def kid(self, typ: bytes) -> Node | None:
        found = self.kids(typ)
        return found[0] if found else None

    def payload(self) -> bytes:
        parts = [self.prefix]
        for child in self.children or ():
            parts.append(child.to_bytes())
        parts.append(self.trailer)
        return b"".join(parts)

    def to_bytes(self) -> bytes:
        body = self.payload()
        extra = self.usertype
        size = 8 + len(extra) + len(body)
        if size > 0xFFFFFFFF:
            return struct.pack(">I4sQ", 1, self.type, size + 8) + extra + body
        return struct.pack(">I4s", size, self.type) + extra + body


def parse_node(data: bytes, fmt: str, rule: PrefixRule, base: int = 0) -> Node:
    """Parse one whole box held in ``data``; ``rule(type, payload)`` says which boxes are containers."""
    boxes = list(iter_boxes(io.BytesIO(data), 0, len(data), fmt))
    if len(boxes) != 1:
        raise CorruptFile(fmt, "expected exactly one box", offset=base)
    return _node(data, boxes[0], fmt, rule, base, 0)


def _node(data: bytes, box: Box, fmt: str, rule: PrefixRule, base: int, depth: int) -> Node:
    if depth > 32:
        raise CorruptFile(fmt, "boxes nested more than 32 deep", offset=base + box.start)
    payload = data[box.payload_start : box.end]
    prefix_len = rule(box.type, payload)
    if prefix_len is None:
        return Node(box.type, payload, None, box.usertype)
    if prefix_len > len(payload):
        raise CorruptFile(fmt, f"{box.name} box too small", offset=base + box.start)
    kids: list[Node] = []
    stream = io.BytesIO(data)
    last = box.payload_start + prefix_len
    for child in iter_boxes(stream, box.payload_start + prefix_len, box.end, fmt):
        kids.append(_node(data, child, fmt, rule, base, depth + 1))
        last = child.end
    return Node(box.type, payload[:prefix_len], kids, box.usertype, data[last : box.end])


# --- relocation of absolute file offsets ---------------------------------------------------------


@dataclass(slots=True)
class Relocation:
    """Where the top-level boxes copied verbatim land in the output.

    ``moves`` holds ``(old_start, old_end, new_start)`` sorted by ``old_start``. An absolute offset into
    the source maps to the output by the shift of the box that contains it; an offset that lands in a
    rewritten box (or outside every box) cannot be relocated and is reported as corrupt.
    """

    moves: list[tuple[int, int, int]] = field(default_factory=list)
    _starts: list[int] = field(default_factory=list)

    def add(self, old_start: int, old_end: int, new_start: int) -> None:
        self.moves.append((old_start, old_end, new_start))
        self.moves.sort()
        self._starts = [m[0] for m in self.moves]

    @property
    def identity(self) -> bool:
        return all(old == new for old, _, new in self.moves)

    def map(self, offset: int, fmt: str) -> int:
        i = bisect.bisect_right(self._starts, offset) - 1
        if i >= 0:
            old_start, old_end, new_start = self.moves[i]
            if old_start <= offset < old_end or offset == old_end == self.moves[-1][1]:
                return offset - old_start + new_start
        raise CorruptFile(fmt, f"a data offset ({offset}) points outside the media data; cannot relocate it")


def _fullbox(node: Node, fmt: str, minimum: int) -> tuple[int, int]:
    if len(node.prefix) < minimum:
        raise CorruptFile(fmt, f"{node.type!r} box too small")
    word = struct.unpack_from(">I", node.prefix)[0]
    return word >> 24, word & 0xFFFFFF


def shift_chunk_offsets(stbl: Node, reloc: Relocation, fmt: str) -> None:
    """Relocate ``stco``/``co64`` (promoting to ``co64`` past 4 GiB) and ``saio`` in one ``stbl``."""
    for i, child in enumerate(stbl.children or []):
        if child.type in (b"stco", b"co64"):
            _fullbox(child, fmt, 8)
            (count,) = struct.unpack_from(">I", child.prefix, 4)
            width = 4 if child.type == b"stco" else 8
            if len(child.prefix) != 8 + width * count:
                raise CorruptFile(fmt, f"{child.type!r}: {count} entries do not match the box size")
            code = "I" if width == 4 else "Q"
            offsets = [reloc.map(o, fmt) for o in struct.unpack_from(f">{count}{code}", child.prefix, 8)]
            if width == 4 and offsets and max(offsets) > 0xFFFFFFFF:
                child = Node(b"co64", b"", None)
                width, code = 8, "Q"
            child.prefix = struct.pack(">II", 0, count) + struct.pack(f">{count}{code}", *offsets)
            stbl.children[i] = child  # type: ignore[index]
        elif child.type == b"saio":
            version, flags = _fullbox(child, fmt, 8)
            pos = 4 + (8 if flags & 1 else 0)
            if len(child.prefix) < pos + 4:
                raise CorruptFile(fmt, "saio box too small")
            (count,) = struct.unpack_from(">I", child.prefix, pos)
            code, width = ("I", 4) if version == 0 else ("Q", 8)
            if len(child.prefix) != pos + 4 + width * count:
                raise CorruptFile(fmt, "saio: entry count does not match the box size")
            offsets = [
                reloc.map(o, fmt) for o in struct.unpack_from(f">{count}{code}", child.prefix, pos + 4)
            ]
            if width == 4 and offsets and max(offsets) > 0xFFFFFFFF:
                raise CorruptFile(fmt, "saio offsets would exceed 32 bits after relocation")
            child.prefix = child.prefix[: pos + 4] + struct.pack(f">{count}{code}", *offsets)


_MOVIE_CONTAINERS = frozenset(
    {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"udta", b"edts", b"mvex", b"ilst"}
)


def movie_rule(typ: bytes, payload: bytes) -> int | None:
    """Containers of a ``moov`` tree worth opening: the track tables and the metadata boxes."""
    if typ in _MOVIE_CONTAINERS:
        return 0
    if typ == b"meta" and len(payload) >= 8:
        return meta_prefix(payload)
    return None


def relocate_moov(data: bytes, start: int, reloc: Relocation, fmt: str) -> bytes:
    """A whole ``moov`` box with the absolute offsets of every track's sample tables relocated."""
    tree = parse_node(data, fmt, movie_rule, start)
    for trak in tree.kids(b"trak"):
        for mdia in trak.kids(b"mdia"):
            for minf in mdia.kids(b"minf"):
                for stbl in minf.kids(b"stbl"):
                    shift_chunk_offsets(stbl, reloc, fmt)
    return tree.to_bytes()


def shift_moof(data: bytes, old_start: int, reloc: Relocation, fmt: str) -> bytes:
    """A ``moof`` with every explicit ``tfhd`` base data offset relocated (same size).

    ``trun`` data offsets and ``saio`` inside a fragment are relative to that base (or to the ``moof``
    itself), so only the explicit base needs moving.
    """
    out = bytearray(data)
    stream = io.BytesIO(data)
    for traf in iter_boxes(stream, 8, len(data), fmt):
        if traf.type != b"traf":
            continue
        for box in iter_boxes(stream, traf.payload_start, traf.end, fmt):
            if box.type != b"tfhd":
                continue
            if box.payload_size < 8:
                raise CorruptFile(fmt, "tfhd box too small", offset=old_start + box.start)
            (flags,) = struct.unpack_from(">I", data, box.payload_start)
            if flags & 1:
                at = box.payload_start + 8
                if box.end < at + 8:
                    raise CorruptFile(fmt, "tfhd box too small for its base data offset")
                (base,) = struct.unpack_from(">Q", data, at)
                struct.pack_into(">Q", out, at, reloc.map(base, fmt))
    return bytes(out)


def shift_mfra(data: bytes, reloc: Relocation, fmt: str) -> bytes:
    """An ``mfra`` whose ``tfra`` entries point at the relocated ``moof`` boxes (same size)."""
    out = bytearray(data)
    stream = io.BytesIO(data)
    for box in iter_boxes(stream, 8, len(data), fmt):
        if box.type != b"tfra":
            continue
        p = box.payload_start
        if box.payload_size < 16:
            raise CorruptFile(fmt, "tfra box too small")
        (word,) = struct.unpack_from(">I", data, p)
        version = word >> 24
        (sizes, count) = struct.unpack_from(">II", data, p + 8)
        extra = ((sizes >> 4) & 3) + ((sizes >> 2) & 3) + (sizes & 3) + 3
        width = 8 if version == 1 else 4
        entry = 2 * width + extra
        if box.payload_size != 16 + count * entry:
            raise CorruptFile(fmt, "tfra: entry count does not match the box size")
        code = "Q" if width == 8 else "I"
        for i in range(count):
            at = p + 16 + i * entry + width
            (moof,) = struct.unpack_from(f">{code}", data, at)
            moved = reloc.map(moof, fmt)
            if moved > (1 << (8 * width)) - 1:
                raise CorruptFile(fmt, "tfra offset would overflow after relocation")
            struct.pack_into(f">{code}", out, at, moved)
    return bytes(out)


def layout(boxes: list[Box], sizes: dict[int, int]) -> Relocation:
    """Where each top-level box copied verbatim lands, given the new sizes of the rewritten ones
    (keyed by their old start)."""
    reloc = Relocation()
    pos = 0
    for box in boxes:
        if box.start in sizes:
            pos += sizes[box.start]
        else:
            reloc.add(box.start, box.end, pos)
            pos += box.size
    return reloc


def write_boxes(
    src: BinaryIO,
    dst: BinaryIO,
    boxes: list[Box],
    rewritten: dict[int, bytes],
    reloc: Relocation,
    fmt: str,
    patches: list[tuple[int, bytes]] | None = None,
) -> None:
    """Write the output: rewritten boxes from memory, the rest streamed from ``src``.

    When data moved, ``moov``/``moof``/``mfra`` boxes not already rewritten get their absolute
    offsets relocated (same size). ``patches`` lists ``(source offset, bytes)`` overwrites inside
    copied boxes: a metadata packet updated in place, or zeros over a dead packet so no stale copy
    of a label survives in the bytes.
    """
    for box in boxes:
        if box.start in rewritten:
            dst.write(rewritten[box.start])
        elif not reloc.identity and box.type in (b"moov", b"moof", b"mfra"):
            data = read_box(src, box, fmt)
            if box.type == b"moov":
                moved = relocate_moov(data, box.start, reloc, fmt)
                if len(moved) != len(data):
                    raise CorruptFile(fmt, "moov sample offsets would need 64-bit tables", offset=box.start)
            elif box.type == b"moof":
                moved = shift_moof(data, box.start, reloc, fmt)
            else:
                moved = shift_mfra(data, reloc, fmt)
            dst.write(moved)
        else:
            _copy_patched(src, dst, box.start, box.size, patches or [], fmt)


def _copy_patched(
    src: BinaryIO, dst: BinaryIO, start: int, size: int, patches: list[tuple[int, bytes]], fmt: str
) -> None:
    pos, end = start, start + size
    for p_start, data in sorted(patches):
        lo, hi = max(p_start, pos), min(p_start + len(data), end)
        if lo >= hi:
            continue
        copy_range(src, dst, pos, lo - pos, fmt)
        dst.write(data[lo - p_start : hi - p_start])
        pos = hi
    copy_range(src, dst, pos, end - pos, fmt)
