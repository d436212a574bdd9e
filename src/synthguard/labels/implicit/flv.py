"""FLV: the ``AIGC`` label as an entry of the ``onMetaData`` script-data tag.

TC260-PG-20257A (video files, the FLV clause) puts the label in the ``onMetaData`` script tag: an
AMF0 name ``onMetaData`` followed by an ECMA array (or object) whose entry ``AIGC`` is an AMF0
string holding the seven-key JSON (GB 45438-2025 Annex E); a value over 65,535 bytes becomes an
AMF0 long string. That is what ``ffmpeg -metadata AIGC=...`` writes and what ffprobe and exiftool
(``Flash:AIGC``) read.

Why hand-written: mutagen does not read FLV and PyAV (libavformat) can only remux, which rebuilds
every tag and drops entries it does not know. FLV tags are position independent, so rewriting the
script tag only needs three fixes: the ``PreviousTagSize`` after it; the absolute byte offsets
some muxers store for seeking (``keyframes.filepositions`` written by ``ffmpeg -flvflags
add_keyframe_index``, yamdi and flvtool2, and ``lastkeyframelocation``), which are shifted by
the size change of every tag before the position they name; and ``filesize`` when it held the
old file size. When a file has no ``onMetaData`` tag we insert one as the first tag.

Reading looks at the script tags that come before the first audio or video tag, which is where
``onMetaData`` lives and where players look; it never walks the media tags. ``write`` walks every
tag and removes ``AIGC`` entries from any script tag, and keeps every other entry byte for byte.
An ``onMetaData`` framed by ``@setDataFrame`` (an RTMP data message kept by some recorders) is
read as a carrier, but libavformat ignores such a tag, so we write into a plain ``onMetaData``
(inserted when missing) and remove ``AIGC`` from the framed one. Keys are compared
case-insensitively, as libavformat's metadata dictionary does.

Content digest rule: SHA-256 over every audio (type 8) and video (type 9) tag in file order, each
taken whole: its 11-byte header (type, size, timestamp, stream id), its payload and the
``PreviousTagSize`` after it. Script tags and the file header are left out, so writing the label
never changes the digest while a changed frame or timestamp does.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import BinaryIO

from synthguard.errors import CorruptFile, MetadataTooLarge
from synthguard.labels.implicit._slots import SLOT, raw_label
from synthguard.labels.implicit.registry import (
    FormatPlugin,
    copy_range,
    file_size,
    hash_ranges,
    read_exact,
)
from synthguard.labels.model import AIGCLabel, RawLabel

FMT = "FLV"
TAG_AUDIO, TAG_VIDEO, TAG_SCRIPT = 8, 9, 18
TAG_HEADER = 11
TRAILER = 4  # PreviousTagSize
MAX_TAG_DATA = 0xFFFFFF
META = "onMetaData"
SET_DATA_FRAME = "@setDataFrame"
MAX_DEPTH = 32

# AMF0 markers
NUMBER, BOOLEAN, STRING, OBJECT, NULL, UNDEFINED, REFERENCE = 0, 1, 2, 3, 5, 6, 7
ECMA_ARRAY, OBJECT_END, STRICT_ARRAY, DATE, LONG_STRING, UNSUPPORTED = 8, 9, 10, 11, 12, 13
XML_DOCUMENT, TYPED_OBJECT = 15, 16
END_MARKER = b"\x00\x00\x09"


@dataclass(frozen=True, slots=True)
class _Tag:
    start: int
    kind: int
    size: int
    encrypted: bool

    @property
    def data(self) -> int:
        return self.start + TAG_HEADER

    @property
    def total(self) -> int:
        return TAG_HEADER + self.size + TRAILER


@dataclass(frozen=True, slots=True)
class _Entry:
    key: str
    start: int  # the key's length field
    value: int  # the value's marker
    end: int


@dataclass(slots=True)
class _Script:
    """A parsed script tag: its name, its top-level entries and where the numbers we fix are."""

    name: str
    framed: bool = False  # "@setDataFrame" came before the name (an RTMP data message)
    entries_start: int = -1  # -1: the value is not an object or ECMA array
    marker: int = -1
    entries: list[_Entry] = field(default_factory=list)
    close: int = -1  # the end marker, or the data end when the writer left it out
    after: int = -1  # first byte after the end marker
    positions: list[int] = field(default_factory=list)  # offsets of doubles holding file offsets
    filesize: int = -1  # offset of the filesize double


class _Amf:
    """A bounds-checked AMF0 reader over one script tag's data."""

    def __init__(self, buf: bytes, base: int) -> None:
        self.buf = buf
        self.base = base

    def need(self, pos: int, size: int) -> None:
        if size < 0 or pos + size > len(self.buf):
            raise CorruptFile(FMT, "truncated AMF0 value in a script tag", offset=self.base + pos)

    def uint(self, pos: int, size: int) -> int:
        self.need(pos, size)
        return int.from_bytes(self.buf[pos : pos + size], "big")

    def string(self, pos: int, long: bool = False) -> tuple[str, int]:
        width = 4 if long else 2
        size = self.uint(pos, width)
        self.need(pos + width, size)
        raw = self.buf[pos + width : pos + width + size]
        return raw.decode("utf-8", "replace"), pos + width + size

    def value_end(self, pos: int, depth: int) -> int:
        """Where the AMF0 value starting (with its marker) at ``pos`` ends."""
        if depth > MAX_DEPTH:
            raise CorruptFile(FMT, "AMF0 values nested too deep", offset=self.base + pos)
        marker = self.uint(pos, 1)
        pos += 1
        fixed = {NUMBER: 8, BOOLEAN: 1, NULL: 0, UNDEFINED: 0, REFERENCE: 2, DATE: 10, UNSUPPORTED: 0}
        if marker in fixed:
            self.need(pos, fixed[marker])
            return pos + fixed[marker]
        if marker in (STRING, LONG_STRING, XML_DOCUMENT):
            return self.string(pos, long=marker != STRING)[1]
        if marker == OBJECT:
            return self.entries(pos, depth + 1, top=False)[2]
        if marker == ECMA_ARRAY:
            self.need(pos, 4)
            return self.entries(pos + 4, depth + 1, top=False)[2]
        if marker == TYPED_OBJECT:
            return self.entries(self.string(pos)[1], depth + 1, top=False)[2]
        if marker == STRICT_ARRAY:
            count = self.uint(pos, 4)
            pos += 4
            if count > len(self.buf) - pos:  # every value takes at least one byte
                raise CorruptFile(FMT, "AMF0 strict array longer than its tag", offset=self.base + pos)
            for _ in range(count):
                pos = self.value_end(pos, depth + 1)
            return pos
        raise CorruptFile(FMT, f"unsupported AMF0 marker 0x{marker:02x}", offset=self.base + pos - 1)

    def entries(self, pos: int, depth: int, top: bool) -> tuple[list[_Entry], int, int]:
        """Key/value pairs up to the object-end marker: (entries, end marker offset, after it)."""
        found: list[_Entry] = []
        while True:
            if self.buf[pos : pos + 3] == END_MARKER:
                return found, pos, pos + 3
            if top and pos == len(self.buf):
                return found, pos, pos  # some writers omit the end marker of the top-level array
            key, value = self.string(pos)
            end = self.value_end(value, depth)
            found.append(_Entry(key, pos, value, end))
            pos = end

    def array_numbers(self, entry: _Entry) -> list[int]:
        """Offsets of the doubles in a strict array (non-numbers are skipped)."""
        if self.buf[entry.value] != STRICT_ARRAY:
            return []
        count = self.uint(entry.value + 1, 4)
        pos = entry.value + 5
        found: list[int] = []
        for _ in range(count):
            if self.buf[pos] == NUMBER:
                found.append(pos + 1)
            pos = self.value_end(pos, 1)
        return found


def _parse_script(buf: bytes, base: int) -> _Script:
    amf = _Amf(buf, base)
    if not buf or buf[0] != STRING:
        return _Script(name="")
    name, pos = amf.string(1)
    framed = name == SET_DATA_FRAME and pos < len(buf) and buf[pos] == STRING
    if framed:
        name, pos = amf.string(pos + 1)
    if pos >= len(buf) or buf[pos] not in (OBJECT, ECMA_ARRAY):
        return _Script(name=name, framed=framed)
    marker = buf[pos]
    start = pos + (5 if marker == ECMA_ARRAY else 1)
    amf.need(pos, start - pos)
    entries, close, after = amf.entries(start, 1, top=True)
    script = _Script(name, framed, start, marker, entries, close, after)
    if name != META:
        return script  # the offsets below are onMetaData's seeking aids
    for entry in entries:
        key = entry.key.lower()
        if key == "filesize" and buf[entry.value] == NUMBER:
            script.filesize = entry.value + 1
        elif key == "lastkeyframelocation" and buf[entry.value] == NUMBER:
            script.positions.append(entry.value + 1)
        elif key == "keyframes" and buf[entry.value] in (OBJECT, ECMA_ARRAY):
            inner = entry.value + (5 if buf[entry.value] == ECMA_ARRAY else 1)
            for sub in amf.entries(inner, 2, top=False)[0]:
                if sub.key.lower() == "filepositions":
                    script.positions.extend(amf.array_numbers(sub))
    return script


def _label_value(buf: bytes, entry: _Entry) -> bytes:
    marker = buf[entry.value]
    if marker not in (STRING, LONG_STRING):
        return b""  # a non-string AIGC value: reported, and judged unparseable
    width = 4 if marker == LONG_STRING else 2
    start = entry.value + 1 + width
    return buf[start : start + int.from_bytes(buf[entry.value + 1 : start], "big")]


# --- walking the file ----------------------------------------------------------------------------


def _first_tag(src: BinaryIO, total: int) -> int:
    src.seek(0)
    head = read_exact(src, 9, FMT, "FLV header")
    if head[:3] != b"FLV":
        raise CorruptFile(FMT, "no FLV signature", offset=0)
    data_offset = int.from_bytes(head[5:9], "big")
    if data_offset < 9 or data_offset + TRAILER > total:
        raise CorruptFile(FMT, f"FLV header data offset {data_offset} is impossible", offset=5)
    return data_offset + TRAILER


def _tags(src: BinaryIO, *, until_media: bool) -> tuple[int, int, list[_Tag]]:
    """(total size, first tag offset, tags): every tag, or those before the first audio/video tag."""
    total = file_size(src)
    first = _first_tag(src, total)
    tags: list[_Tag] = []
    pos = first
    while pos < total:
        src.seek(pos)
        header = read_exact(src, TAG_HEADER, FMT, "tag header")
        kind = header[0] & 0x1F
        if header[0] & 0xC0 or kind not in (TAG_AUDIO, TAG_VIDEO, TAG_SCRIPT):
            raise CorruptFile(FMT, f"invalid tag type byte 0x{header[0]:02x}", offset=pos)
        size = int.from_bytes(header[1:4], "big")
        if pos + TAG_HEADER + size + TRAILER > total:
            raise CorruptFile(FMT, f"truncated tag: {size} data bytes announced", offset=pos)
        if until_media and kind != TAG_SCRIPT:
            break
        tags.append(_Tag(pos, kind, size, bool(header[0] & 0x20)))
        pos += TAG_HEADER + size + TRAILER
    return total, first, tags


def _load(src: BinaryIO, tag: _Tag) -> bytes:
    src.seek(tag.data)
    return read_exact(src, tag.size, FMT, "script tag")


def _read(src: BinaryIO) -> list[RawLabel]:
    _total, _first, tags = _tags(src, until_media=True)
    found: list[RawLabel] = []
    for tag in tags:
        if tag.encrypted:
            continue
        buf = _load(src, tag)
        script = _parse_script(buf, tag.data)
        for entry in script.entries:
            if entry.key.upper() != SLOT:
                continue
            found.append(
                raw_label(
                    f"FLV {script.name or 'script'}{' (@setDataFrame)' if script.framed else ''} tag, "
                    f"entry {entry.key}",
                    _label_value(buf, entry),
                    tag.data + entry.start,
                    named_slot=script.name == META,
                )
            )
    return found


# --- writing -------------------------------------------------------------------------------------


def _amf_entry(label: AIGCLabel) -> bytes:
    value = label.to_json().encode("utf-8")
    key = SLOT.encode("ascii")
    if len(value) > 0xFFFF:
        encoded = bytes([LONG_STRING]) + struct.pack(">I", len(value)) + value
    else:
        encoded = bytes([STRING]) + struct.pack(">H", len(value)) + value
    return struct.pack(">H", len(key)) + key + encoded


def _rebuild(buf: bytes, script: _Script, ours: bytes | None) -> bytes:
    """The script data without AIGC entries, with ``ours`` where the first one was (or last)."""
    parts: list[bytes] = []
    for entry in script.entries:
        if entry.key.upper() == SLOT:
            if ours is not None:
                parts.append(ours)
                ours = None
            continue
        parts.append(buf[entry.start : entry.end])
    if ours is not None:
        parts.append(ours)
    head = buf[: script.entries_start]
    if script.marker == ECMA_ARRAY:
        head = head[:-4] + struct.pack(">I", len(parts))
    return head + b"".join(parts) + END_MARKER + buf[script.after :]


def _new_meta(label: AIGCLabel) -> bytes:
    name = META.encode("ascii")
    return (
        bytes([STRING])
        + struct.pack(">H", len(name))
        + name
        + bytes([ECMA_ARRAY])
        + struct.pack(">I", 1)
        + _amf_entry(label)
        + END_MARKER
    )


def _tag_bytes(header: bytes, data: bytes) -> bytes:
    if len(data) > MAX_TAG_DATA:
        raise MetadataTooLarge(
            f"{FMT}: the script tag would be {len(data)} bytes; FLV tags hold at most {MAX_TAG_DATA}"
        )
    return (
        header[:1]
        + len(data).to_bytes(3, "big")
        + header[4:TAG_HEADER]
        + data
        + struct.pack(">I", TAG_HEADER + len(data))
    )


def _write(src: BinaryIO, dst: BinaryIO, label: AIGCLabel) -> None:
    total, first, tags = _tags(src, until_media=False)
    scripts: list[tuple[_Tag, bytes, _Script]] = []
    for tag in tags:
        if tag.kind == TAG_SCRIPT and not tag.encrypted:
            buf = _load(src, tag)
            scripts.append((tag, buf, _parse_script(buf, tag.data)))
    # Readers look at a plain onMetaData ahead of the media tags (libavformat skips one framed by
    # @setDataFrame); when there is none we insert one.
    media_at = next((t.start for t in tags if t.kind != TAG_SCRIPT), total)
    meta = next(
        (
            s
            for s in scripts
            if s[2].name == META and not s[2].framed and s[2].entries_start >= 0 and s[0].start < media_at
        ),
        None,
    )

    # First the size changes (they decide every shifted offset), then the offsets themselves.
    new_data: dict[int, bytes] = {}
    for tag, buf, script in scripts:
        ours = _amf_entry(label) if meta is not None and tag is meta[0] else None
        if ours is not None or any(e.key.upper() == SLOT for e in script.entries):
            new_data[tag.start] = _rebuild(buf, script, ours)
    inserted = b"" if meta is not None else _new_meta(label)
    changes = [(first, 0, len(inserted) + TAG_HEADER + TRAILER)] if inserted else []
    for tag, _buf, _script in scripts:
        if tag.start in new_data:
            changes.append((tag.start, tag.total, len(new_data[tag.start]) - tag.size))

    def moved(offset: int) -> int:
        return offset + sum(delta for start, length, delta in changes if start + length <= offset)

    new_total = total + sum(delta for _s, _l, delta in changes)
    edits: list[tuple[int, int, bytes]] = []
    if inserted:
        edits.append((first, 0, _tag_bytes(bytes([TAG_SCRIPT]) + bytes(10), inserted)))
    for tag, buf, parsed in scripts:
        data = new_data.get(tag.start, buf)
        script = _parse_script(data, tag.data) if tag.start in new_data else parsed
        patched = bytearray(data)
        for offset in script.positions:
            old = struct.unpack(">d", data[offset : offset + 8])[0]
            if math.isfinite(old) and old == int(old) and 0 <= old <= total:
                patched[offset : offset + 8] = struct.pack(">d", float(moved(int(old))))
        size_at = script.filesize
        if size_at >= 0 and struct.unpack(">d", data[size_at : size_at + 8])[0] == total:
            patched[script.filesize : script.filesize + 8] = struct.pack(">d", float(new_total))
        if bytes(patched) != buf:
            src.seek(tag.start)
            header = read_exact(src, TAG_HEADER, FMT, "tag header")
            edits.append((tag.start, tag.total, _tag_bytes(header, bytes(patched))))

    copy_range(src, dst, 0, first, FMT)
    pos = first
    for start, length, new in sorted(edits, key=lambda e: (e[0], e[1])):
        copy_range(src, dst, pos, start - pos, FMT)
        dst.write(new)
        pos = start + length
    copy_range(src, dst, pos, total - pos, FMT)


# --- content digest ------------------------------------------------------------------------------


def _content_digest(src: BinaryIO) -> bytes:
    _total, _first, tags = _tags(src, until_media=False)
    ranges: list[tuple[int, int]] = []
    for tag in tags:
        if tag.kind not in (TAG_AUDIO, TAG_VIDEO):
            continue
        if ranges and sum(ranges[-1]) == tag.start:
            ranges[-1] = (ranges[-1][0], ranges[-1][1] + tag.total)
        else:
            ranges.append((tag.start, tag.total))
    return hash_ranges(src, ranges, FMT)


def _accept(head: bytes) -> bool:
    return len(head) >= 4 and head[:3] == b"FLV" and head[3] == 1


PLUGIN = FormatPlugin(
    name=FMT,
    extensions=("flv",),
    mime="video/x-flv",
    carrier="FLV onMetaData script tag (AMF0 ECMA array), entry AIGC as an AMF0 string",
    accept=_accept,
    read=_read,
    write=_write,
    content_digest=_content_digest,
)
