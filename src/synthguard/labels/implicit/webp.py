"""WebP: the ``AIGC`` label as XMP property ``TC260:AIGC`` in the ``XMP `` chunk (TC260-PG-20259A).

Carrier: one ``XMP `` chunk (fourcc with a trailing space) holding the XMP packet, in a file in the
extended format: a ``VP8X`` header with the XMP flag (0x04) set. A simple file (``VP8 `` or ``VP8L``
only) is converted by adding a ``VP8X`` chunk whose canvas size comes from the key-frame header of the
VP8 bitstream or from the VP8L header (and whose alpha flag mirrors VP8L's alpha hint, like libwebp's
muxer). Chunk order follows the WebP container spec: ``VP8X``, ``ICCP``, ``ANIM``, image data,
``EXIF``, ``XMP `` -- ours goes right after the last image-data or ``EXIF`` chunk, so unknown chunks
that trail stay after it. Odd sizes get a zero pad byte and the RIFF size is rewritten. An existing
packet is merged (property updated, everything else kept) and moved to that place.

Also read (``named_slot=False``): an ``EXIF`` chunk whose UserComment holds the App. B wrapper; on
write it is blanked in place (same length, so no EXIF offset moves). Extra ``XMP `` chunks (a file
should have one) are kept without the ``TC260:AIGC`` property, so exactly one carrier remains.

Content digest: SHA-256 over every chunk's header and data (padding bytes excluded) except ``VP8X``,
``EXIF`` and ``XMP ``, followed by any bytes after the RIFF payload. ``VP8X`` is left out because a
label write adds it (simple files) or changes its flags, and its flags only restate which chunks
exist; its canvas size equals the bitstream's for a still image. For an animation the canvas size is
the one value no other chunk repeats, so a changed animation canvas alone does not change the digest:
the price of a digest that stays put when a simple file gains ``VP8X``. The RIFF size is excluded
too. ``ICCP``, ``ANIM``, ``ANMF``, ``ALPH``, ``VP8 ``/``VP8L`` and unknown chunks are content.

Why hand-written: Pillow can attach XMP only by re-encoding (lossy WebP would lose quality); libwebp's
``webpmux`` is a separate binary and not on every host. The container is a flat RIFF chunk list, so a
splice with small header reads and large copies is simple and runs at copy speed.
"""

from __future__ import annotations

import struct
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

FMT = "WebP"
IMAGE_CHUNKS = frozenset((b"VP8 ", b"VP8L", b"ALPH", b"ANMF", b"ANIM"))
METADATA_CHUNKS = frozenset((b"VP8X", b"EXIF", b"XMP "))
FLAG_ANIMATION, FLAG_XMP, FLAG_EXIF, FLAG_ALPHA, FLAG_ICC = 0x02, 0x04, 0x08, 0x10, 0x20
MAX_RIFF = 0xFFFFFFFF


@dataclass(slots=True)
class _Chunk:
    fourcc: bytes
    start: int
    size: int
    padded: bool  # False only for an odd-sized last chunk whose pad byte the writer left out
    data: bytes = b""

    @property
    def end(self) -> int:
        return self.start + 8 + self.size + (1 if self.padded and self.size & 1 else 0)


@dataclass(slots=True)
class _Layout:
    chunks: list[_Chunk]
    riff_end: int
    size: int


_READ_INTO = (b"VP8X", b"EXIF", b"XMP ")


def _parse(src: BinaryIO, look_inside: bool = True) -> _Layout:
    size = file_size(src)
    src.seek(0)
    head = src.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        raise CorruptFile(FMT, "not a RIFF WEBP file", offset=0)
    (riff_size,) = struct.unpack("<I", head[4:8])
    riff_end = 8 + riff_size
    if riff_size < 4 + 8:
        raise CorruptFile(FMT, f"RIFF size {riff_size} leaves no room for a chunk", offset=4)
    if riff_end > size:
        raise CorruptFile(FMT, f"truncated: RIFF size says {riff_end} bytes, file has {size}", offset=4)
    chunks: list[_Chunk] = []
    pos = 12
    while pos < riff_end:
        if pos + 8 > riff_end:
            raise CorruptFile(FMT, "truncated chunk header", offset=pos)
        src.seek(pos)
        fourcc, length = struct.unpack("<4sI", src.read(8))
        if pos + 8 + length > riff_end:
            raise CorruptFile(FMT, f"chunk {fourcc!r} runs past the RIFF end", offset=pos)
        padded = not (length & 1 and pos + 8 + length == riff_end)
        chunk = _Chunk(fourcc, pos, length, padded)
        if look_inside and (fourcc in _READ_INTO or (not chunks and fourcc in (b"VP8 ", b"VP8L"))):
            want = length if fourcc in _READ_INTO else min(length, 16)
            if want > MAX_METADATA_BYTES:
                raise CorruptFile(FMT, f"{fourcc.decode()} chunk of {length:,} bytes", offset=pos)
            chunk.data = src.read(want)
        chunks.append(chunk)
        pos = chunk.end
    if not chunks or chunks[0].fourcc not in (b"VP8 ", b"VP8L", b"VP8X"):
        raise CorruptFile(FMT, "the first chunk is not VP8, VP8L or VP8X", offset=12)
    return _Layout(chunks, riff_end, size)


def _canvas(first: _Chunk) -> tuple[int, int, bool]:
    """Canvas width, height and alpha hint of a simple-format file, from its bitstream header."""
    data = first.data
    if first.fourcc == b"VP8 ":
        # RFC 6386 9.1: 3-byte frame tag (bit 0 clear on key frames), start code, 14-bit sizes.
        if len(data) < 10 or data[0] & 1 or data[3:6] != b"\x9d\x01\x2a":
            raise CorruptFile(FMT, "VP8 chunk does not start with a key frame", offset=first.start + 8)
        width, height = struct.unpack("<HH", data[6:10])
        return width & 0x3FFF, height & 0x3FFF, False
    # WebP lossless spec 3.1: signature 0x2F, then 14-bit width-1, 14-bit height-1, alpha, version.
    if len(data) < 5 or data[0] != 0x2F:
        raise CorruptFile(FMT, "VP8L chunk lacks its 0x2F signature", offset=first.start + 8)
    (bits,) = struct.unpack("<I", data[1:5])
    if bits >> 29:
        raise CorruptFile(FMT, "VP8L version is not 0", offset=first.start + 8)
    return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, bool((bits >> 28) & 1)


def _chunk_bytes(fourcc: bytes, data: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) & 1 else b"")


# --- plugin functions ----------------------------------------------------------------------------


def accept(head: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def read(src: BinaryIO) -> list[RawLabel]:
    layout = _parse(src)
    found: list[RawLabel] = []
    for chunk in layout.chunks:
        if chunk.fourcc == b"XMP ":
            for value in xmp_values(chunk.data, FMT):
                found.append(
                    RawLabel("XMP TC260:AIGC (WebP XMP chunk)", value, chunk.start, is_wrapped(value))
                )
        elif chunk.fourcc == b"EXIF":
            for _, _, text in exif_label_comments(_tiff(chunk.data)[1]):
                found.append(
                    RawLabel("EXIF UserComment (WebP EXIF chunk)", text, chunk.start, is_wrapped(text), False)
                )
    return found


def _tiff(data: bytes) -> tuple[int, bytes]:
    # The spec says the chunk holds the TIFF structure; some writers keep JPEG's "Exif\0\0" prefix.
    skip = 6 if data.startswith(b"Exif\x00\x00") else 0
    return skip, data[skip:]


def write(src: BinaryIO, dst: BinaryIO, label: AIGCLabel) -> None:
    layout = _parse(src)
    chunks = layout.chunks
    xmps = [chunk for chunk in chunks if chunk.fourcc == b"XMP "]
    packet = _xmp.merge_packet(xmps[0].data if xmps else None, label.to_json(), FMT)
    ours = _chunk_bytes(b"XMP ", packet)

    first = chunks[0]
    if first.fourcc == b"VP8X":
        if first.size < 10:
            raise CorruptFile(FMT, f"VP8X chunk of {first.size} bytes (10 expected)", offset=first.start)
        vp8x = _chunk_bytes(b"VP8X", bytes((first.data[0] | FLAG_XMP,)) + first.data[1:])
        body = chunks[1:]
    else:
        width, height, alpha = _canvas(first)
        present = {chunk.fourcc for chunk in chunks}
        flags = FLAG_XMP
        flags |= FLAG_ALPHA if alpha or b"ALPH" in present else 0
        flags |= FLAG_EXIF if b"EXIF" in present else 0
        flags |= FLAG_ICC if b"ICCP" in present else 0
        flags |= FLAG_ANIMATION if b"ANIM" in present else 0
        canvas = struct.pack("<I", width - 1)[:3] + struct.pack("<I", height - 1)[:3]
        vp8x = _chunk_bytes(b"VP8X", bytes((flags, 0, 0, 0)) + canvas)
        body = chunks

    # Spec order: image data, then EXIF, then XMP; unknown chunks after those stay after ours.
    after = max(
        (i for i, chunk in enumerate(body) if chunk.fourcc in IMAGE_CHUNKS or chunk.fourcc == b"EXIF"),
        default=-1,
    )
    if not any(chunk.fourcc in (b"VP8 ", b"VP8L", b"ANMF") for chunk in body):
        raise CorruptFile(FMT, "no image data chunk (VP8, VP8L or ANMF)", offset=12)
    pieces: list[Piece] = [vp8x]
    for index, chunk in enumerate(body):
        if chunk.fourcc == b"XMP ":
            if chunk is not xmps[0] and _xmp.find_values(chunk.data, FMT):
                pieces.append(_chunk_bytes(b"XMP ", _xmp.remove_values(chunk.data, FMT)))
            elif chunk is not xmps[0]:
                pieces.append((chunk.start, chunk.end - chunk.start))
        elif chunk.fourcc == b"EXIF" and (comments := exif_label_comments(_tiff(chunk.data)[1])):
            skip = _tiff(chunk.data)[0]
            pieces.append(_chunk_bytes(b"EXIF", blank(chunk.data, [(skip + o, n) for o, n, _ in comments])))
        else:
            pieces.append((chunk.start, chunk.end - chunk.start))
            if not chunk.padded:
                pieces.append(b"\x00")
        if index == after:
            pieces.append(ours)

    payload = sum(p[1] if isinstance(p, tuple) else len(p) for p in pieces)
    riff_size = 4 + payload
    if riff_size > MAX_RIFF:
        raise MetadataTooLarge(f"WebP: the file would exceed the RIFF limit of {MAX_RIFF:,} bytes")
    pieces.insert(0, b"RIFF" + struct.pack("<I", riff_size) + b"WEBP")
    pieces.append((layout.riff_end, layout.size - layout.riff_end))
    splice(src, dst, pieces, FMT)


def content_digest(src: BinaryIO) -> bytes:
    layout = _parse(src, look_inside=False)
    ranges = [(c.start, 8 + c.size) for c in layout.chunks if c.fourcc not in METADATA_CHUNKS]
    ranges.append((layout.riff_end, layout.size - layout.riff_end))
    return hash_ranges(src, merge_ranges(ranges), FMT)


PLUGIN = FormatPlugin(
    name="WebP",
    extensions=("webp",),
    mime="image/webp",
    carrier="XMP TC260:AIGC in the 'XMP ' chunk of an extended (VP8X) WebP",
    accept=accept,
    read=read,
    write=write,
    content_digest=content_digest,
)
