"""ID3v2 tags: find every ``TXXX:AIGC`` frame and rebuild a tag with exactly one, other frames untouched.

Used by the MP3 module (TC260-PG-202510A, MP3: ``TXXX`` frame, description ``AIGC``) and by the
WAV module, where taggers such as mutagen keep an ID3v2 tag in an ``id3 `` chunk.

What the parser honours (ID3v2.3.0 and ID3v2.4.0 "structure" documents):

* tag-level unsynchronisation: in v2.3 it covers the whole tag body, so the body is decoded before
  the frames are walked and re-encoded (minimally: only where a false sync would appear) on write;
  in v2.4 it is per frame, frame headers are never unsynchronised, so frames are kept raw;
* the extended header is skipped on read and dropped on write, as mutagen does: its CRC and padding
  size would be stale after an edit, and nothing in it is metadata a user set;
* frame sizes are syncsafe in v2.4 and plain in v2.3; some writers (old iTunes) put plain sizes in
  v2.4 tags, so a v2.4 walk that does not end cleanly is retried with plain sizes (mutagen's rule);
* frame flags: grouping, encryption, compression (zlib, bounded), data-length indicator and
  per-frame unsynchronisation are undone before a ``TXXX`` value is decoded; encrypted frames
  cannot be read and are kept as they are;
* bytes after the last frame that are not zero padding (seen in the wild: leftovers of other
  taggers) are kept verbatim after the frames, so no byte of the original is lost.

ID3v2.2 tags (3-character frame ids, ``TXX``) are read; writing into one is refused because the
verifiers the guide names do not read v2.2 and converting every frame to v2.4 is a tag rewrite,
not a metadata edit (mutagen's ``update_to_v24`` does it; run that first).
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass

from synthguard.errors import CorruptFile, MetadataTooLarge, UnsupportedFormat
from synthguard.labels.implicit._slots import MAX_LABEL_BYTES, SLOT, raw_label
from synthguard.labels.model import RawLabel

HEADER_SIZE = 10
# Room left after the frames of a new or grown tag, so the next edit fits without moving the audio
# (mutagen leaves about 1 KiB as well).
DEFAULT_PADDING = 1024
MAX_TAG_SIZE = (1 << 28) - 1  # the syncsafe 28-bit size field

_FLAG_UNSYNC = 0x80
_FLAG_EXTENDED = 0x40
_FLAG_FOOTER = 0x10
_FRAME_ID = re.compile(rb"^[A-Z0-9]{3,4}$")
_FALSE_SYNC = re.compile(rb"\xff(?=[\x00\xe0-\xff]|$)")


@dataclass(frozen=True, slots=True)
class TagHeader:
    version: int
    revision: int
    flags: int
    size: int  # the header's size field: body bytes, without header and footer

    @property
    def footer(self) -> bool:
        return self.version == 4 and bool(self.flags & _FLAG_FOOTER)

    @property
    def total(self) -> int:
        return HEADER_SIZE + self.size + (HEADER_SIZE if self.footer else 0)


@dataclass(frozen=True, slots=True)
class Frame:
    id: bytes
    flags: int
    raw: bytes  # header and data exactly as they sit in the (tag-level decoded) body
    data: bytes
    offset: int  # offset of the frame in the body


@dataclass(frozen=True, slots=True)
class Tag:
    header: TagHeader
    frames: list[Frame]
    tail: bytes  # everything after the last frame: zero padding or bytes kept verbatim
    body_offset: int  # where the frames start in the decoded body (after an extended header)
    syncsafe_frames: bool = True  # False for v2.3 and for v2.4 tags written with plain sizes


def syncsafe(value: int) -> bytes:
    return bytes(((value >> 21) & 0x7F, (value >> 14) & 0x7F, (value >> 7) & 0x7F, value & 0x7F))


def unsyncsafe(data: bytes) -> int:
    return (data[0] << 21) | (data[1] << 14) | (data[2] << 7) | data[3]


def is_syncsafe(data: bytes) -> bool:
    return all(b < 0x80 for b in data)


def unsynchronise(data: bytes) -> bytes:
    return _FALSE_SYNC.sub(b"\xff\x00", data)


def resynchronise(data: bytes) -> bytes:
    return data.replace(b"\xff\x00", b"\xff")


def parse_header(head: bytes, fmt: str, offset: int = 0) -> TagHeader:
    """The 10-byte ``ID3`` header (or the ``3DI`` footer, same layout)."""
    if len(head) < HEADER_SIZE or head[:3] not in (b"ID3", b"3DI"):
        raise CorruptFile(fmt, "expected an ID3v2 header", offset=offset)
    version, revision, flags = head[3], head[4], head[5]
    if version not in (2, 3, 4) or revision == 0xFF:
        raise CorruptFile(fmt, f"unknown ID3v2 version 2.{version}.{revision}", offset=offset)
    if not is_syncsafe(head[6:10]):
        raise CorruptFile(fmt, "ID3v2 tag size is not syncsafe", offset=offset)
    return TagHeader(version, revision, flags, unsyncsafe(head[6:10]))


def parse(data: bytes, fmt: str, offset: int = 0) -> Tag:
    """A whole tag (header, body, optional footer) -> its frames; raises CorruptFile on bad lengths."""
    header = parse_header(data[:HEADER_SIZE], fmt, offset)
    if len(data) < HEADER_SIZE + header.size:
        raise CorruptFile(fmt, "truncated ID3v2 tag", offset=offset)
    body = data[HEADER_SIZE : HEADER_SIZE + header.size]
    if header.version < 4 and header.flags & _FLAG_UNSYNC:
        body = resynchronise(body)
    if header.version == 2 and header.flags & _FLAG_EXTENDED:
        # v2.2 used this bit for "compressed tag", a scheme that was never defined: no frames to read.
        return Tag(header, [], body, 0)
    start = 0
    if header.flags & _FLAG_EXTENDED:
        start = _extended_header_end(header, body, fmt, offset)
    syncsafe_frames = header.version == 4
    walk = _walk(body, start, header.version, syncsafe_sizes=syncsafe_frames)
    if syncsafe_frames and (walk is None or walk[1].strip(b"\x00")):
        plain = _walk(body, start, 4, syncsafe_sizes=False)
        if plain is not None and (walk is None or not plain[1].strip(b"\x00")):
            walk, syncsafe_frames = plain, False
    if walk is None:
        raise CorruptFile(fmt, "an ID3v2 frame runs past the end of its tag", offset=offset)
    frames, tail = walk
    return Tag(header, frames, tail, start, syncsafe_frames)


def _extended_header_end(header: TagHeader, body: bytes, fmt: str, offset: int) -> int:
    if len(body) < 6:
        raise CorruptFile(fmt, "truncated ID3v2 extended header", offset=offset + HEADER_SIZE)
    # v2.3: a plain size that excludes its own 4 bytes; v2.4: syncsafe and includes itself.
    end = 4 + int.from_bytes(body[:4], "big") if header.version == 3 else unsyncsafe(body[:4])
    if not 6 <= end <= len(body):
        raise CorruptFile(fmt, "ID3v2 extended header size is out of range", offset=offset + HEADER_SIZE)
    return end


def _walk(body: bytes, pos: int, version: int, *, syncsafe_sizes: bool) -> tuple[list[Frame], bytes] | None:
    """Frames from ``pos``; None when a size is impossible (so the caller can try the other rule)."""
    id_len, head_len = (3, 6) if version == 2 else (4, 10)
    frames: list[Frame] = []
    while pos + head_len <= len(body):
        fid = body[pos : pos + id_len]
        if fid[0] == 0 or not _FRAME_ID.match(fid):
            break  # padding, or trailing bytes that are not a frame
        size_bytes = body[pos + id_len : pos + id_len + (3 if version == 2 else 4)]
        if version == 2:
            size, flags = int.from_bytes(size_bytes, "big"), 0
        else:
            if syncsafe_sizes and not is_syncsafe(size_bytes):
                return None
            size = unsyncsafe(size_bytes) if syncsafe_sizes else struct.unpack(">I", size_bytes)[0]
            flags = struct.unpack(">H", body[pos + 8 : pos + 10])[0]
        end = pos + head_len + size
        if end > len(body):
            return None
        frames.append(Frame(fid, flags, body[pos:end], body[pos + head_len : end], pos))
        pos = end
    return frames, body[pos:]


def _frame_payload(frame: Frame, version: int, tag_unsync: bool) -> bytes | None:
    """The frame's content with grouping/encryption/length/compression/unsync layers removed."""
    data = frame.data
    if version == 3:
        compressed, encrypted, grouped = frame.flags & 0x80, frame.flags & 0x40, frame.flags & 0x20
        if encrypted:
            return None
        skip = (4 if compressed else 0) + (1 if grouped else 0)
        data = data[skip:]
        unsync = False
    elif version == 4:
        grouped, compressed, encrypted = frame.flags & 0x40, frame.flags & 0x08, frame.flags & 0x04
        if encrypted:
            return None
        unsync = bool(frame.flags & 0x02) or tag_unsync
        skip = (1 if grouped else 0) + (4 if frame.flags & 0x01 else 0)
        data = data[skip:]
    else:
        return data
    if unsync:
        data = resynchronise(data)
    if compressed:
        try:
            inflater = zlib.decompressobj()
            data = inflater.decompress(data, MAX_LABEL_BYTES)
        except zlib.error:
            return None
    return data


_ENCODINGS = {0: "latin-1", 1: "utf-16", 2: "utf-16-be", 3: "utf-8"}


def _split_txxx(payload: bytes) -> tuple[str, str] | None:
    """A TXXX payload -> (description, value), or None when it is not decodable at all."""
    if not payload or payload[0] not in _ENCODINGS:
        return None
    encoding = _ENCODINGS[payload[0]]
    rest = payload[1:]
    if payload[0] in (1, 2):
        cut = next((i for i in range(0, len(rest) - 1, 2) if rest[i : i + 2] == b"\x00\x00"), -1)
        value_start = cut + 2
    else:
        cut = rest.find(b"\x00")
        value_start = cut + 1
    if cut < 0:
        return None
    description = rest[:cut].decode(encoding, errors="replace")
    value = rest[value_start : value_start + MAX_LABEL_BYTES].decode(encoding, errors="replace")
    return description.lstrip("\ufeff"), value.lstrip("\ufeff").rstrip("\x00")


def _is_txxx(frame: Frame) -> bool:
    return frame.id in (b"TXXX", b"TXX")


def is_label_frame(frame: Frame, tag: Tag) -> bool:
    """A TXXX frame whose description is AIGC in any case (readers in the wild match loosely)."""
    if not _is_txxx(frame):
        return False
    payload = _frame_payload(frame, tag.header.version, bool(tag.header.flags & _FLAG_UNSYNC))
    split = _split_txxx(payload) if payload is not None else None
    return split is not None and split[0].strip().upper() == SLOT


def labels(tag: Tag, where: str, offset: int) -> list[RawLabel]:
    """Every ``TXXX:AIGC`` in ``tag`` as RawLabels; ``where`` prefixes the carrier name."""
    found: list[RawLabel] = []
    version = tag.header.version
    for frame in tag.frames:
        if not _is_txxx(frame):
            continue
        payload = _frame_payload(frame, version, bool(tag.header.flags & _FLAG_UNSYNC))
        split = _split_txxx(payload) if payload is not None else None
        if split is None or split[0].strip().upper() != SLOT:
            continue
        carrier = f"{where}ID3v2.{version} {frame.id.decode()}:{split[0]}"
        # Frame offsets are in the decoded body; exact for every tag without v2.3 unsync.
        found.append(raw_label(carrier, split[1], offset + HEADER_SIZE + frame.offset))
    return found


def label_frame(version: int, value: str, *, syncsafe_size: bool = True) -> bytes:
    """Our TXXX frame: UTF-8 in v2.4; Latin-1 in v2.3 (the JSON is ASCII, so nothing is lost).

    In a v2.4 tag whose frames carry plain sizes ours does too: one tag, one size rule, or no
    reader could walk it.
    """
    if version == 4:
        data = b"\x03" + SLOT.encode() + b"\x00" + value.encode("utf-8")
        size = syncsafe(len(data)) if syncsafe_size else struct.pack(">I", len(data))
        return b"TXXX" + size + b"\x00\x00" + data
    if version == 3:
        data = b"\x00" + SLOT.encode() + b"\x00" + value.encode("latin-1")
        return b"TXXX" + struct.pack(">I", len(data)) + b"\x00\x00" + data
    raise UnsupportedFormat(
        "ID3v2.2 tag: synthguard writes TXXX:AIGC into ID3v2.3/2.4 only; convert the tag first "
        "(e.g. mutagen ID3.update_to_v24 + save)",
        message_zh="ID3v2.2 标签不支持写入隐式标识，请先转换为 ID3v2.3/2.4",
    )


def has_label(tag: Tag) -> bool:
    return any(is_label_frame(frame, tag) for frame in tag.frames)


def rebuild(tag: Tag, value: str | None, fmt: str) -> bytes:
    """``tag`` without any TXXX:AIGC, plus ours when ``value`` is given, in the tag's own version.

    When the frames still fit in the old body the tag keeps its size (the padding absorbs the
    change, so the audio after it does not move); otherwise it grows with ``DEFAULT_PADDING``.
    """
    header = tag.header
    frames = [frame.raw for frame in tag.frames if not is_label_frame(frame, tag)]
    if value is not None:
        frames.append(label_frame(header.version, value, syncsafe_size=tag.syncsafe_frames))
    content = b"".join(frames)
    if tag.tail.strip(b"\x00"):
        content += tag.tail
    if header.version < 4 and header.flags & _FLAG_UNSYNC:
        content = unsynchronise(content)
    flags = header.flags & ~_FLAG_EXTENDED
    if header.footer:
        size = len(content)
    elif len(content) + (content[-1:] == b"\xff") <= header.size:
        size = header.size
    else:
        size = len(content) + DEFAULT_PADDING
    if size > MAX_TAG_SIZE:
        raise MetadataTooLarge(f"{fmt}: the ID3v2 tag would exceed its 256 MiB limit")
    out = b"ID3" + bytes((header.version, header.revision, flags)) + syncsafe(size)
    out += content + b"\x00" * (size - len(content))
    if header.footer:
        out += b"3DI" + out[3:HEADER_SIZE]
    return out


def new_tag(value: str) -> bytes:
    """A fresh ID3v2.4 tag holding only our frame (the file had no tag)."""
    frame = label_frame(4, value)
    size = len(frame) + DEFAULT_PADDING
    return b"ID3\x04\x00\x00" + syncsafe(size) + frame + b"\x00" * DEFAULT_PADDING
