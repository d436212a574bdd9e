"""WAV: the AIGC label as a top-level RIFF chunk with id ``AIGC`` (TC260-PG-202510A, WAV).

The chunk payload is the bare seven-key JSON, padded to an even length; the RIFF size is fixed up.
We place it just before the ``data`` chunk so readers that look only at the head of a file find it,
and keep every other chunk (``fmt ``, ``fact``, ``LIST/INFO``, ``bext``, ``iXML``, ``cue ``...) byte for
byte and in order.

Other places an ``AIGC`` value turns up in WAV files, all read and all removed on write so the
result carries exactly one label: extra top-level ``AIGC`` chunks (a naive writer appends one after
``data``), a ``LIST/INFO`` sub-chunk ``AIGC`` (some implementations add it as a backup; the guide sets
no INFO rule), and ``TXXX:AIGC`` in the ID3v2 tag that taggers such as mutagen keep in an ``id3 ``
chunk. XMP (``_PMX``) is not an audio carrier in the guide and is not searched.

RF64/BW64 (files over 4 GiB) are read (labels and digest) through their ``ds64`` sizes; writing
them raises UnsupportedFormat, because growing an RF64 file means rewriting ``ds64`` and we have no
real-encoder samples to prove that path.

Content digest: SHA-256 over the payload of the first ``fmt `` chunk followed by the payload of the
first ``data`` chunk: the sample format and the samples, nothing else.

Why hand-written: mutagen's WAVE support only reads/writes an ID3 chunk, and soundfile (libsndfile)
can only write its fixed set of INFO strings and re-encodes the samples on write.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from synthguard.errors import CorruptFile, MetadataTooLarge, UnsupportedFormat
from synthguard.labels.implicit import _id3
from synthguard.labels.implicit._riff import (
    MAX_CHUNK_SIZE,
    RIFF_IDS,
    Chunk,
    Piece,
    children,
    chunk_bytes,
    chunk_pieces,
    chunks,
    emit,
    open_form,
    pieces_length,
    read_payload,
)
from synthguard.labels.implicit._slots import MAX_LABEL_BYTES, SLOT, raw_label
from synthguard.labels.implicit.registry import FormatPlugin, copy_range, file_size, hash_ranges
from synthguard.labels.model import AIGCLabel, RawLabel

FMT = "WAV"
CARRIER_ID = SLOT.encode()
_ID3_IDS = (b"ID3 ", b"id3 ")
# An ID3 chunk bigger than this is not a tag a reader should load to look for one frame.
_MAX_ID3_CHUNK = 64 << 20


def _accept(head: bytes) -> bool:
    return len(head) >= 12 and head[:4] in RIFF_IDS and head[8:12] == b"WAVE"


def _is_carrier(cid: bytes) -> bool:
    return cid.upper() == CARRIER_ID


def _name(cid: bytes) -> str:
    return cid.decode("latin-1")


def _read(src: BinaryIO) -> list[RawLabel]:
    form = open_form(src, FMT, (b"WAVE",))
    found: list[RawLabel] = []
    for chunk in chunks(src, 12, form.chunk.data_end, FMT, form.sizes):
        if _is_carrier(chunk.id):
            value = read_payload(src, chunk, FMT, MAX_LABEL_BYTES)
            found.append(raw_label(f"RIFF chunk {_name(chunk.id)}", value, chunk.offset))
        elif chunk.is_list(b"INFO"):
            for sub in children(src, chunk, FMT):
                if _is_carrier(sub.id):
                    value = read_payload(src, sub, FMT, MAX_LABEL_BYTES)
                    found.append(raw_label(f"RIFF LIST/INFO {_name(sub.id)}", value, sub.offset))
        elif chunk.id in _ID3_IDS and chunk.size <= _MAX_ID3_CHUNK:
            tag = _id3.parse(read_payload(src, chunk, FMT), FMT, chunk.data_offset)
            found += _id3.labels(tag, f"RIFF {_name(chunk.id).strip()} chunk ", chunk.data_offset)
    return found


def _write(src: BinaryIO, dst: BinaryIO, label: AIGCLabel) -> None:
    form = open_form(src, FMT, (b"WAVE",))
    if form.is_rf64:
        raise UnsupportedFormat(
            f"{FMT}: {form.chunk.id.decode()} (64-bit WAV) is read-only in synthguard; "
            "convert to RIFF WAV under 4 GiB to label it",
            message_zh="RF64/BW64 格式的 WAV 文件暂只支持读取隐式标识",
        )
    ours = chunk_bytes(CARRIER_ID, label.to_json().encode("utf-8"))
    pieces: list[Piece] = []
    placed = False
    for chunk in chunks(src, 12, form.chunk.data_end, FMT):
        if _is_carrier(chunk.id):
            continue
        if chunk.is_list(b"INFO"):
            pieces += _info_without_label(src, chunk)
            continue
        if chunk.id in _ID3_IDS and chunk.size <= _MAX_ID3_CHUNK:
            pieces += _id3_without_label(src, chunk)
            continue
        if chunk.id == b"data" and not placed:
            pieces.append(ours)
            placed = True
        pieces += chunk_pieces(chunk)
    if not placed:
        raise CorruptFile(FMT, "no data chunk: nothing to label")
    riff_size = 4 + pieces_length(pieces)
    if riff_size > MAX_CHUNK_SIZE:
        raise MetadataTooLarge(f"{FMT}: with the label the file would pass the 4 GiB RIFF limit")
    dst.write(b"RIFF" + struct.pack("<I", riff_size) + b"WAVE")
    emit(src, dst, pieces, FMT)
    # Bytes after the RIFF chunk (an ID3 tag some taggers append) are not ours to drop.
    trailing = file_size(src) - form.chunk.data_end
    if trailing > 0:
        copy_range(src, dst, form.chunk.data_end, trailing, FMT)


def _info_without_label(src: BinaryIO, chunk: Chunk) -> list[Piece]:
    subs = list(children(src, chunk, FMT))
    if not any(_is_carrier(sub.id) for sub in subs):
        return chunk_pieces(chunk)
    kept: list[Piece] = []
    for sub in subs:
        if not _is_carrier(sub.id):
            kept += chunk_pieces(sub)
    if not kept:
        return []  # the list only held the label
    return [b"LIST" + struct.pack("<I", 4 + pieces_length(kept)) + b"INFO", *kept]


def _id3_without_label(src: BinaryIO, chunk: Chunk) -> list[Piece]:
    tag = _id3.parse(read_payload(src, chunk, FMT), FMT, chunk.data_offset)
    if not _id3.has_label(tag):
        return chunk_pieces(chunk)
    return [chunk_bytes(chunk.id, _id3.rebuild(tag, None, FMT))]


def _content_digest(src: BinaryIO) -> bytes:
    form = open_form(src, FMT, (b"WAVE",))
    fmt_chunk: Chunk | None = None
    data_chunk: Chunk | None = None
    for chunk in chunks(src, 12, form.chunk.data_end, FMT, form.sizes):
        if chunk.id == b"fmt " and fmt_chunk is None:
            fmt_chunk = chunk
        elif chunk.id == b"data" and data_chunk is None:
            data_chunk = chunk
            break
    if fmt_chunk is None or data_chunk is None:
        raise CorruptFile(FMT, "a WAV file needs a fmt chunk before its data chunk")
    ranges = [(fmt_chunk.data_offset, fmt_chunk.size), (data_chunk.data_offset, data_chunk.size)]
    return hash_ranges(src, ranges, FMT)


PLUGIN = FormatPlugin(
    name="WAV",
    extensions=("wav", "wave", "bwf"),
    mime="audio/wav",
    carrier="RIFF sub-chunk 'AIGC' (before the data chunk) holding the JSON",
    accept=_accept,
    read=_read,
    write=_write,
    content_digest=_content_digest,
)
