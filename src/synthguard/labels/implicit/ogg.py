"""Ogg Vorbis and Ogg Opus: the AIGC label as a comment ``AIGC=<json>`` (TC260-PG-202510A, OGG).

The comment list lives in the second header packet of the logical stream (``\\x03vorbis`` + list +
framing bit, or ``OpusTags`` + list + optional binary data; RFC 7845 section 5.2). Packets are cut into
pages, so changing the comment means:

1. collecting the header packets of the stream (the identification header alone on the BOS page,
   then the comment header and, for Vorbis, the setup header);
2. rebuilding the comment (vendor, other comments and trailing bytes kept, see ``_vorbis``) and
   cutting the new comment (+ setup) header into pages again: 255 lacing values per page at most,
   granule 0 on pages where a packet ends and -1 where none does, the continued flag where a packet
   carries over, and a fresh Ogg CRC on each page (CRC-32, polynomial 0x04C11DB7, not reflected,
   initial value and final XOR 0);
3. when the header now takes more or fewer pages, renumbering every later page of that stream (its
   sequence number, hence its CRC). The file is streamed page by page, so this costs one pass over
   the file with a CRC per page (computed by zlib, see ``_crc``), never the whole file in memory;
   when the page count does not change (the usual case: a label adds ~250 bytes) later pages are
   copied as they are.

Pages of other logical streams (Theora video, a second audio track) are copied unchanged and in
place; only the first Vorbis/Opus stream receives the label, ``AIGC`` comments in any other one are
removed. Every page the writer passes through has its CRC checked, so a damaged file raises
CorruptFile instead of being relabelled. Readers stop after the header packets of the first chained
link (a few KB), so a label in a later chained link is removed on write but not reported on read.
Ogg FLAC and Speex streams are copied, not searched.

Content digest: per logical stream, SHA-256 over every packet (8-byte length + data) except the
comment header, i.e. the identification header, the Vorbis setup header and all audio packets, plus
the granule position of the stream's last page (it trims the decoded end); then SHA-256 over those
per-stream digests in stream order. Packet framing, page boundaries, sequence numbers and CRCs are
left out, so re-paging the header never changes the digest. The packets have to be reassembled
across pages, so this walks the pages itself instead of using ``registry.hash_ranges``.

Why hand-written: mutagen writes Ogg comments correctly too (it re-pages and renumbers), but it
edits the open file in place (synthguard writes a temp file and renames it, so a failure never
leaves a half-written file) and would become a runtime dependency for one comment; PyAV/ffmpeg can
only remux, which is not a metadata edit.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import BinaryIO

from synthguard.errors import CorruptFile, MetadataTooLarge, UnsupportedFormat
from synthguard.labels.implicit import _vorbis
from synthguard.labels.implicit.registry import FormatPlugin, Hasher, content_hasher, file_size, read_exact
from synthguard.labels.model import AIGCLabel, RawLabel

FMT = "OGG"
CAPTURE = b"OggS"
_HEADER = struct.Struct("<4sBBQIIIB")
_FLAG_CONTINUED, _FLAG_BOS, _FLAG_EOS = 0x01, 0x02, 0x04
_NO_GRANULE = 0xFFFFFFFFFFFFFFFF
_MAX_SEGMENTS = 255
# A header packet larger than this is not a comment list anyone wrote on purpose.
_MAX_HEADER_PACKET = 64 << 20
_MAX_PACKET = 64 << 20

_CODECS: dict[bytes, tuple[str, bytes, int]] = {
    # identification magic -> (name, comment header magic, number of header packets)
    b"\x01vorbis": ("Vorbis", b"\x03vorbis", 3),
    b"OpusHead": ("Opus", b"OpusTags", 2),
}

_BIT_REVERSED = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def _crc(data: bytes) -> int:
    """The Ogg page CRC (poly 0x04C11DB7, MSB-first, init 0, no final XOR) at zlib speed.

    zlib computes the bit-reflected CRC-32; the MSB-first CRC of ``data`` is the bit-reversal of the
    reflected CRC of ``data`` with each byte bit-reversed, with zlib's init/final XOR cancelled.
    """
    reflected = zlib.crc32(data.translate(_BIT_REVERSED), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{reflected:032b}"[::-1], 2)


@dataclass(slots=True)
class _Page:
    offset: int
    flags: int
    granule: int
    serial: int
    seqno: int
    lacing: bytes
    body: bytes  # empty when read without the body
    raw: bytes  # the page as it is in the file (header + lacing + body) when read with the body
    body_size: int

    @property
    def size(self) -> int:
        return _HEADER.size + len(self.lacing) + self.body_size


def _page_bytes(flags: int, granule: int, serial: int, seqno: int, lacing: bytes, body: bytes) -> bytes:
    head = _HEADER.pack(CAPTURE, 0, flags, granule, serial, seqno, 0, len(lacing))
    page = bytearray(head + lacing + body)
    struct.pack_into("<I", page, 22, _crc(bytes(page)))
    return bytes(page)


def _read_page(src: BinaryIO, pos: int, *, body: bool = True) -> _Page:
    src.seek(pos)
    head = src.read(_HEADER.size)
    if len(head) < _HEADER.size:
        raise CorruptFile(FMT, f"truncated page header ({len(head)} of 27 bytes)", offset=pos)
    capture, version, flags, granule, serial, seqno, crc, count = _HEADER.unpack(head)
    if capture != CAPTURE:
        raise CorruptFile(FMT, "expected an Ogg page (OggS capture pattern)", offset=pos)
    if version != 0:
        raise CorruptFile(FMT, f"unknown Ogg page version {version}", offset=pos)
    lacing = read_exact(src, count, FMT, "page segment table")
    size = sum(lacing)
    if not body:
        return _Page(pos, flags, granule, serial, seqno, lacing, b"", b"", size)
    data = read_exact(src, size, FMT, "page body")
    raw = head + lacing + data
    if _crc(raw[:22] + b"\x00\x00\x00\x00" + raw[26:]) != crc:
        raise CorruptFile(FMT, f"page CRC mismatch (stream {serial:#x}, page {seqno})", offset=pos)
    return _Page(pos, flags, granule, serial, seqno, lacing, data, raw, size)


def _packets(page: _Page, partial: bytearray) -> tuple[list[bytes], list[int]]:
    """Complete the packets ``page`` finishes; ``partial`` carries one across pages.

    Returns the finished packets and, for each, the index of its last lacing value in the page.
    """
    if bool(page.flags & _FLAG_CONTINUED) != bool(partial):
        # A page that continues nothing, or a packet left unfinished: the packet stream is broken.
        raise CorruptFile(
            FMT, "packet continuation flag disagrees with the previous page", offset=page.offset
        )
    done: list[bytes] = []
    ends: list[int] = []
    pos = 0
    for index, lace in enumerate(page.lacing):
        partial += page.body[pos : pos + lace]
        pos += lace
        if len(partial) > _MAX_PACKET:
            raise CorruptFile(FMT, "an Ogg packet larger than 64 MiB", offset=page.offset)
        if lace < 255:
            done.append(bytes(partial))
            ends.append(index)
            partial.clear()
    return done, ends


@dataclass(slots=True)
class _Stream:
    serial: int
    codec: str | None
    comment_magic: bytes
    header_count: int
    target: bool = False
    packets: list[bytes] = field(default_factory=list)
    partial: bytearray = field(default_factory=bytearray)
    comment_offset: int = -1
    trailing_data: bool = False  # data after the last header packet on its page
    ends_in_headers: bool = False  # a stream with no audio ends (EOS) on a header page
    delta: int = 0

    @property
    def in_headers(self) -> bool:
        return self.codec is not None and len(self.packets) < self.header_count

    def feed(self, page: _Page) -> None:
        self.ends_in_headers = bool(page.flags & _FLAG_EOS)
        done, ends = _packets(page, self.partial)
        for packet, end in zip(done, ends, strict=True):
            if len(self.packets) < self.header_count:
                self.packets.append(packet)
                if len(self.packets) == 2:
                    self.comment_offset = page.offset
                if len(self.packets) == self.header_count and (end != len(page.lacing) - 1):
                    self.trailing_data = True
        if self.in_headers and len(self.partial) > _MAX_HEADER_PACKET:
            raise CorruptFile(FMT, "an Ogg header packet larger than 64 MiB", offset=page.offset)


def _start(page: _Page) -> _Stream:
    for magic, (name, comment_magic, count) in _CODECS.items():
        if page.body.startswith(magic):
            return _Stream(page.serial, name, comment_magic, count)
    return _Stream(page.serial, None, b"", 0)


def _comments(stream: _Stream) -> _vorbis.Comments:
    packet = stream.packets[1]
    if not packet.startswith(stream.comment_magic):
        raise CorruptFile(FMT, f"{stream.codec} stream lacks a comment header", offset=stream.comment_offset)
    return _vorbis.parse(packet[len(stream.comment_magic) :], FMT, stream.comment_offset)


def _orphan(page: _Page) -> CorruptFile:
    return CorruptFile(FMT, f"stream {page.serial:#x} has a page before its BOS page", offset=page.offset)


def _accept(head: bytes) -> bool:
    return head[:4] == CAPTURE


# --- reading --------------------------------------------------------------------------------------


def _read(src: BinaryIO) -> list[RawLabel]:
    size = file_size(src)
    streams: dict[int, _Stream] = {}
    found: list[RawLabel] = []
    pos = 0
    headers_over = False
    while pos < size:
        page = _read_page(src, pos, body=False)
        stream = streams.get(page.serial)
        wants_body = bool(page.flags & _FLAG_BOS) or (stream is not None and stream.in_headers)
        if wants_body:
            page = _read_page(src, pos)
        if page.flags & _FLAG_BOS:
            if headers_over:
                break  # the next chained link: its labels are not read (see module docstring)
            stream = streams[page.serial] = _start(page)
        elif stream is None:
            raise _orphan(page)
        else:
            headers_over = True
        if stream.in_headers:
            stream.feed(page)
            if not stream.in_headers:
                where = "OpusTags comment" if stream.codec == "Opus" else "Vorbis comment"
                found += _vorbis.labels(_comments(stream), where, stream.comment_offset)
        pos += page.size
        if headers_over and not any(s.in_headers for s in streams.values()):
            break
    if any(s.in_headers for s in streams.values()):
        raise CorruptFile(FMT, "truncated: the file ends inside the header packets")
    if not streams:
        raise CorruptFile(FMT, "no Ogg pages")
    return found


# --- writing --------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Out:
    data: bytes
    pending: bool = False


def _paginate(packets: list[bytes], serial: int, seqno: int, *, eos: bool = False) -> list[bytes]:
    """Cut ``packets`` into pages from sequence number ``seqno`` (the header layout libogg flushes)."""
    segments: list[tuple[bytes, int]] = []  # (data, lacing value)
    for packet in packets:
        for start in range(0, len(packet) - len(packet) % 255, 255):
            segments.append((packet[start : start + 255], 255))
        tail = len(packet) % 255
        segments.append((packet[len(packet) - tail :], tail))
    pages: list[bytes] = []
    continued = False
    for start in range(0, len(segments), _MAX_SEGMENTS):
        group = segments[start : start + _MAX_SEGMENTS]
        lacing = bytes(lace for _, lace in group)
        ends_packet = any(lace < 255 for lace in lacing)
        flags = _FLAG_CONTINUED if continued else 0
        if eos and start + _MAX_SEGMENTS >= len(segments):
            flags |= _FLAG_EOS
        granule = 0 if ends_packet else _NO_GRANULE
        body = b"".join(data for data, _ in group)
        pages.append(_page_bytes(flags, granule, serial, seqno + len(pages), lacing, body))
        continued = lacing[-1] == 255
    return pages


def _resolve(stream: _Stream, entries: list[_Out], first_seqno: int, value: str) -> None:
    """The header pages of ``stream`` are all in: rewrite them if its comment list must change."""
    comments = _comments(stream)
    if stream.target:
        new_comment = stream.comment_magic + _vorbis.build(comments, value)
    elif _vorbis.has_label(comments):
        new_comment = stream.comment_magic + _vorbis.build(comments, None)
    else:
        for entry in entries:
            entry.pending = False
        return
    if stream.trailing_data:
        raise UnsupportedFormat(
            f"{FMT}: audio data shares a page with the {stream.codec} headers (not allowed by the "
            "codec spec); synthguard does not re-page such a stream"
        )
    if len(new_comment) > _MAX_HEADER_PACKET:
        raise MetadataTooLarge(f"{FMT}: the comment header would pass 64 MiB")
    packets = [new_comment, *stream.packets[2:]]
    pages = _paginate(packets, stream.serial, first_seqno, eos=stream.ends_in_headers)
    entries[0].data = b"".join(pages)
    for entry in entries[1:]:
        entry.data = b""
    for entry in entries:
        entry.pending = False
    stream.delta = len(pages) - len(entries)


def _write(src: BinaryIO, dst: BinaryIO, label: AIGCLabel) -> None:
    value = label.to_json()
    size = file_size(src)
    streams: dict[int, _Stream] = {}
    header_entries: dict[int, list[_Out]] = {}
    first_seqnos: dict[int, int] = {}
    queue: list[_Out] = []
    has_target = False
    pos = 0
    while pos < size:
        page = _read_page(src, pos)
        pos += page.size
        if page.flags & _FLAG_BOS:
            stream = streams[page.serial] = _start(page)
            if stream.codec is not None:
                stream.feed(page)
                if len(stream.packets) != 1 or stream.partial or stream.trailing_data:
                    raise UnsupportedFormat(
                        f"{FMT}: the {stream.codec} BOS page must hold the ID header alone"
                    )
                if not has_target:
                    stream.target = has_target = True
            header_entries[page.serial] = []
            queue.append(_Out(page.raw))
        else:
            found = streams.get(page.serial)
            if found is None:
                raise _orphan(page)
            stream = found
            if stream.in_headers:
                stream.feed(page)
                entry = _Out(page.raw, pending=True)
                if not header_entries[page.serial]:
                    first_seqnos[page.serial] = page.seqno
                header_entries[page.serial].append(entry)
                queue.append(entry)
                if not stream.in_headers:
                    _resolve(stream, header_entries[page.serial], first_seqnos[page.serial], value)
            elif stream.delta:
                seqno = page.seqno + stream.delta
                queue.append(
                    _Out(_page_bytes(page.flags, page.granule, page.serial, seqno, page.lacing, page.body))
                )
            else:
                queue.append(_Out(page.raw))
        _flush(queue, dst)
    if any(s.in_headers for s in streams.values()):
        raise CorruptFile(FMT, "truncated: the file ends inside the header packets")
    if not has_target:
        raise UnsupportedFormat(f"{FMT}: no Vorbis or Opus stream to carry the label")
    _flush(queue, dst)


def _flush(queue: list[_Out], dst: BinaryIO) -> None:
    ready = 0
    while ready < len(queue) and not queue[ready].pending:
        dst.write(queue[ready].data)
        ready += 1
    del queue[:ready]


# --- digest ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Digesting:
    stream: _Stream
    hasher: Hasher
    packets: int = 0
    granule: int = 0


def _content_digest(src: BinaryIO) -> bytes:
    size = file_size(src)
    order: list[_Digesting] = []
    current: dict[int, _Digesting] = {}
    pos = 0
    while pos < size:
        page = _read_page(src, pos)
        pos += page.size
        if page.flags & _FLAG_BOS:
            current[page.serial] = _Digesting(_start(page), content_hasher())
            order.append(current[page.serial])
        state = current.get(page.serial)
        if state is None:
            raise _orphan(page)
        done, _ends = _packets(page, state.stream.partial)
        for packet in done:
            if state.stream.codec is None or state.packets != 1:  # packet 1 is the comment header
                state.hasher.update(struct.pack("<Q", len(packet)) + packet)
            state.packets += 1
        state.granule = page.granule
    if not order:
        raise CorruptFile(FMT, "no Ogg pages")
    total = content_hasher()
    for state in order:
        state.hasher.update(bytes(state.stream.partial))
        total.update(state.hasher.digest() + struct.pack("<Q", state.granule))
    return total.digest()


PLUGIN = FormatPlugin(
    name="OGG",
    extensions=("ogg", "oga", "opus"),
    mime="audio/ogg",
    carrier="Vorbis comment AIGC=<json> in the Vorbis comment header or OpusTags packet",
    accept=_accept,
    read=_read,
    write=_write,
    content_digest=_content_digest,
)
