"""MP3: the AIGC label as an ID3v2 ``TXXX`` frame with description ``AIGC`` (TC260-PG-202510A, MP3).

Layout handled: any number of ID3v2 tags at the head (stacked tags exist in the wild), the MPEG
audio frames, then optional trailers in any order: an appended ID3v2.4 tag (with its ``3DI``
footer), an APEv2 tag and a 128-byte ID3v1 ``TAG``.

Writing: the label goes into the first head tag in that tag's version: v2.4 with UTF-8 text
(encoding byte 3), or v2.3 with Latin-1 (the JSON is ASCII, so nothing is lost and the v2.3 tag keeps
its version; UTF-16 text is missed by some verifiers). Every other frame is kept byte-for-byte and
every other ``TXXX:AIGC`` in any tag is removed, so the file ends with exactly one. When the new frames
fit in the old tag's padding the tag keeps its size and the audio does not move (mutagen's rule);
otherwise the tag grows by ``_id3.DEFAULT_PADDING``. A file without a tag gets a new v2.4 tag.
See ``_id3`` for unsynchronisation, extended headers and the v2.2 refusal.

Content digest: SHA-256 over the audio bytes from the end of the last head ID3v2 tag to the start of
the trailers (appended ID3v2, APEv2, ID3v1 are excluded), which no tag edit can change.

Why hand-written: mutagen reads and writes ID3 well (and the tests use it as the third-party
reader and writer), but it edits files in place (``resize_bytes`` on the open file) while synthguard
writes a new file and renames it, it rewrites every frame it re-serialises (upgrading v2.3 frames,
re-encoding text) instead of keeping unknown frames byte-for-byte, and it does not handle stacked or
appended tags; it would also become a runtime dependency for one frame.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

from synthguard.errors import CorruptFile
from synthguard.labels.implicit import _id3
from synthguard.labels.implicit._riff import Piece, emit
from synthguard.labels.implicit.registry import FormatPlugin, file_size, hash_ranges, read_exact
from synthguard.labels.model import AIGCLabel, RawLabel

FMT = "MP3"
_ID3V1_SIZE = 128
_APE_FOOTER_SIZE = 32
_MAX_TRAILERS = 8


@dataclass(frozen=True, slots=True)
class _Region:
    offset: int
    length: int
    kind: str  # "id3v2", "ape", "id3v1"


@dataclass(frozen=True, slots=True)
class _Layout:
    head_tags: list[_Region]
    audio: tuple[int, int]
    trailers: list[_Region]  # in file order


def _is_mpeg_sync(head: bytes) -> bool:
    """An MPEG audio frame header: 11 sync bits, Layer II or III, a usable bitrate and sample rate.

    Layer I and free-format bitrates are refused: they are vanishingly rare in files, and ``FF FE``
    (a UTF-16LE byte-order mark) would otherwise pass as a Layer I frame.
    """
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 3, (head[1] >> 1) & 3
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 3
    return version != 1 and layer in (1, 2) and bitrate not in (0, 15) and rate != 3


def _accept(head: bytes) -> bool:
    if head[:3] == b"ID3":
        return len(head) >= 10 and head[3] in (2, 3, 4) and head[4] != 0xFF
    return _is_mpeg_sync(head)


def _layout(src: BinaryIO) -> _Layout:
    size = file_size(src)
    head_tags: list[_Region] = []
    pos = 0
    while pos + _id3.HEADER_SIZE <= size:
        src.seek(pos)
        head = src.read(_id3.HEADER_SIZE)
        if head[:3] != b"ID3":
            break
        header = _id3.parse_header(head, FMT, pos)
        if pos + header.total > size:
            raise CorruptFile(FMT, f"truncated: the ID3v2 tag claims {header.total} bytes", offset=pos)
        head_tags.append(_Region(pos, header.total, "id3v2"))
        pos += header.total
    src.seek(0)
    if not head_tags and not _is_mpeg_sync(src.read(4)):
        raise CorruptFile(FMT, "neither an ID3v2 tag nor an MPEG audio frame at the start", offset=0)
    start, end = pos, size
    trailers: list[_Region] = []
    for _ in range(_MAX_TRAILERS):
        region = _trailer(src, start, end)
        if region is None:
            break
        trailers.insert(0, region)
        end = region.offset
    return _Layout(head_tags, (start, end - start), trailers)


def _trailer(src: BinaryIO, start: int, end: int) -> _Region | None:
    """The metadata block that ends at ``end`` (ID3v1, APEv2 or footer-marked ID3v2), if any."""
    room = end - start
    if room >= _ID3V1_SIZE:
        src.seek(end - _ID3V1_SIZE)
        if src.read(3) == b"TAG":
            return _Region(end - _ID3V1_SIZE, _ID3V1_SIZE, "id3v1")
    if room >= _APE_FOOTER_SIZE:
        src.seek(end - _APE_FOOTER_SIZE)
        footer = src.read(_APE_FOOTER_SIZE)
        if footer[:8] == b"APETAGEX":
            tag_size, _items, flags = struct.unpack_from("<III", footer, 12)
            total = tag_size + (_APE_FOOTER_SIZE if flags & 0x80000000 else 0)
            if not _APE_FOOTER_SIZE <= total <= room:
                raise CorruptFile(FMT, "APEv2 tag size is out of range", offset=end - _APE_FOOTER_SIZE)
            return _Region(end - total, total, "ape")
    if room >= 2 * _id3.HEADER_SIZE:
        src.seek(end - _id3.HEADER_SIZE)
        footer = src.read(_id3.HEADER_SIZE)
        if footer[:3] == b"3DI":
            header = _id3.parse_header(footer, FMT, end - _id3.HEADER_SIZE)
            if header.total > room:
                raise CorruptFile(
                    FMT, "appended ID3v2 tag size is out of range", offset=end - _id3.HEADER_SIZE
                )
            return _Region(end - header.total, header.total, "id3v2")
    return None


def _tag(src: BinaryIO, region: _Region) -> _id3.Tag:
    src.seek(region.offset)
    return _id3.parse(read_exact(src, region.length, FMT, "ID3v2 tag"), FMT, region.offset)


def _read(src: BinaryIO) -> list[RawLabel]:
    layout = _layout(src)
    found: list[RawLabel] = []
    for region in [*layout.head_tags, *layout.trailers]:
        if region.kind == "id3v2":
            found += _id3.labels(_tag(src, region), "", region.offset)
    return found


def _write(src: BinaryIO, dst: BinaryIO, label: AIGCLabel) -> None:
    layout = _layout(src)
    value = label.to_json()
    pieces: list[Piece] = []
    if layout.head_tags:
        first, *rest = layout.head_tags
        pieces.append(_id3.rebuild(_tag(src, first), value, FMT))
        pieces += [_without_label(src, region) for region in rest]
    else:
        pieces.append(_id3.new_tag(value))
    pieces.append(layout.audio)
    pieces += [_without_label(src, region) for region in layout.trailers]
    emit(src, dst, pieces, FMT)


def _without_label(src: BinaryIO, region: _Region) -> Piece:
    if region.kind == "id3v2":
        tag = _tag(src, region)
        if _id3.has_label(tag):
            return _id3.rebuild(tag, None, FMT)
    return (region.offset, region.length)


def _content_digest(src: BinaryIO) -> bytes:
    return hash_ranges(src, [_layout(src).audio], FMT)


PLUGIN = FormatPlugin(
    name="MP3",
    extensions=("mp3", "mp2", "mpga"),
    mime="audio/mpeg",
    carrier="ID3v2 TXXX frame, description AIGC (v2.4 UTF-8, or v2.3 Latin-1 in an existing v2.3 tag)",
    accept=_accept,
    read=_read,
    write=_write,
    content_digest=_content_digest,
)
