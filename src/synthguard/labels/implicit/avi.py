"""AVI: the AIGC label as sub-chunk ``AIGC`` of the ``LIST INFO`` chunk (TC260-PG-20257A, AVI).

Stock ffmpeg cannot write this sub-chunk (the guide's appendix patches ``riffenc.c``), but ffmpeg
and exiftool read any INFO sub-chunk, so the RIFF bytes are written here.

The one rule of the writer: the ``movi`` list and everything after it keep their absolute file
offsets whenever possible, because OpenDML files index their frames with absolute offsets (the
``indx`` super-indexes in ``hdrl`` point at ``ix##`` chunks, which carry a ``qwBaseOffset``), and
some old writers put absolute offsets in ``idx1`` as well. So, in order of preference:

1. the chunks between ``hdrl`` and ``movi`` (``LIST INFO``, ``JUNK``...) are rewritten to the same total
   size: ``LIST INFO`` gets our sub-chunk and a ``JUNK`` chunk absorbs the difference. ffmpeg leaves
   1016 bytes of ``JUNK`` there "for easier tag editing", so this is the path for most files;
2. no room, no OpenDML index and a single RIFF: the ``LIST INFO`` before ``movi`` grows and ``movi``
   moves. ``idx1`` offsets are relative to ``movi`` then; if ``idx1`` turns out to use absolute
   offsets we fall through to 3;
3. no room, a single RIFF: a ``LIST INFO`` goes after the last chunk of ``RIFF AVI`` (after ``idx1``),
   so nothing indexed moves. ffmpeg reads INFO lists there too;
4. no room in a multi-RIFF (``AVIX``, over 1 GiB) OpenDML file: MetadataTooLarge, because every
   option would move indexed data.

Labels elsewhere (another ``LIST INFO`` after ``movi``, a top-level ``AIGC`` chunk) are neutralised in
place: the chunk is replaced by the same chunk without the label plus ``JUNK`` of the same size, so
they too never move later data.

Content digest: SHA-256 over the ``hdrl`` list payload (stream headers and formats) followed by the
payload of every ``movi`` list in file order (the frames, including AVIX parts). INFO, JUNK and the
``idx1`` index are excluded, so no label edit changes the digest.

Why hand-written: mutagen has no AVI support, PyAV/ffmpeg would remux (and cannot write the
sub-chunk), and no Python library edits AVI INFO lists in place.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

from synthguard.errors import CorruptFile, MetadataTooLarge
from synthguard.labels.implicit._riff import (
    MAX_CHUNK_SIZE,
    Chunk,
    Piece,
    children,
    chunk_bytes,
    chunk_pieces,
    emit,
    open_form,
    pieces_length,
    read_chunk,
    read_payload,
)
from synthguard.labels.implicit._slots import MAX_LABEL_BYTES, SLOT, raw_label
from synthguard.labels.implicit.registry import FormatPlugin, copy_range, file_size, hash_ranges, read_exact
from synthguard.labels.model import AIGCLabel, RawLabel

FMT = "AVI"
CARRIER_ID = SLOT.encode()
_JUNK_HEADER = 8
_IDX1_ENTRY = 16
_MAX_RIFF_PARTS = 4096


@dataclass(frozen=True, slots=True)
class _Avi:
    parts: list[Chunk]  # RIFF AVI then RIFF AVIX ...
    top: list[Chunk]  # the chunks of RIFF AVI
    trailing: int  # where bytes after the last RIFF part start


def _accept(head: bytes) -> bool:
    return len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"AVI "


def _is_carrier(cid: bytes) -> bool:
    return cid.upper() == CARRIER_ID


def _open(src: BinaryIO) -> _Avi:
    first = open_form(src, FMT, (b"AVI ",)).chunk
    parts = [first]
    total = file_size(src)
    pos = first.end
    # OpenDML continues the file in RIFF AVIX parts; anything else after the RIFF is kept, not read.
    while pos + 12 <= total and len(parts) < _MAX_RIFF_PARTS:
        src.seek(pos)
        if src.read(4) != b"RIFF":
            break
        part = read_chunk(src, pos, total, FMT)
        if part.form != b"AVIX":
            break
        parts.append(part)
        pos = part.end
    top = list(children(src, first, FMT))
    return _Avi(parts, top, min(pos, total))


def _info_labels(src: BinaryIO, chunk: Chunk) -> list[RawLabel]:
    found: list[RawLabel] = []
    for sub in children(src, chunk, FMT):
        if _is_carrier(sub.id):
            value = read_payload(src, sub, FMT, MAX_LABEL_BYTES)
            found.append(raw_label(f"RIFF LIST/INFO {sub.id.decode('latin-1')}", value, sub.offset))
    return found


def _read(src: BinaryIO) -> list[RawLabel]:
    avi = _open(src)
    found: list[RawLabel] = []
    for chunk in avi.top:
        if chunk.is_list(b"INFO"):
            found += _info_labels(src, chunk)
        elif _is_carrier(chunk.id):
            value = read_payload(src, chunk, FMT, MAX_LABEL_BYTES)
            found.append(raw_label(f"RIFF chunk {chunk.id.decode('latin-1')}", value, chunk.offset))
    return found


def _content_digest(src: BinaryIO) -> bytes:
    avi = _open(src)
    hdrl = next((c for c in avi.top if c.is_list(b"hdrl")), None)
    if hdrl is None:
        raise CorruptFile(FMT, "no hdrl header list")
    ranges = [(hdrl.children_offset, hdrl.size - 4)]
    for part in avi.parts:
        part_chunks = avi.top if part is avi.parts[0] else list(children(src, part, FMT))
        ranges += [(c.children_offset, c.size - 4) for c in part_chunks if c.is_list(b"movi")]
    if len(ranges) == 1:
        raise CorruptFile(FMT, "no movi list")
    return hash_ranges(src, ranges, FMT)


# --- writing --------------------------------------------------------------------------------------


def _info_subchunks(src: BinaryIO, chunk: Chunk) -> list[Piece]:
    kept: list[Piece] = []
    for sub in children(src, chunk, FMT):
        if not _is_carrier(sub.id):
            kept += chunk_pieces(sub)
    return kept


def _info_list(body: list[Piece]) -> list[Piece]:
    return [b"LIST" + struct.pack("<I", 4 + pieces_length(body)) + b"INFO", *body]


def _junk(size: int) -> bytes:
    """A JUNK chunk occupying exactly ``size`` bytes (``size`` is 0 or at least 8, and even)."""
    return b"" if size == 0 else b"JUNK" + struct.pack("<I", size - _JUNK_HEADER) + bytes(size - _JUNK_HEADER)


def _neutralised(src: BinaryIO, chunk: Chunk) -> list[Piece]:
    """A label-carrying chunk rewritten to the same length without the label; others as they are."""
    if _is_carrier(chunk.id):
        return [_junk(chunk.end - chunk.offset)]
    if chunk.is_list(b"INFO") and _info_labels(src, chunk):
        without = _info_list(_info_subchunks(src, chunk))
        return [*without, _junk(chunk.end - chunk.offset - pieces_length(without))]
    return chunk_pieces(chunk)


def _has_opendml_index(src: BinaryIO, top: list[Chunk]) -> bool:
    for chunk in top:
        if chunk.is_list(b"hdrl"):
            for sub in children(src, chunk, FMT):
                if sub.is_list(b"strl") and any(c.id == b"indx" for c in children(src, sub, FMT)):
                    return True
    return False


def _idx1_is_relative(src: BinaryIO, top: list[Chunk], movi: Chunk) -> bool:
    """Whether ``idx1`` offsets count from ``movi`` (the AVI 1.0 rule) rather than the file start."""
    idx1 = next((c for c in top if c.id == b"idx1"), None)
    if idx1 is None or idx1.size < _IDX1_ENTRY:
        return True
    src.seek(idx1.data_offset)
    ckid, _flags, offset, _size = struct.unpack("<4sIII", read_exact(src, _IDX1_ENTRY, FMT, "idx1 entry"))
    src.seek(movi.data_offset + offset)
    return bool(src.read(4) == ckid)


def _write(src: BinaryIO, dst: BinaryIO, label: AIGCLabel) -> None:
    avi = _open(src)
    top = avi.top
    movi_at = next((i for i, c in enumerate(top) if c.is_list(b"movi")), None)
    hdrl_at = next((i for i, c in enumerate(top) if c.is_list(b"hdrl")), None)
    if movi_at is None or hdrl_at is None or hdrl_at > movi_at:
        raise CorruptFile(FMT, "an AVI file needs a hdrl list followed by a movi list")
    ours = chunk_bytes(CARRIER_ID, label.to_json().encode("utf-8"))
    head = top[: hdrl_at + 1]
    region = top[hdrl_at + 1 : movi_at]
    tail = top[movi_at:]

    # The chunks between hdrl and movi, with our label in (the first) LIST INFO and no JUNK.
    rebuilt: list[Piece] = []
    placed = False
    for chunk in region:
        if chunk.id == b"JUNK" or _is_carrier(chunk.id):
            continue
        if chunk.is_list(b"INFO"):
            body = _info_subchunks(src, chunk)
            if not placed:
                body.append(ours)
                placed = True
            rebuilt += _info_list(body)
        else:
            rebuilt += chunk_pieces(chunk)
    if not placed:
        rebuilt += _info_list([ours])
    room = (top[movi_at].offset - region[0].offset) if region else 0
    spare = room - pieces_length(rebuilt)
    after = [p for chunk in tail for p in _neutralised(src, chunk)]

    if spare == 0 or spare >= _JUNK_HEADER:
        middle = [*rebuilt, _junk(spare)]  # path 1: movi keeps its offset
    elif (
        len(avi.parts) == 1 and not _has_opendml_index(src, top) and _idx1_is_relative(src, top, top[movi_at])
    ):
        middle = rebuilt  # path 2: movi moves; idx1 is relative to it
    elif len(avi.parts) == 1:
        # Path 3: leave the head as it is (minus labels) and append the INFO list at the end.
        middle = [p for chunk in region for p in _neutralised(src, chunk)]
        after += _info_list([ours])
    else:
        raise MetadataTooLarge(
            f"{FMT}: no JUNK room before 'movi' for a {len(ours)}-byte label in a multi-part OpenDML "
            "AVI; adding it would move indexed frames"
        )
    pieces = [p for chunk in head for p in _neutralised(src, chunk)] + middle + after
    riff_size = 4 + pieces_length(pieces)
    if riff_size > MAX_CHUNK_SIZE:
        raise MetadataTooLarge(f"{FMT}: with the label the RIFF AVI part would pass 4 GiB")
    dst.write(b"RIFF" + struct.pack("<I", riff_size) + b"AVI ")
    emit(src, dst, pieces, FMT)
    first = avi.parts[0]
    rest = file_size(src) - first.end
    if rest > 0:
        copy_range(src, dst, first.end, rest, FMT)


PLUGIN = FormatPlugin(
    name="AVI",
    extensions=("avi",),
    mime="video/x-msvideo",
    carrier="LIST INFO sub-chunk 'AIGC' holding the JSON",
    accept=_accept,
    read=_read,
    write=_write,
    content_digest=_content_digest,
)
