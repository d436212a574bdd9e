"""PNG: the ``AIGC`` label as XMP property ``TC260:AIGC`` in an ``iTXt`` chunk (TC260-PG-20259A).

Carrier: one ``iTXt`` chunk with keyword ``XML:com.adobe.xmp``, compression flag 0 (a strict verifier
treats a compressed packet as inconclusive), empty language tag and translated keyword, UTF-8 packet.
It goes where an existing XMP chunk stood if that was before the first ``IDAT``, else right after
``IHDR``: always ahead of the image data, as the guide asks, so readers that stop at ``IDAT`` see it.
An existing packet (compressed or not, wherever it was) is merged: the property is updated, the rest
kept.

Also read, as the guide's App. B wrapper forms (``named_slot=False``): ``tEXt``/``zTXt``/``iTXt``
chunks with keyword ``AIGC`` and an ``eXIf`` UserComment holding the value. On write the ``AIGC`` text
chunks are dropped (they carry nothing else), a labelled UserComment is blanked in place (same length,
new CRC), and further XMP chunks keep everything but the property.

Integrity: every chunk CRC we read is verified (``CorruptFile`` on mismatch), i.e. every chunk except
the image data (``IDAT``, ``fdAT``), other chunks over 1 MiB and text chunks over 16 MiB that are not
carriers, all skipped by seeking so that a read never touches pixel data. A missing ``IEND`` means
the file is truncated; an ``IDAT`` CRC is not checked because we neither read nor change that data.

Content digest: SHA-256 over the signature and every chunk (length, type, data, CRC) except the text
and metadata chunks ``tEXt``, ``zTXt``, ``iTXt``, ``eXIf`` and ``tIME``, followed by any bytes after
``IEND``. ``IHDR``, ``PLTE``, ``IDAT``, colour chunks (``iCCP``, ``gAMA`` ...), ``tRNS`` and the APNG
chunks are content: they decide what the pixels look like.

Why hand-written: Pillow can write text chunks only by re-encoding the image; pypng re-encodes too;
a label write needs a chunk splice (headers parsed with small reads, ``IDAT`` copied in big blocks),
which runs at copy speed.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from synthguard.errors import CorruptFile, MetadataTooLarge
from synthguard.labels.implicit import _xmp
from synthguard.labels.implicit._image_meta import (
    MAX_METADATA_BYTES,
    Piece,
    blank,
    exif_label_comments,
    is_wrapped,
    merge_ranges,
    splice,
    xmp_values,
)
from synthguard.labels.implicit.registry import FormatPlugin, file_size, hash_ranges
from synthguard.labels.model import AIGCLabel, RawLabel

FMT = "PNG"
SIGNATURE = b"\x89PNG\r\n\x1a\n"
XMP_KEYWORD = b"XML:com.adobe.xmp"
AIGC_KEYWORD = b"AIGC"
TEXT_CHUNKS = frozenset((b"tEXt", b"zTXt", b"iTXt"))
METADATA_CHUNKS = TEXT_CHUNKS | {b"eXIf", b"tIME"}
IMAGE_DATA = frozenset((b"IDAT", b"fdAT"))
MAX_CHUNK = 0x7FFFFFFF  # PNG 5.3: lengths are at most 2**31 - 1
CHECKED_CHUNK_LIMIT = 1 << 20


@dataclass(slots=True)
class _Chunk:
    type: bytes
    start: int  # offset of the length field
    length: int
    kind: str = "other"  # xmp | aigc | exif | other
    data: bytes = b""

    @property
    def end(self) -> int:
        return self.start + 12 + self.length


@dataclass(slots=True)
class _Layout:
    chunks: list[_Chunk]
    end: int  # after IEND
    size: int

    @property
    def first_idat(self) -> int:
        for index, chunk in enumerate(self.chunks):
            if chunk.type == b"IDAT":
                return index
        return len(self.chunks)


def _parse(src: BinaryIO, look_inside: bool = True) -> _Layout:
    size = file_size(src)
    src.seek(0)
    if src.read(8) != SIGNATURE:
        raise CorruptFile(FMT, "missing PNG signature", offset=0)
    chunks: list[_Chunk] = []
    pos = 8
    while True:
        head = src.read(8)
        if len(head) < 8:
            raise CorruptFile(FMT, "truncated: no IEND chunk", offset=pos)
        length, ctype = struct.unpack(">I4s", head)
        if length > MAX_CHUNK:
            raise CorruptFile(FMT, f"chunk length {length} exceeds 2**31-1", offset=pos)
        if not ctype.isalpha():
            raise CorruptFile(FMT, f"invalid chunk type {ctype!r}", offset=pos)
        if not chunks and ctype != b"IHDR":
            raise CorruptFile(FMT, "the first chunk is not IHDR", offset=pos)
        chunk = _Chunk(ctype, pos, length)
        if chunk.end > size:
            raise CorruptFile(FMT, f"{ctype.decode()} chunk runs past the end of the file", offset=pos)
        metadata = ctype in TEXT_CHUNKS or ctype == b"eXIf"
        if look_inside and metadata and length > MAX_METADATA_BYTES:
            # Too big to hold; only a carrier would have to be held, and no real label is this big.
            if _classify(ctype, src.read(80)) in ("xmp", "aigc"):
                raise CorruptFile(FMT, f"{ctype.decode()} label chunk of {length:,} bytes", offset=pos)
            src.seek(chunk.end)
        elif look_inside and (metadata or (ctype not in IMAGE_DATA and length <= CHECKED_CHUNK_LIMIT)):
            body = src.read(length + 4)
            data = body[:length]
            (crc,) = struct.unpack(">I", body[length:])
            if zlib.crc32(data, zlib.crc32(ctype)) != crc:
                raise CorruptFile(FMT, f"CRC mismatch in {ctype.decode()} chunk", offset=pos)
            chunk.kind = _classify(ctype, data)
            if chunk.kind != "other":
                chunk.data = data
        else:
            src.seek(chunk.end)
        chunks.append(chunk)
        pos = chunk.end
        if ctype == b"IEND":
            return _Layout(chunks, pos, size)


def _classify(ctype: bytes, data: bytes) -> str:
    if ctype == b"eXIf":
        return "exif"
    if ctype not in TEXT_CHUNKS:
        return "other"
    keyword = data[: data.find(b"\x00")] if b"\x00" in data[:80] else b""
    if keyword == XMP_KEYWORD and ctype == b"iTXt":
        return "xmp"
    if keyword == AIGC_KEYWORD:
        return "aigc"
    return "other"


def _inflate(data: bytes, offset: int) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_METADATA_BYTES)
    except zlib.error as exc:
        raise CorruptFile(FMT, f"compressed text does not inflate: {exc}", offset=offset) from exc
    if inflater.unconsumed_tail:
        raise CorruptFile(FMT, "compressed text inflates past 16 MiB", offset=offset)
    return out


def _text(chunk: _Chunk) -> bytes:
    """The text of a ``tEXt``/``zTXt``/``iTXt`` chunk, inflated; raw bytes, encoding left to the caller."""
    data = chunk.data
    nul = data.find(b"\x00")
    rest = data[nul + 1 :]
    if chunk.type == b"tEXt":
        return rest
    if chunk.type == b"zTXt":
        if not rest or rest[0] != 0:
            raise CorruptFile(FMT, "zTXt with an unknown compression method", offset=chunk.start)
        return _inflate(rest[1:], chunk.start)
    # iTXt: flag, method, language tag \0, translated keyword \0, text
    if len(rest) < 2:
        raise CorruptFile(FMT, "iTXt chunk is too short", offset=chunk.start)
    flag, method = rest[0], rest[1]
    lang_end = rest.find(b"\x00", 2)
    trans_end = rest.find(b"\x00", lang_end + 1) if lang_end >= 0 else -1
    if trans_end < 0:
        raise CorruptFile(FMT, "iTXt chunk lacks its language tag or translated keyword", offset=chunk.start)
    text = rest[trans_end + 1 :]
    if flag == 1:
        if method != 0:
            raise CorruptFile(FMT, "iTXt with an unknown compression method", offset=chunk.start)
        return _inflate(text, chunk.start)
    return text


def _decode(chunk: _Chunk, raw: bytes) -> str:
    # tEXt/zTXt are Latin-1 by definition; iTXt is UTF-8.
    return raw.decode("latin-1") if chunk.type != b"iTXt" else raw.decode("utf-8", errors="replace")


def _chunk_bytes(ctype: bytes, data: bytes) -> bytes:
    if len(data) > MAX_CHUNK:
        raise MetadataTooLarge(f"PNG: a {ctype.decode()} chunk of {len(data):,} bytes exceeds 2**31-1")
    return (
        struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(ctype)))
    )


def _xmp_chunk(packet: bytes) -> bytes:
    return _chunk_bytes(b"iTXt", XMP_KEYWORD + b"\x00\x00\x00\x00\x00" + packet)


# --- plugin functions ----------------------------------------------------------------------------


def accept(head: bytes) -> bool:
    return head[:8] == SIGNATURE


def read(src: BinaryIO) -> list[RawLabel]:
    layout = _parse(src)
    found: list[RawLabel] = []
    for chunk in layout.chunks:
        if chunk.kind == "xmp":
            for value in xmp_values(_text(chunk), FMT):
                found.append(RawLabel("XMP TC260:AIGC (PNG iTXt)", value, chunk.start, is_wrapped(value)))
        elif chunk.kind == "aigc":
            text = _decode(chunk, _text(chunk))
            carrier = f"{chunk.type.decode()} keyword AIGC (PNG)"
            found.append(RawLabel(carrier, text, chunk.start, is_wrapped(text), named_slot=False))
        elif chunk.kind == "exif":
            for _, _, text in exif_label_comments(chunk.data):
                found.append(
                    RawLabel("EXIF UserComment (PNG eXIf)", text, chunk.start, is_wrapped(text), False)
                )
    return found


def write(src: BinaryIO, dst: BinaryIO, label: AIGCLabel) -> None:
    layout = _parse(src)
    chunks = layout.chunks
    first_idat = layout.first_idat
    xmps = [index for index, chunk in enumerate(chunks) if chunk.kind == "xmp"]
    existing = _text(chunks[xmps[0]]) if xmps else None
    ours = _xmp_chunk(_xmp.merge_packet(existing, label.to_json(), FMT))
    # Keep the packet where it was when that is already ahead of the image data; else after IHDR.
    at = xmps[0] if xmps and xmps[0] < first_idat else 0
    pieces: list[Piece] = [(0, 8)]
    for index, chunk in enumerate(chunks):
        if index in xmps:
            if index == at:
                pieces.append(ours)
            elif index != xmps[0]:
                packet = _text(chunk)
                if _xmp.find_values(packet, FMT):
                    pieces.append(_xmp_chunk(_xmp.remove_values(packet, FMT)))
                else:
                    pieces.append((chunk.start, chunk.end - chunk.start))
            # the first packet, merged into ``ours``, is dropped where it was
        elif chunk.kind == "aigc":
            pass
        elif chunk.kind == "exif" and (comments := exif_label_comments(chunk.data)):
            pieces.append(_chunk_bytes(b"eXIf", blank(chunk.data, [(o, n) for o, n, _ in comments])))
        else:
            pieces.append((chunk.start, chunk.end - chunk.start))
        if index == 0 and at == 0:
            pieces.append(ours)
    pieces.append((layout.end, layout.size - layout.end))
    splice(src, dst, pieces, FMT)


def content_digest(src: BinaryIO) -> bytes:
    layout = _parse(src, look_inside=False)
    ranges = [(c.start, c.end - c.start) for c in layout.chunks if c.type not in METADATA_CHUNKS]
    ranges.append((layout.end, layout.size - layout.end))
    return hash_ranges(src, merge_ranges([(0, 8), *ranges]), FMT)


PLUGIN = FormatPlugin(
    name="PNG",
    extensions=("png", "apng"),
    mime="image/png",
    carrier="XMP TC260:AIGC in an uncompressed iTXt chunk (keyword XML:com.adobe.xmp) before IDAT",
    accept=accept,
    read=read,
    write=write,
    content_digest=content_digest,
)
