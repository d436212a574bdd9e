"""RIFF chunk walking shared by the RIFF formats (WAV, AVI; WebP can use it too).

A RIFF file is a tree of chunks: a 4-byte id, a 32-bit little-endian size, the payload and a pad
byte when the size is odd; ``RIFF`` and ``LIST`` chunks start their payload with a 4-byte form type
and hold more chunks. The walker here never reads a payload: it seeks from header to header, so
reading a label from a multi-gigabyte WAV or AVI costs a handful of small reads. Every size is checked
against the bytes that remain, so a bad length raises ``CorruptFile`` instead of sending a reader
past the end of the file, and every step moves forward by at least 8 bytes, so no input loops.

RF64/BW64 (EBU Tech 3306 / ITU-R BS.2088) replace 32-bit sizes by ``0xFFFFFFFF`` and keep the real
ones in a ``ds64`` chunk; :func:`open_form` resolves them so readers work on those files too.

Writers describe their output as a list of :data:`Piece`: literal bytes or ``(start, length)``
ranges copied from the source with ``registry.copy_range``, so media payloads stream through
untouched and the new container size is known before the first byte is written.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from synthguard.errors import CorruptFile
from synthguard.labels.implicit.registry import copy_range, file_size, read_exact

CONTAINER_IDS = (b"RIFF", b"LIST")
RIFF_IDS = (b"RIFF", b"RF64", b"BW64")
MAX_CHUNK_SIZE = 0xFFFFFFFF
# RF64 writers put this in every 32-bit size whose real value lives in ds64.
SIZE_IN_DS64 = 0xFFFFFFFF

Piece = bytes | tuple[int, int]


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk header: where it starts, its declared payload size and, for RIFF/LIST, its form."""

    id: bytes
    offset: int
    size: int
    form: bytes = b""

    @property
    def data_offset(self) -> int:
        return self.offset + 8

    @property
    def data_end(self) -> int:
        return self.data_offset + self.size

    @property
    def end(self) -> int:
        """Where the next chunk starts (after the pad byte of an odd-sized payload)."""
        return self.data_end + (self.size & 1)

    @property
    def children_offset(self) -> int:
        return self.data_offset + 4

    def is_list(self, form: bytes) -> bool:
        return self.id in CONTAINER_IDS and self.form == form


@dataclass(frozen=True, slots=True)
class Form:
    """The outer ``RIFF`` (or RF64/BW64) chunk and the 64-bit sizes an RF64 ``ds64`` supplies."""

    chunk: Chunk
    sizes: dict[bytes, int]

    @property
    def is_rf64(self) -> bool:
        return self.chunk.id != b"RIFF"


def valid_id(cid: bytes) -> bool:
    """FourCCs are printable ASCII; anything else means we are not at a chunk header."""
    return len(cid) == 4 and all(0x20 <= b <= 0x7E for b in cid)


def read_chunk(
    src: BinaryIO, offset: int, end: int, fmt: str, sizes: dict[bytes, int] | None = None
) -> Chunk:
    """The chunk header at ``offset``, checked to fit before ``end``."""
    src.seek(offset)
    head = read_exact(src, 8, fmt, "chunk header")
    cid = head[:4]
    if not valid_id(cid):
        raise CorruptFile(fmt, f"expected a chunk id, found bytes {cid.hex(' ')}", offset=offset)
    (size,) = struct.unpack("<I", head[4:])
    if size == SIZE_IN_DS64 and sizes and cid in sizes:
        size = sizes[cid]
    room = end - offset - 8
    if size > room:
        raise CorruptFile(
            fmt, f"chunk {cid.decode('latin-1')!r} claims {size} bytes but only {room} remain", offset=offset
        )
    form = b""
    if cid in CONTAINER_IDS or cid in RIFF_IDS:
        if size < 4:
            raise CorruptFile(
                fmt, f"{cid.decode('latin-1')} chunk too small for its form type", offset=offset
            )
        form = read_exact(src, 4, fmt, "form type")
    return Chunk(cid, offset, size, form)


def chunks(
    src: BinaryIO, start: int, end: int, fmt: str, sizes: dict[bytes, int] | None = None
) -> Iterator[Chunk]:
    """The chunks laid out between ``start`` and ``end`` (one level; recurse with ``children``).

    A final odd-sized chunk may lack its pad byte (common in the wild); fewer than 8 stray bytes at
    the end are accepted only when they are zero (padding), anything else is corruption.
    """
    pos = start
    while pos < end:
        if end - pos < 8:
            src.seek(pos)
            stray = src.read(end - pos)
            if stray.strip(b"\x00"):
                raise CorruptFile(fmt, f"{end - pos} stray bytes after the last chunk", offset=pos)
            return
        chunk = read_chunk(src, pos, end, fmt, sizes)
        yield chunk
        pos = min(chunk.end, end)


def children(src: BinaryIO, chunk: Chunk, fmt: str) -> Iterator[Chunk]:
    """The sub-chunks of a RIFF/LIST chunk."""
    return chunks(src, chunk.children_offset, chunk.data_end, fmt)


def read_payload(src: BinaryIO, chunk: Chunk, fmt: str, limit: int | None = None) -> bytes:
    src.seek(chunk.data_offset)
    size = chunk.size if limit is None else min(chunk.size, limit)
    return read_exact(src, size, fmt, f"{chunk.id.decode('latin-1')!r} chunk")


def open_form(src: BinaryIO, fmt: str, forms: tuple[bytes, ...]) -> Form:
    """The outer RIFF chunk at offset 0, its form one of ``forms``; resolves RF64/BW64 sizes."""
    total = file_size(src)
    if total < 12:
        raise CorruptFile(fmt, f"file is {total} bytes, too short for a RIFF header", offset=0)
    src.seek(0)
    head = read_exact(src, 12, fmt, "RIFF header")
    cid, form = head[:4], head[8:12]
    if cid not in RIFF_IDS or form not in forms:
        raise CorruptFile(fmt, f"not a RIFF {'/'.join(f.decode() for f in forms)} file", offset=0)
    (size,) = struct.unpack("<I", head[4:8])
    sizes: dict[bytes, int] = {}
    if cid != b"RIFF":
        size, sizes = _ds64(src, total, fmt)
    if 8 + size > total:
        raise CorruptFile(fmt, f"truncated: the RIFF header claims {8 + size} bytes, the file has {total}")
    if size < 4:
        raise CorruptFile(fmt, "RIFF chunk too small for its form type", offset=0)
    return Form(Chunk(cid, 0, size, form), sizes)


def _ds64(src: BinaryIO, total: int, fmt: str) -> tuple[int, dict[bytes, int]]:
    """RF64 ``ds64``: the real RIFF size, the ``data`` size and a table of other 64-bit sizes."""
    ds64 = read_chunk(src, 12, total, fmt)
    if ds64.id != b"ds64" or ds64.size < 28:
        raise CorruptFile(fmt, "RF64 file without a ds64 chunk first", offset=12)
    body = read_payload(src, ds64, fmt, limit=1 << 16)
    riff_size, data_size, _samples, count = struct.unpack_from("<QQQI", body)
    sizes = {b"data": data_size}
    for index in range(min(count, (len(body) - 28) // 12)):
        cid, size = struct.unpack_from("<4sQ", body, 28 + 12 * index)
        sizes[cid] = size
    return riff_size, sizes


def chunk_bytes(cid: bytes, payload: bytes) -> bytes:
    """A complete chunk: header, payload and the pad byte RIFF requires after an odd payload."""
    if len(payload) > MAX_CHUNK_SIZE:
        raise ValueError("chunk payload over 4 GiB")
    return cid + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) & 1 else b"")


def list_bytes(form: bytes, body: list[bytes]) -> bytes:
    return chunk_bytes(b"LIST", form + b"".join(body))


def chunk_pieces(chunk: Chunk) -> list[Piece]:
    """Copy a chunk as it is, adding the pad byte if a final odd chunk was written without one."""
    if chunk.size & 1:
        return [(chunk.offset, 8 + chunk.size), b"\x00"]
    return [(chunk.offset, 8 + chunk.size)]


def pieces_length(pieces: list[Piece]) -> int:
    return sum(len(p) if isinstance(p, bytes) else p[1] for p in pieces)


def emit(src: BinaryIO, dst: BinaryIO, pieces: list[Piece], fmt: str) -> None:
    for piece in pieces:
        if isinstance(piece, bytes):
            dst.write(piece)
        else:
            copy_range(src, dst, piece[0], piece[1], fmt)
