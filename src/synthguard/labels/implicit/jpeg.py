"""JPEG: the ``AIGC`` label as XMP property ``TC260:AIGC`` in an APP1 segment (TC260-PG-20259A).

Carrier: one APP1 segment whose payload starts ``http://ns.adobe.com/xap/1.0/\\0`` followed by the XMP
packet (<= 65,502 bytes, Adobe XMP specification part 3, JPEG section). An existing XMP packet is
merged (the property is updated, everything else kept) and stays where it is; otherwise the segment
goes right after SOI / APP0 (JFIF) / the Exif APP1, before any other segment, so it is ahead of
DQT/SOF as the guide asks.

Also read, as the guide's App. B wrapper forms and real-world traces (``named_slot=False``):

* EXIF ``UserComment`` (tag 0x9286, 8-byte character-code prefix) holding ``{"AIGC":{...}}``;
* an APPn segment whose payload is a bare ``AIGC{...}`` blob (some generators glue one in);
* ``TC260:AIGC`` inside Extended XMP (``http://ns.adobe.com/xmp/extension/\\0``), reassembled by GUID.

On write every other copy goes: blob segments are dropped whole (they hold nothing else); a
UserComment carrying the label is blanked in place (zeroed, same length), which is safe because no
EXIF offset moves and nothing else in the EXIF block changes; extra standard XMP packets lose only the
``TC260:AIGC`` property; an Extended XMP that carries the property is rewritten without it, under the
new MD5 GUID that the main packet's ``xmpNote:HasExtendedXMP`` then names.

Content digest: SHA-256 over every header segment that is not APPn (0xFFE0-0xFFEF) or COM (0xFFFE) --
DQT, SOF, DHT, DRI ... with any fill bytes before them -- followed by everything from the first SOS
marker to the end of the file (scans, entropy-coded data, EOI and any trailer). SOI and all APPn/COM
segments before the first scan are excluded, so adding, growing or moving metadata segments never
changes it, while any change to tables or compressed pixels does. Segments between scans of a
progressive JPEG are hashed as content: locating them would mean reading the entropy-coded data, and
no metadata writer puts anything there.

Broken input: the segment chain up to the first scan is checked (marker bytes, lengths >= 2 and inside
the file, no second SOI, bounded fill-byte runs and segment counts) and raises ``CorruptFile``; a write
also refuses an existing XMP packet that is not well-formed XML (a read reports it as an unparseable
carrier). What follows the first SOS is copied untouched: a scan truncated inside its entropy-coded
data stays exactly as broken as it was, and data after EOI (MPF images, motion-photo video) is kept.

Why hand-written: Pillow re-encodes on save and keeps XMP only as an opaque blob; piexif handles EXIF
only; python-xmp-toolkit (the guide's sample) needs libexempi and rewrites the whole file through it.
What a label write needs is a segment splice: parse the marker segments up to the first scan (a few
small reads), then copy the rest of the file in large blocks. The entropy-coded data is never read on
read, so a label read costs a handful of reads regardless of image size.
"""

from __future__ import annotations

import hashlib
import struct
from collections import defaultdict
from dataclasses import dataclass
from typing import BinaryIO

from synthguard.errors import CorruptFile, MetadataTooLarge
from synthguard.labels.implicit import _xmp
from synthguard.labels.implicit._image_meta import (
    Piece,
    blank,
    exif_label_comments,
    is_wrapped,
    merge_ranges,
    splice,
    xmp_values,
)
from synthguard.labels.implicit.registry import (
    FormatPlugin,
    MemorySource,
    file_size,
    hash_ranges,
    parse_once,
)
from synthguard.labels.model import AIGCLabel, RawLabel

FMT = "JPEG"
XMP_ID = b"http://ns.adobe.com/xap/1.0/\x00"
EXT_ID = b"http://ns.adobe.com/xmp/extension/\x00"
EXIF_ID = b"Exif\x00"
# XMP specification part 3 (JPEG): 65,535 minus the length field and the namespace, with its margin.
MAX_PACKET = 65502
# Extended XMP portions as ExifTool and Adobe write them (65,535 minus headers, rounded down).
EXT_CHUNK = 65000
MAX_HEADER_SEGMENTS = 65536
MAX_FILL_BYTES = 65536
_PEEK = 40
_SOS, _EOI, _COM = 0xDA, 0xD9, 0xFE


@dataclass(slots=True)
class _Segment:
    marker: int
    start: int  # offset of the first byte belonging to it (fill bytes included)
    end: int
    kind: str  # xmp | xmp-ext | exif | blob | app | com | table
    payload: bytes = b""


@dataclass(slots=True)
class _Layout:
    segments: list[_Segment]
    scan_start: int  # first SOS (or EOI) marker: from here on everything is copied as it is
    size: int


def _classify(marker: int, peek: bytes) -> str:
    if marker == _COM:
        return "com"
    if not 0xE0 <= marker <= 0xEF:
        return "table"
    if marker == 0xE1:
        if peek.startswith(XMP_ID):
            return "xmp"
        if peek.startswith(EXT_ID):
            return "xmp-ext"
        if peek.startswith(EXIF_ID):
            return "exif"
    if peek.startswith(b"AIGC") and b"{" in peek[4:16]:
        return "blob"
    return "app"


def _parse(src: BinaryIO, look_inside: bool = True) -> _Layout:
    size = file_size(src)
    src.seek(0)
    if src.read(2) != b"\xff\xd8":
        raise CorruptFile(FMT, "missing SOI marker (FF D8)", offset=0)
    segments: list[_Segment] = []
    pos = 2
    start = pos
    while True:
        head = src.read(4)
        if len(head) < 2:
            raise CorruptFile(FMT, "truncated before the first scan (no SOS marker)", offset=pos)
        if head[0] != 0xFF:
            raise CorruptFile(FMT, f"expected a marker, found byte {head[0]:#04x}", offset=pos)
        marker = head[1]
        if marker == 0xFF:  # a fill byte: it belongs to the segment that follows
            pos += 1
            if pos - start > MAX_FILL_BYTES:
                raise CorruptFile(FMT, "a run of more than 64 KiB of 0xFF fill bytes", offset=start)
            src.seek(pos)
            continue
        if marker in (_SOS, _EOI):
            return _Layout(segments, start, size)
        if len(segments) >= MAX_HEADER_SEGMENTS:
            raise CorruptFile(FMT, "more than 65,536 marker segments before the first scan", offset=pos)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # stand-alone markers carry no length
            segments.append(_Segment(marker, start, pos + 2, "table"))
            pos += 2
            start = pos
            src.seek(pos)
            continue
        if marker in (0x00, 0xD8):
            raise CorruptFile(FMT, f"marker FF {marker:02X} cannot appear in the header", offset=pos)
        if len(head) < 4:
            raise CorruptFile(FMT, "truncated segment length", offset=pos)
        length = head[2] << 8 | head[3]
        end = pos + 2 + length
        if length < 2:
            raise CorruptFile(FMT, f"segment FF {marker:02X} has length {length}", offset=pos)
        if end > size:
            raise CorruptFile(FMT, f"segment FF {marker:02X} runs past the end of the file", offset=pos)
        kind = "table"
        payload = b""
        if 0xE0 <= marker <= 0xEF or marker == _COM:
            kind = "app" if marker != _COM else "com"
            if look_inside and marker != _COM:
                peek = src.read(min(_PEEK, length - 2))
                kind = _classify(marker, peek)
                if kind in ("xmp", "xmp-ext", "exif", "blob"):
                    payload = peek + src.read(length - 2 - len(peek))
                    if len(payload) != length - 2:
                        raise CorruptFile(FMT, "truncated APP segment", offset=pos)
        segments.append(_Segment(marker, start, end, kind, payload))
        pos = end
        start = pos
        src.seek(pos)


def _blob_text(payload: bytes) -> str:
    body = payload[4:].lstrip(b"\x00 :=\t\r\n").rstrip(b"\x00 \t\r\n")
    return body.decode("utf-8", errors="replace")


# --- Extended XMP --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Extended:
    guid: bytes
    total: int
    segments: list[_Segment]
    packet: bytes | None  # None when portions are missing or inconsistent


def _extended(segments: list[_Segment]) -> list[_Extended]:
    groups: dict[bytes, list[_Segment]] = defaultdict(list)
    for seg in segments:
        if seg.kind == "xmp-ext" and len(seg.payload) >= len(EXT_ID) + 40:
            groups[seg.payload[len(EXT_ID) : len(EXT_ID) + 32]].append(seg)
    result: list[_Extended] = []
    for guid, members in groups.items():
        base = len(EXT_ID) + 32
        total = struct.unpack(">I", members[0].payload[base : base + 4])[0]
        packet: bytes | None = None
        if total <= 16 << 20:
            buffer = bytearray(total)
            filled = 0
            for seg in members:
                seg_total, offset = struct.unpack(">II", seg.payload[base : base + 8])
                part = seg.payload[base + 8 :]
                if seg_total != total or offset + len(part) > total:
                    filled = -1
                    break
                buffer[offset : offset + len(part)] = part
                filled += len(part)
            if filled == total:
                packet = bytes(buffer)
        result.append(_Extended(guid, total, members, packet))
    return result


def _extended_segments(packet: bytes) -> tuple[bytes, list[bytes]]:
    guid = hashlib.md5(packet, usedforsecurity=False).hexdigest().upper().encode()
    out: list[bytes] = []
    for offset in range(0, len(packet), EXT_CHUNK):
        part = packet[offset : offset + EXT_CHUNK]
        body = EXT_ID + guid + struct.pack(">II", len(packet), offset) + part
        out.append(b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body)
    return guid, out


# --- plugin functions ----------------------------------------------------------------------------


def accept(head: bytes) -> bool:
    return head[:3] == b"\xff\xd8\xff"


def read(src: BinaryIO) -> list[RawLabel]:
    layout = parse_once(src, _parse)
    found: list[RawLabel] = []
    for seg in layout.segments:
        if seg.kind == "xmp":
            for value in xmp_values(seg.payload[len(XMP_ID) :], FMT):
                found.append(
                    RawLabel("XMP TC260:AIGC (JPEG APP1)", value, seg.start, wrapped=is_wrapped(value))
                )
        elif seg.kind == "exif":
            for _, _, text in exif_label_comments(seg.payload[6:]):
                found.append(
                    RawLabel("EXIF UserComment (JPEG APP1)", text, seg.start, is_wrapped(text), False)
                )
        elif seg.kind == "blob":
            text = _blob_text(seg.payload)
            found.append(
                RawLabel(f"AIGC blob (JPEG APP{seg.marker - 0xE0})", text, seg.start, is_wrapped(text), False)
            )
    for ext in _extended(layout.segments):
        if ext.packet is not None:
            for value in xmp_values(ext.packet, FMT):
                found.append(
                    RawLabel(
                        "XMP TC260:AIGC (JPEG Extended XMP)",
                        value,
                        ext.segments[0].start,
                        wrapped=is_wrapped(value),
                    )
                )
    return found


def _segment_bytes(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


# Segments a write has to look into (merge, strip or blank a label); a file with none of them (a
# freshly generated image, most of what gets labeled) only needs our segment spliced in.
_CARRIER_KINDS = frozenset(("xmp", "xmp-ext", "exif", "blob"))


def _checked(packet: bytes) -> bytes:
    if len(packet) > MAX_PACKET:
        raise MetadataTooLarge(
            f"JPEG: the XMP packet would be {len(packet):,} bytes; an APP1 segment holds at most "
            f"{MAX_PACKET:,}",
            message_zh=f"JPEG：XMP 数据包 {len(packet):,} 字节，超过 APP1 段上限 {MAX_PACKET:,} 字节",
        )
    return packet


def write(src: BinaryIO, dst: BinaryIO, label: AIGCLabel) -> None:
    layout = parse_once(src, _parse)
    segments = layout.segments
    if not any(seg.kind in _CARRIER_KINDS for seg in segments):
        # What the general path below gives for such a file, without its bookkeeping: everything
        # up to the end of the leading APP0 run (or SOI), our segment, everything after.
        at = 2
        for seg in segments:
            if seg.kind == "table":
                break
            if seg.marker == 0xE0:
                at = seg.end
        ours = _segment_bytes(0xE1, XMP_ID + _checked(_xmp.new_packet(label.to_json())))
        splice(src, dst, [(0, at), ours, (at, layout.size - at)], FMT)
        return
    xmps = [seg for seg in segments if seg.kind == "xmp"]
    main = xmps[0] if xmps else None
    packet = (
        _xmp.merge_packet(main.payload[len(XMP_ID) :], label.to_json(), FMT)
        if main is not None
        else _xmp.new_packet(label.to_json())
    )

    replaced: dict[int, list[bytes]] = {}  # segment index -> what replaces it
    for ext in _extended(segments):
        if ext.packet is None or not _xmp.find_values(ext.packet, FMT):
            continue
        new_guid, parts = _extended_segments(_xmp.remove_values(ext.packet, FMT))
        packet = packet.replace(ext.guid, new_guid)
        first = segments.index(ext.segments[0])
        replaced[first] = parts
        for seg in ext.segments[1:]:
            replaced[segments.index(seg)] = []

    ours = _segment_bytes(0xE1, XMP_ID + _checked(packet))

    insert_after = -1  # with no existing packet: -1 right after SOI, else after that segment
    if main is None:
        # After SOI, APP0 (JFIF) and the Exif APP1, i.e. after the last of those in the leading run of
        # metadata segments; readers that stop early (and the guide) expect XMP that far forward.
        for index, seg in enumerate(segments):
            if seg.kind == "table":
                break
            if seg.marker == 0xE0 or seg.kind == "exif":
                insert_after = index

    pieces: list[Piece] = [(0, 2)]
    if insert_after == -1 and main is None:
        pieces.append(ours)
    for index, seg in enumerate(segments):
        if seg is main:
            pieces.append(ours)
        elif index in replaced:
            pieces.extend(replaced[index])
        elif seg.kind == "blob":
            pass
        elif seg.kind == "xmp" and _xmp.find_values(seg.payload[len(XMP_ID) :], FMT):
            stripped = _xmp.remove_values(seg.payload[len(XMP_ID) :], FMT)
            if len(stripped) > MAX_PACKET:
                raise MetadataTooLarge(f"JPEG: an extra XMP packet grew past {MAX_PACKET:,} bytes")
            pieces.append(_segment_bytes(0xE1, XMP_ID + stripped))
        elif seg.kind == "exif" and (comments := exif_label_comments(seg.payload[6:])):
            cleaned = blank(seg.payload, [(6 + offset, length) for offset, length, _ in comments])
            pieces.append(_segment_bytes(0xE1, cleaned))
        else:
            pieces.append((seg.start, seg.end - seg.start))
        if index == insert_after:
            pieces.append(ours)
    pieces.append((layout.scan_start, layout.size - layout.scan_start))
    splice(src, dst, pieces, FMT)


def content_digest(src: BinaryIO) -> bytes:
    # In memory, the full parse (it raises nothing the light one does not) is kept for the write
    # that follows when labeling; a streamed file skips looking inside the APP segments.
    layout = parse_once(src, _parse) if isinstance(src, MemorySource) else _parse(src, look_inside=False)
    ranges = [(seg.start, seg.end - seg.start) for seg in layout.segments if seg.kind == "table"]
    ranges.append((layout.scan_start, layout.size - layout.scan_start))
    return hash_ranges(src, merge_ranges(ranges), FMT)


PLUGIN = FormatPlugin(
    name="JPEG",
    extensions=("jpg", "jpeg", "jpe", "jfif"),
    mime="image/jpeg",
    carrier="XMP TC260:AIGC in an APP1 segment (http://ns.adobe.com/xap/1.0/)",
    accept=accept,
    read=read,
    write=write,
    content_digest=content_digest,
)
