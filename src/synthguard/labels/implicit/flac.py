"""FLAC: the AIGC label as a ``VORBIS_COMMENT`` entry ``AIGC=<json>`` (TC260-PG-202510A, FLAC).

Writing keeps the vendor string and every other comment byte-for-byte, drops every ``AIGC=`` entry
(any case, in any VORBIS_COMMENT block: files with two blocks exist) and appends ours to the first
block, creating the block right after STREAMINFO when the file has none. Every other metadata block
(SEEKTABLE, APPLICATION, CUESHEET, PICTURE...) is copied as it is. PADDING works as in libFLAC's
metaflac and mutagen: when the new metadata fits in the old metadata plus padding, the padding shrinks
(or grows) and the audio frames stay at the same offset; otherwise one 1 KiB PADDING block is
written at the end of the metadata. An ID3v2 tag some rippers put before ``fLaC`` is kept (minus any
``TXXX:AIGC``, which is also read as a carrier).

Content digest: SHA-256 over the STREAMINFO block data (sample rate, channels, total samples and
the MD5 of the decoded audio) followed by every byte after the last metadata block, i.e. the audio
frames; a trailing 128-byte ID3v1 ``TAG`` is excluded.

Why hand-written: mutagen's ``FLAC.save`` does the same block edit, but in place on the open file,
while synthguard writes a temp file that the registry renames (a failure never leaves a
half-written file); the byte-level version is short, streams the frames with ``copy_range`` and
needs no runtime dependency.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from synthguard.errors import CorruptFile, MetadataTooLarge
from synthguard.labels.implicit import _id3, _vorbis
from synthguard.labels.implicit._riff import Piece, emit
from synthguard.labels.implicit.registry import FormatPlugin, file_size, hash_ranges, read_exact
from synthguard.labels.model import AIGCLabel, RawLabel

FMT = "FLAC"
MAGIC = b"fLaC"
STREAMINFO, PADDING, VORBIS_COMMENT = 0, 1, 4
_INVALID_TYPE = 127
_MAX_BLOCK = (1 << 24) - 1
_STREAMINFO_SIZE = 34
_DEFAULT_PADDING = 1024
_ID3V1_SIZE = 128
VENDOR = b"synthguard"


@dataclass(frozen=True, slots=True)
class _Block:
    type: int
    offset: int  # of the 4-byte header
    size: int

    @property
    def data_offset(self) -> int:
        return self.offset + 4


@dataclass(frozen=True, slots=True)
class _Flac:
    id3_end: int  # bytes of ID3v2 tags before fLaC (0 when none)
    blocks: list[_Block]
    audio_start: int


def _accept(head: bytes) -> bool:
    # An ID3v2 tag may precede fLaC; the head is too short to see past it, so the extension decides
    # between MP3 and FLAC for such files (MP3 is listed first for unknown extensions).
    return head[:4] == MAGIC or (head[:3] == b"ID3" and len(head) >= 10 and head[3] in (2, 3, 4))


def _open(src: BinaryIO) -> _Flac:
    size = file_size(src)
    pos = 0
    while True:
        src.seek(pos)
        head = src.read(_id3.HEADER_SIZE)
        if head[:3] != b"ID3":
            break
        pos += _id3.parse_header(head, FMT, pos).total
    src.seek(pos)
    if src.read(4) != MAGIC:
        raise CorruptFile(FMT, "no fLaC stream marker", offset=pos)
    id3_end = pos
    pos += 4
    blocks: list[_Block] = []
    last = False
    while not last:
        src.seek(pos)
        header = read_exact(src, 4, FMT, "metadata block header")
        last, kind = bool(header[0] & 0x80), header[0] & 0x7F
        length = int.from_bytes(header[1:], "big")
        if kind == _INVALID_TYPE:
            raise CorruptFile(FMT, "metadata block type 127 is invalid", offset=pos)
        if pos + 4 + length > size:
            raise CorruptFile(FMT, f"metadata block {kind} claims {length} bytes past the end", offset=pos)
        if not blocks and (kind != STREAMINFO or length != _STREAMINFO_SIZE):
            raise CorruptFile(FMT, "the first metadata block must be a 34-byte STREAMINFO", offset=pos)
        blocks.append(_Block(kind, pos, length))
        pos += 4 + length
    if pos + 2 <= size:
        src.seek(pos)
        sync = src.read(2)
        if sync[0] != 0xFF or sync[1] & 0xFE != 0xF8:
            raise CorruptFile(FMT, "no FLAC frame sync after the last metadata block", offset=pos)
    return _Flac(id3_end, blocks, pos)


def _comments(src: BinaryIO, block: _Block) -> _vorbis.Comments:
    src.seek(block.data_offset)
    data = read_exact(src, block.size, FMT, "VORBIS_COMMENT block")
    return _vorbis.parse(data, FMT, block.data_offset)


def _id3_tags(src: BinaryIO, end: int) -> list[tuple[int, _id3.Tag]]:
    tags: list[tuple[int, _id3.Tag]] = []
    pos = 0
    while pos < end:
        src.seek(pos)
        header = _id3.parse_header(src.read(_id3.HEADER_SIZE), FMT, pos)
        src.seek(pos)
        tags.append((pos, _id3.parse(read_exact(src, header.total, FMT, "ID3v2 tag"), FMT, pos)))
        pos += header.total
    return tags


def _read(src: BinaryIO) -> list[RawLabel]:
    flac = _open(src)
    found: list[RawLabel] = []
    for offset, tag in _id3_tags(src, flac.id3_end):
        found += _id3.labels(tag, "ID3 before fLaC: ", offset)
    for block in flac.blocks:
        if block.type == VORBIS_COMMENT:
            found += _vorbis.labels(_comments(src, block), "VORBIS_COMMENT", block.data_offset)
    return found


def _write(src: BinaryIO, dst: BinaryIO, label: AIGCLabel) -> None:
    flac = _open(src)
    value = label.to_json()
    pieces: list[Piece] = []
    for offset, tag in _id3_tags(src, flac.id3_end):
        pieces.append(_id3.rebuild(tag, None, FMT) if _id3.has_label(tag) else (offset, tag.header.total))
    pieces.append(MAGIC)

    # (type, data) for every block but PADDING, in order, the STREAMINFO first.
    blocks: list[tuple[int, Piece]] = []
    placed = False
    for block in flac.blocks:
        if block.type == PADDING:
            continue
        if block.type == VORBIS_COMMENT:
            comments = _comments(src, block)
            if not placed:
                blocks.append((VORBIS_COMMENT, _vorbis.build(comments, value)))
                placed = True
            elif _vorbis.has_label(comments):
                blocks.append((VORBIS_COMMENT, _vorbis.build(comments, None)))
            else:
                blocks.append((VORBIS_COMMENT, (block.data_offset, block.size)))
        else:
            blocks.append((block.type, (block.data_offset, block.size)))
    if not placed:
        blocks.insert(1, (VORBIS_COMMENT, _vorbis.new(VENDOR, value)))

    def data_length(piece: Piece) -> int:
        return len(piece) if isinstance(piece, bytes) else piece[1]

    old_length = flac.audio_start - flac.id3_end - len(MAGIC)
    new_length = sum(4 + data_length(data) for _, data in blocks)
    spare = old_length - new_length
    if spare >= 4 and spare - 4 <= _MAX_BLOCK:
        blocks.append((PADDING, bytes(spare - 4)))  # the audio frames keep their offset
    elif spare != 0:
        blocks.append((PADDING, bytes(_DEFAULT_PADDING)))
    for index, (kind, data) in enumerate(blocks):
        length = data_length(data)
        if length > _MAX_BLOCK:
            raise MetadataTooLarge(f"{FMT}: metadata block {kind} would be {length} bytes, over 16 MiB")
        flag = 0x80 if index == len(blocks) - 1 else 0
        pieces += [bytes((flag | kind,)) + length.to_bytes(3, "big"), data]
    pieces.append((flac.audio_start, file_size(src) - flac.audio_start))
    emit(src, dst, pieces, FMT)


def _content_digest(src: BinaryIO) -> bytes:
    flac = _open(src)
    end = file_size(src)
    if end - flac.audio_start >= _ID3V1_SIZE:
        src.seek(end - _ID3V1_SIZE)
        if src.read(3) == b"TAG":
            end -= _ID3V1_SIZE
    streaminfo = flac.blocks[0]
    ranges = [(streaminfo.data_offset, streaminfo.size), (flac.audio_start, end - flac.audio_start)]
    return hash_ranges(src, ranges, FMT)


PLUGIN = FormatPlugin(
    name="FLAC",
    extensions=("flac",),
    mime="audio/flac",
    carrier="VORBIS_COMMENT metadata block entry AIGC=<json>",
    accept=_accept,
    read=_read,
    write=_write,
    content_digest=_content_digest,
)
