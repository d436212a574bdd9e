"""GIF: the ``AIGC`` label as XMP property ``TC260:AIGC`` in the XMP application extension
(TC260-PG-20259A; Adobe XMP specification part 3, section on GIF).

Carrier: one application extension ``21 FF 0B "XMP DataXMP"`` followed by the UTF-8 packet as raw bytes
and the 258-byte "magic trailer" (``01 FF FE ... 01 00 00``), which makes a reader that walks the data
as ordinary sub-blocks land on the block terminator whatever the packet bytes are. It goes where an
existing XMP extension stood if that was before the first image; else right after the logical screen
descriptor and global colour table (after a leading ``NETSCAPE2.0`` loop extension, which old decoders
expect first), so it is ahead of every image. A GIF87a header becomes GIF89a: extensions are 89a.
An existing packet is merged (property updated, everything else kept).

Read: the data is walked as sub-blocks to find the end of each extension (that is how every GIF
decoder skips it), then the packet is the raw data before the magic trailer; an extension written as
ordinary length-prefixed sub-blocks (no trailer) is reassembled from them. Also read as a wrapper form
(``named_slot=False``): a comment extension (``21 FE``) whose text is an AIGC JSON value; on write that
comment is dropped and extra XMP extensions keep everything but the property.

Broken input (a file that ends before the trailer byte ``3B``, an unknown block introducer, a
truncated descriptor) raises ``CorruptFile``. GIF has no lengths for image data, only 255-byte
sub-blocks, so finding every extension means walking the whole file's sub-block chain (one length
byte per 256 bytes, read through a 64 KiB window).

Content digest: SHA-256 over the logical screen descriptor and global colour table, every block except
XMP application extensions and comment extensions (images, graphic control, plain text, other
application extensions such as the loop count and ICC profile), the trailer and anything after it.
The 6-byte signature is excluded because adding an extension upgrades ``GIF87a`` to ``GIF89a``.

Why hand-written: Pillow writes comments but not XMP, and only by re-encoding frames (re-quantising
palettes); no maintained Python library writes the XMP extension. A block splice copies the image
data untouched at copy speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from synthguard.errors import CorruptFile
from synthguard.labels.implicit import _xmp
from synthguard.labels.implicit._image_meta import (
    MAX_METADATA_BYTES,
    Piece,
    is_wrapped,
    looks_like_label,
    merge_ranges,
    splice,
    xmp_values,
)
from synthguard.labels.implicit.registry import FormatPlugin, file_size, hash_ranges
from synthguard.labels.model import AIGCLabel, RawLabel

FMT = "GIF"
XMP_APP = b"\x0bXMP DataXMP"
MAGIC_TRAILER = b"\x01" + bytes(range(0xFF, -1, -1)) + b"\x00"
WINDOW = 1 << 16


class _Reader:
    """Random access through one 64 KiB window: sub-block walks are byte-at-a-time by nature."""

    def __init__(self, src: BinaryIO, size: int) -> None:
        self.src = src
        self.size = size
        self.base = 0
        self.buf = b""

    def _load(self, pos: int) -> None:
        if pos >= self.size:
            raise CorruptFile(FMT, "truncated: the file ends before the GIF trailer (0x3B)", offset=pos)
        self.src.seek(pos)
        self.buf = self.src.read(WINDOW)
        self.base = pos

    def byte(self, pos: int) -> int:
        index = pos - self.base
        if not 0 <= index < len(self.buf):
            self._load(pos)
            index = 0
        return self.buf[index]

    def read(self, pos: int, length: int) -> bytes:
        if pos + length > self.size:
            raise CorruptFile(FMT, "truncated block", offset=pos)
        index = pos - self.base
        if index >= 0 and index + length <= len(self.buf):
            return self.buf[index : index + length]
        self.src.seek(pos)
        return self.src.read(length)

    def skip_blocks(self, pos: int) -> int:
        """Offset after the sub-block chain starting at ``pos`` (after its zero-length terminator)."""
        buf, base = self.buf, self.base
        while True:
            index = pos - base
            if not 0 <= index < len(buf):
                self._load(pos)
                buf, base, index = self.buf, self.base, 0
            length = buf[index]
            pos += length + 1
            if length == 0:
                return pos


@dataclass(slots=True)
class _Block:
    kind: str  # xmp | comment | loop | extension | image
    start: int
    end: int
    data: bytes = b""  # XMP: the raw bytes after the application identifier; comment: its text


@dataclass(slots=True)
class _Layout:
    version: bytes
    screen_end: int  # after the logical screen descriptor and global colour table
    blocks: list[_Block]
    trailer: int
    size: int

    @property
    def first_image(self) -> int:
        for index, block in enumerate(self.blocks):
            if block.kind == "image":
                return index
        return len(self.blocks)


def _unblock(raw: bytes) -> bytes:
    parts: list[bytes] = []
    pos = 0
    while pos < len(raw) and raw[pos]:
        parts.append(raw[pos + 1 : pos + 1 + raw[pos]])
        pos += raw[pos] + 1
    return b"".join(parts)


def _parse(src: BinaryIO, look_inside: bool = True) -> _Layout:
    size = file_size(src)
    reader = _Reader(src, size)
    head = reader.read(0, 13)
    if head[:6] not in (b"GIF87a", b"GIF89a"):
        raise CorruptFile(FMT, "missing GIF87a/GIF89a signature", offset=0)
    packed = head[10]
    pos = 13 + (3 << ((packed & 7) + 1) if packed & 0x80 else 0)
    screen_end = pos
    blocks: list[_Block] = []
    while True:
        intro = reader.byte(pos)
        if intro == 0x3B:
            return _Layout(head[:6], screen_end, blocks, pos, size)
        if intro == 0x21:
            label = reader.byte(pos + 1)
            end = reader.skip_blocks(pos + 2)
            if end > size:
                raise CorruptFile(FMT, "extension runs past the end of the file", offset=pos)
            block = _Block("extension", pos, end)
            if label == 0xFF and end - pos >= 15:
                app = reader.read(pos + 2, 12)
                if app == XMP_APP:
                    block.kind = "xmp"
                elif app[1:] == b"NETSCAPE2.0":
                    block.kind = "loop"
            elif label == 0xFE:
                block.kind = "comment"
            if look_inside and block.kind in ("xmp", "comment"):
                start = pos + 14 if block.kind == "xmp" else pos + 2
                if end - start > MAX_METADATA_BYTES:
                    raise CorruptFile(FMT, f"{block.kind} extension of {end - start:,} bytes", offset=pos)
                raw = reader.read(start, end - start)
                block.data = raw if block.kind == "xmp" else _unblock(raw)
        elif intro == 0x2C:
            descriptor = reader.read(pos, 10)
            local = 3 << ((descriptor[9] & 7) + 1) if descriptor[9] & 0x80 else 0
            # image descriptor, local colour table, LZW minimum code size, then the data sub-blocks
            end = reader.skip_blocks(pos + 10 + local + 1)
            if end > size:
                raise CorruptFile(FMT, "image data runs past the end of the file", offset=pos)
            block = _Block("image", pos, end)
        else:
            raise CorruptFile(FMT, f"unknown block introducer {intro:#04x}", offset=pos)
        blocks.append(block)
        pos = end


def _packet(block: _Block) -> bytes:
    raw = block.data
    if raw.endswith(MAGIC_TRAILER):
        return raw[: -len(MAGIC_TRAILER)]
    return _unblock(raw)


def _comment_text(block: _Block) -> str:
    # GIF89a comments are 7-bit ASCII by the letter; UTF-8 is what writers actually use.
    return block.data.decode("utf-8", errors="replace").strip().strip("\x00").strip()


def _xmp_extension(packet: bytes) -> bytes:
    if b"\x00" in packet:
        raise CorruptFile(FMT, "an XMP packet with a NUL byte cannot be stored in a GIF")
    return b"\x21\xff" + XMP_APP + packet + MAGIC_TRAILER


# --- plugin functions ----------------------------------------------------------------------------


def accept(head: bytes) -> bool:
    return head[:6] in (b"GIF87a", b"GIF89a")


def read(src: BinaryIO) -> list[RawLabel]:
    layout = _parse(src)
    found: list[RawLabel] = []
    for block in layout.blocks:
        if block.kind == "xmp":
            for value in xmp_values(_packet(block), FMT):
                found.append(
                    RawLabel(
                        "XMP TC260:AIGC (GIF application extension)", value, block.start, is_wrapped(value)
                    )
                )
        elif block.kind == "comment" and looks_like_label(text := _comment_text(block)):
            found.append(RawLabel("GIF comment extension", text, block.start, is_wrapped(text), False))
    return found


def write(src: BinaryIO, dst: BinaryIO, label: AIGCLabel) -> None:
    layout = _parse(src)
    blocks = layout.blocks
    xmps = [index for index, block in enumerate(blocks) if block.kind == "xmp"]
    existing = _packet(blocks[xmps[0]]) if xmps else None
    ours = _xmp_extension(_xmp.merge_packet(existing, label.to_json(), FMT))
    if xmps and xmps[0] < layout.first_image:
        at = xmps[0]
    else:
        # -1: right after the screen; 0: after a leading loop extension
        at = 0 if blocks and blocks[0].kind == "loop" else -1

    pieces: list[Piece] = [b"GIF89a", (6, layout.screen_end - 6)]
    if at == -1:
        pieces.append(ours)
    for index, block in enumerate(blocks):
        if block.kind == "xmp":
            if index == at:
                pieces.append(ours)
            elif index != xmps[0]:
                packet = _packet(block)
                if _xmp.find_values(packet, FMT):
                    pieces.append(_xmp_extension(_xmp.remove_values(packet, FMT)))
                else:
                    pieces.append((block.start, block.end - block.start))
        elif block.kind == "comment" and looks_like_label(_comment_text(block)):
            pass
        else:
            pieces.append((block.start, block.end - block.start))
            if index == at:
                pieces.append(ours)
    pieces.append((layout.trailer, layout.size - layout.trailer))
    splice(src, dst, pieces, FMT)


def content_digest(src: BinaryIO) -> bytes:
    layout = _parse(src, look_inside=False)
    ranges = [(6, layout.screen_end - 6)]
    ranges += [(b.start, b.end - b.start) for b in layout.blocks if b.kind not in ("xmp", "comment")]
    ranges.append((layout.trailer, layout.size - layout.trailer))
    return hash_ranges(src, merge_ranges(ranges), FMT)


PLUGIN = FormatPlugin(
    name="GIF",
    extensions=("gif",),
    mime="image/gif",
    carrier="XMP TC260:AIGC in the 'XMP DataXMP' application extension (with the magic trailer)",
    accept=accept,
    read=read,
    write=write,
    content_digest=content_digest,
)
