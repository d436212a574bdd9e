"""PDF: the ``AIGC`` label as the document Info dictionary key ``/AIGC`` (TC260-PG-20258A, 6.3).

**Carrier.** The value is the bare seven-key JSON as a PDF literal string in the Info dictionary that
the *last* trailer names (``/Info``). Readers also find ``TC260:AIGC`` in the catalogue's XMP
``/Metadata`` stream (the guide's generic fallback); that copy is reported as a second carrier and a
write removes it, so a labelled file holds exactly one.

**Writing is an incremental update** (ISO 32000-1, 7.5.6): the original bytes are copied unchanged and
a new revision is appended: a new version of the Info object (same object number; every existing key
copied byte for byte, ``/AIGC`` replaced), a new Metadata stream only when it held an AIGC copy, a new
cross-reference section and a trailer with ``/Prev``, ``/Size``, ``/Root``, ``/Info`` and ``/ID``
kept. Pages and content streams are untouched, and an existing signature still verifies: the bytes its
``/ByteRange`` covers are all still there, unchanged.
The new section mirrors the kind of the last one: a classic ``xref`` table after a table (hybrid
files included: the older ``/XRefStm`` stays reachable through ``/Prev``), an xref *stream* after an
xref stream. A classic table whose ``/Prev`` is an xref stream is not a structure ISO 32000-1 defines
(7.5.8.4 describes only the reverse, a table carrying ``/XRefStm``), so we do not rely on readers
tolerating it. Earlier revisions of the Info dictionary stay in the file's bytes by design,
as with every incremental update; they are not part of the current document.

**Reading** follows the last ``startxref`` and the ``/Prev`` chain (tables, xref streams, hybrid
``/XRefStm``), resolving objects lazily, including objects inside object streams. A label read
touches the tail, the xref section headers, the trailer, the Info and catalogue objects and the XMP
stream: never a page.

**content_digest rule.** SHA-256 over every indirect object reachable from the trailer's ``/Root``,
in object-number order, *excluding* the Info dictionary's object and the catalogue's ``/Metadata``
stream (the two metadata slots a label write replaces). Each object contributes its number, its
canonical serialisation (names, hex strings, numbers, references, in the order written) and, for a
stream, SHA-256 of its raw (still encoded) data. Where an object is stored (table or xref stream,
object stream, which incremental revision) and the whitespace around tokens do not enter, so adding
or rewriting a label never changes the digest, nor does another tool's incremental Info update, while
editing any page, font, image or content stream does (as does a full re-save that renumbers objects
or recompresses streams).

**Why hand-written.** pypdf's writer re-serialises the document; its ``incremental`` mode loads and
hashes every object (stream data included) to find what changed, and always appends an xref stream,
also after a classic table. qpdf (pikepdf) needs a native library and cannot write incremental
updates at all. Neither gives a bounded look at Info that never touches a page, plus an append-only
write that leaves every original byte in place. pypdf, pikepdf and exiftool serve as independent
readers and writers in the tests.

**Bounds.** Every loop advances through the file or a bounded buffer: at most 1,024 xref sections
(loops in ``/Prev`` are detected), 262,144 subsections, objects of 4 MiB (non-stream), decompressed
streams of 64 MiB, nesting depth 64. A hostile file costs at most a few seconds of parsing, never a
hang or an unbounded allocation; broken structure raises ``CorruptFile``.

Encrypted documents are refused (``UnsupportedFormat``): their Info strings are encrypted with
per-object keys, and writing a plaintext ``/AIGC`` would be garbage to every reader.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from typing import BinaryIO, NoReturn, TypeAlias

import numpy as np

from synthguard.errors import CorruptFile, MetadataTooLarge, UnsupportedFormat
from synthguard.labels.implicit import _xmp
from synthguard.labels.implicit._slots import is_wrapped
from synthguard.labels.implicit.registry import (
    FormatPlugin,
    content_hasher,
    copy_range,
    file_size,
    hash_ranges,
)
from synthguard.labels.model import AIGCLabel, RawLabel

FMT = "PDF"
KEY = b"AIGC"
INFO_CARRIER = "PDF Info /AIGC"
XMP_CARRIER = "XMP TC260:AIGC (PDF catalogue /Metadata)"

# ISO 32000-1 7.5.5 puts startxref in the last 1024 bytes; some writers append junk after %%EOF.
_TAIL_BYTES = 4096
# Bounds that a forged length or count cannot exceed. PDF 1.7 Annex C caps object numbers at
# 8,388,607 and strings at 32,767 bytes (the string cap only limits what we write).
_MAX_OBJECT_NUMBER = 8_388_607
_MAX_STRING = 32_767
# One non-stream object (a dictionary, a Kids or Names array): real ones stay far below this. Parsing
# is pure Python, so the cap also bounds the time a hostile file can cost (about a second).
_MAX_OBJECT_BYTES = 4 << 20
_MAX_METADATA_BYTES = 16 << 20
_MAX_INFLATED = 64 << 20
_MAX_SECTIONS = 1024
_MAX_SUBSECTIONS = 1 << 18
_MAX_DEPTH = 64
_MAX_RESOLVE_DEPTH = 8
# A token parser needs this much lookahead before it may trust "end of buffer" as "end of token".
_LOOKAHEAD = 64
# Sub/Average/Paeth rows are undone byte by byte in Python; writers use Up (vectorised) for xref data.
_MAX_SLOW_PREDICTOR = 1 << 20

_WS = rb"\x00\t\n\x0c\r "
_WHITESPACE = frozenset(b"\x00\t\n\x0c\r ")
_TOKEN_ENDERS = frozenset(b"\x00\t\n\x0c\r ()<>[]{}/%")
_NAME_BODY = re.compile(rb"[^\x00\t\n\x0c\r ()<>\[\]{}/%]*")
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_NUMBER = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)")
_REF_TAIL = re.compile(rb"[" + _WS + rb"]+(\d{1,10})[" + _WS + rb"]+R(?=[" + _WS + rb"()<>\[\]{}/%]|$)")
_KEYWORD = re.compile(rb"[A-Za-z]+")
_END = rb"(?=[" + _WS + rb"()<>\[\]{}/%])"
# A reference, a number or a name, each followed by a delimiter: the tokens big arrays are made of.
_SIMPLE = (
    rb"(?:(\d{1,10})[" + _WS + rb"]++(\d{1,5})[" + _WS + rb"]++R"
    rb"|([+-]?(?:\d{1,40}(?:\.\d{0,40})?|\.\d{1,40}))"
    rb"|/([^" + _WS + rb"()<>\[\]{}/%]*+))" + _END
)
_ARRAY_ITEM = re.compile(rb"[" + _WS + rb"]*+" + _SIMPLE)
_DICT_ENTRY = re.compile(
    rb"[" + _WS + rb"]*+(/[^" + _WS + rb"()<>\[\]{}/%]*+)[" + _WS + rb"]*+(" + _SIMPLE + rb")"
)
_LITERAL_SPECIAL = re.compile(rb"[()\\\r]")
_SKIP = re.compile(rb"(?:[" + _WS + rb"]++|%[^\r\n]*+[\r\n])*+")
_HEX_WS = re.compile(rb"[" + _WS + rb"]")
_HEX = re.compile(rb"[0-9A-Fa-f]*")
_OBJ_HEADER = re.compile(rb"[" + _WS + rb"]*(\d{1,10})[" + _WS + rb"]+(\d{1,5})[" + _WS + rb"]+obj")
_STARTXREF = re.compile(rb"startxref[" + _WS + rb"]+(\d{1,20})")
_SUBSECTION = re.compile(rb"[" + _WS + rb"]*(\d{1,10})[ \t]+(\d{1,10})[ \t]*(?:\r\n|\n|\r)")
_TRAILER = re.compile(rb"[" + _WS + rb"]*trailer")
_ENTRY_STRICT = re.compile(rb"\d{10} \d{5} [nf](?: \r| \n|\r\n)")
_ENTRY_LOOSE = re.compile(rb"\d{1,10} \d{1,5} [nf] ?(?:\r\n|\n|\r)")
_ENTRY_FIELDS = re.compile(rb"[" + _WS + rb"]*(\d{1,10})[ ]+(\d{1,5})[ ]+([nf])")
_ENDSTREAM = re.compile(rb"[" + _WS + rb"]*endstream")
_ESCAPES = {
    ord("n"): b"\n",
    ord("r"): b"\r",
    ord("t"): b"\t",
    ord("b"): b"\b",
    ord("f"): b"\f",
    ord("("): b"(",
    ord(")"): b")",
    ord("\\"): b"\\",
}
# Keys that describe one xref section, not the document: never carried into the next trailer.
_SECTION_KEYS = frozenset(
    {
        b"Prev",
        b"XRefStm",
        b"Type",
        b"W",
        b"Index",
        b"Length",
        b"Filter",
        b"DecodeParms",
        b"DL",
        b"F",
        b"FFilter",
        b"FDecodeParms",
        b"Size",
    }
)


# --- values -------------------------------------------------------------------------------------


class Name(bytes):
    """A PDF name without its slash, ``#xx`` escapes decoded."""


class PdfString(bytes):
    """A PDF string's bytes (literal or hex form, escapes decoded)."""


@dataclass(frozen=True, slots=True)
class Ref:
    num: int
    gen: int


PdfValue: TypeAlias = "bool | int | float | Name | PdfString | Ref | list[PdfValue] | PdfDict | None"


class PdfDict(dict[bytes, PdfValue]):
    """A dictionary that also keeps each entry's source bytes, so an edit copies them verbatim."""

    __slots__ = ("entries",)

    def __init__(self) -> None:
        super().__init__()
        # (key, raw key token, raw value bytes, value), duplicates included, in file order.
        self.entries: list[tuple[bytes, bytes, bytes, PdfValue]] = []


@dataclass(frozen=True, slots=True)
class Stream:
    """A stream object: its dictionary and where its raw (encoded) data lies in the file."""

    info: PdfDict
    start: int
    length: int


Resolved: TypeAlias = "PdfValue | Stream"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _decode_name(raw: bytes) -> Name:
    if b"#" in raw:
        raw = _NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)
    return Name(raw)


def _simple(match: re.Match[bytes], first: int) -> PdfValue:
    """The value of a ``_SIMPLE`` match whose groups start at ``first``: reference, number or name."""
    num, gen, number, name = match.group(first, first + 1, first + 2, first + 3)
    if num is not None:
        return Ref(int(num), int(gen))
    if number is not None:
        return float(number) if b"." in number else int(number)
    return _decode_name(name)


class _Truncated(Exception):
    """The parser ran past the end of its window; the caller reads a bigger one."""


class _Parser:
    """A bounded parser for one PDF object held in ``buf``.

    ``at_eof`` says whether the buffer ends where the data ends; otherwise reaching its end raises
    ``_Truncated`` so the caller can read more. ``base`` maps buffer positions to file offsets for
    error messages (None inside decompressed object streams).
    """

    __slots__ = ("at_eof", "base", "buf", "pos")

    def __init__(self, buf: bytes, pos: int = 0, *, at_eof: bool, base: int | None) -> None:
        self.buf = buf
        self.pos = pos
        self.at_eof = at_eof
        self.base = base

    def fail(self, reason: str) -> NoReturn:
        raise CorruptFile(FMT, reason, offset=None if self.base is None else self.base + self.pos)

    def ran_out(self) -> NoReturn:
        if self.at_eof:
            self.fail("object ends before it is complete")
        raise _Truncated

    def skip_ws(self) -> None:
        end = len(self.buf)
        skipped = _SKIP.match(self.buf, self.pos)
        assert skipped is not None  # the pattern matches the empty string
        pos = skipped.end()
        if pos < end and self.buf[pos] == 0x25:  # a comment running to the end of the buffer
            self.pos = end
            if self.at_eof:
                return
            raise _Truncated
        self.pos = pos
        if pos + _LOOKAHEAD > end and not self.at_eof:
            raise _Truncated

    def value(self, depth: int = 0) -> PdfValue:
        if depth > _MAX_DEPTH:
            self.fail(f"objects nested deeper than {_MAX_DEPTH}")
        self.skip_ws()
        buf, pos = self.buf, self.pos
        if pos >= len(buf):
            self.ran_out()
        c = buf[pos]
        if c == 0x2F:  # /
            return self.name()
        if c == 0x28:  # (
            return self.literal()
        if c == 0x3C:  # <
            if buf[pos + 1 : pos + 2] == b"<":
                return self.dictionary(depth)
            return self.hex_string()
        if c == 0x5B:  # [
            return self.array(depth)
        if c in b"+-.0123456789":
            return self.number_or_ref()
        word = _KEYWORD.match(buf, pos)
        if word is not None:
            self.pos = word.end()
            text = word.group()
            if text == b"true":
                return True
            if text == b"false":
                return False
            if text == b"null":
                return None
            self.pos = pos
            self.fail(f"unexpected keyword {text[:20]!r}")
        self.fail(f"unexpected byte 0x{c:02x}")

    def name(self) -> Name:
        match = _NAME_BODY.match(self.buf, self.pos + 1)
        assert match is not None  # the pattern matches the empty string
        if match.end() == len(self.buf) and not self.at_eof:
            raise _Truncated
        self.pos = match.end()
        return _decode_name(match.group())

    def literal(self) -> PdfString:
        buf, end = self.buf, len(self.buf)
        pos = self.pos + 1
        depth = 1
        out = bytearray()
        while True:
            special = _LITERAL_SPECIAL.search(buf, pos)
            if special is None:
                self.pos = end
                self.ran_out()
            at = special.start()
            out += buf[pos:at]
            c = buf[at]
            pos = at + 1
            if c == 0x28:
                depth += 1
                out.append(c)
            elif c == 0x29:
                depth -= 1
                if depth == 0:
                    break
                out.append(c)
            elif c == 0x0D:  # a bare CR or CRLF inside a literal string reads as LF (7.3.4.2)
                if pos >= end and not self.at_eof:
                    raise _Truncated
                if buf[pos : pos + 1] == b"\n":
                    pos += 1
                out.append(0x0A)
            else:
                if pos >= end:
                    self.pos = pos
                    self.ran_out()
                e = buf[pos]
                pos += 1
                if e in _ESCAPES:
                    out += _ESCAPES[e]
                elif 0x30 <= e <= 0x37:
                    digits = bytes([e])
                    while len(digits) < 3 and pos < end and 0x30 <= buf[pos] <= 0x37:
                        digits += buf[pos : pos + 1]
                        pos += 1
                    out.append(int(digits, 8) & 0xFF)
                elif e == 0x0D:
                    if buf[pos : pos + 1] == b"\n":
                        pos += 1
                elif e != 0x0A:
                    out.append(e)
        self.pos = pos
        return PdfString(bytes(out))

    def hex_string(self) -> PdfString:
        close = self.buf.find(b">", self.pos + 1)
        if close < 0:
            self.pos = len(self.buf)
            self.ran_out()
        body = _HEX_WS.sub(b"", self.buf[self.pos + 1 : close])
        if _HEX.fullmatch(body) is None:
            self.fail("hex string holds a non-hex character")
        if len(body) % 2:
            body += b"0"
        self.pos = close + 1
        return PdfString(bytes.fromhex(body.decode("ascii")))

    def _fast_limit(self) -> int:
        # A token ending this close to the window's end may continue past it: leave it to the slow path.
        return len(self.buf) if self.at_eof else len(self.buf) - _LOOKAHEAD

    def dictionary(self, depth: int) -> PdfDict:
        self.pos += 2
        result = PdfDict()
        buf = self.buf
        limit = self._fast_limit()
        while True:
            # Fast path: "/Key <number, reference or name>", most entries of big dictionaries.
            entry = _DICT_ENTRY.match(buf, self.pos)
            while entry is not None and entry.end() <= limit:
                key = _decode_name(entry.group(1)[1:])
                value = _simple(entry, 3)
                result[key] = value
                result.entries.append((key, entry.group(1), entry.group(2), value))
                self.pos = entry.end()
                entry = _DICT_ENTRY.match(buf, self.pos)
            self.skip_ws()
            pos = self.pos
            if pos >= len(buf):
                self.ran_out()
            if buf[pos : pos + 2] == b">>":
                self.pos = pos + 2
                return result
            if buf[pos] != 0x2F:
                self.fail("dictionary key is not a name")
            name = bytes(self.name())
            raw_key = buf[pos : self.pos]
            self.skip_ws()
            start = self.pos
            item = self.value(depth + 1)
            result[name] = item
            result.entries.append((name, raw_key, buf[start : self.pos], item))

    def array(self, depth: int) -> list[PdfValue]:
        self.pos += 1
        items: list[PdfValue] = []
        buf = self.buf
        limit = self._fast_limit()
        while True:
            # Fast path: runs of numbers, references and names (Kids, Widths, Names arrays).
            token = _ARRAY_ITEM.match(buf, self.pos)
            while token is not None and token.end() <= limit:
                items.append(_simple(token, 1))
                self.pos = token.end()
                token = _ARRAY_ITEM.match(buf, self.pos)
            self.skip_ws()
            if self.pos >= len(buf):
                self.ran_out()
            if buf[self.pos] == 0x5D:
                self.pos += 1
                return items
            items.append(self.value(depth + 1))

    def number_or_ref(self) -> int | float | Ref:
        buf, pos = self.buf, self.pos
        match = _NUMBER.match(buf, pos)
        if match is None:
            self.fail("malformed number")
        end = match.end()
        if end - pos > 40:
            self.fail("number too long")
        if end < len(buf) and buf[end] not in _TOKEN_ENDERS:
            self.fail("malformed number")
        text = match.group()
        if b"." in text:
            self.pos = end
            return float(text)
        if text[0] in b"+-":
            self.pos = end
            return int(text)
        tail = _REF_TAIL.match(buf, end)
        if tail is not None:
            self.pos = tail.end()
            return Ref(int(text), int(tail.group(1)))
        self.pos = end
        return int(text)


# --- cross-reference sections -------------------------------------------------------------------

Entry: TypeAlias = tuple[int, int, int]  # (type 0 free / 1 in file / 2 in object stream, field 2, field 3)


@dataclass
class _XRefStream:
    offset: int
    rows: bytes
    widths: tuple[int, int, int]
    index: list[tuple[int, int, int]]  # first object, count, first row
    trailer: PdfDict

    def lookup(self, num: int) -> Entry | None:
        w1, w2, w3 = self.widths
        row_len = w1 + w2 + w3
        for first, count, row0 in self.index:
            if first <= num < first + count:
                at = (row0 + num - first) * row_len
                row = self.rows[at : at + row_len]
                kind = int.from_bytes(row[:w1], "big") if w1 else 1
                second = int.from_bytes(row[w1 : w1 + w2], "big")
                third = int.from_bytes(row[w1 + w2 :], "big")
                return kind, second, third
        return None


@dataclass
class _Table:
    offset: int
    subsections: list[tuple[int, int, int, int]]  # first object, count, entries offset, entry length
    trailer: PdfDict
    companion: _XRefStream | None  # hybrid files: the trailer's /XRefStm


Section: TypeAlias = "_Table | _XRefStream"


class _Document:
    """Lazy access to a PDF's objects through its last trailer and the ``/Prev`` chain."""

    def __init__(self, src: BinaryIO) -> None:
        self.src = src
        self.size = file_size(src)
        self.sections: list[Section] = []
        # The trailer a reader sees: newest value of each document-level key wins (as pypdf does).
        self.trailer = PdfDict()
        self.trailer_raw: dict[bytes, tuple[bytes, bytes]] = {}
        self.size_entry = 0
        self._cache: dict[int, Resolved] = {}
        self._object_streams: dict[int, tuple[bytes, int, list[tuple[int, int]]]] = {}
        self.startxref = self._find_startxref()
        self._load_chain()

    # reading bytes -------------------------------------------------------------------------------

    def _read(self, offset: int, length: int) -> bytes:
        self.src.seek(offset)
        return self.src.read(max(0, min(length, self.size - offset)))

    def _find_startxref(self) -> int:
        if self.size < 16:
            raise CorruptFile(FMT, f"only {self.size} bytes, too short for a PDF")
        tail_len = min(self.size, _TAIL_BYTES)
        tail = self._read(self.size - tail_len, tail_len)
        at = tail.rfind(b"startxref")
        if at < 0:
            raise CorruptFile(FMT, "no startxref in the last 4 KiB (truncated file?)", offset=self.size)
        match = _STARTXREF.match(tail, at)
        if match is None:
            raise CorruptFile(FMT, "startxref is not followed by an offset", offset=self.size - tail_len + at)
        offset = int(match.group(1))
        if not 0 < offset < self.size:
            raise CorruptFile(FMT, f"startxref points outside the file ({offset})")
        return offset

    def _load_chain(self) -> None:
        offset: int | None = self.startxref
        seen: set[int] = set()
        while offset is not None:
            if offset in seen:
                raise CorruptFile(FMT, "the xref /Prev chain loops", offset=offset)
            if len(seen) >= _MAX_SECTIONS:
                raise CorruptFile(FMT, f"more than {_MAX_SECTIONS} xref sections")
            seen.add(offset)
            section = self._section_at(offset)
            if isinstance(section, _Table):
                stm = section.trailer.get(b"XRefStm")
                if _is_int(stm) and isinstance(stm, int) and stm not in seen and 0 < stm < self.size:
                    seen.add(stm)
                    section.companion = self._xref_stream_at(stm)
            self.sections.append(section)
            trailer = section.trailer
            for key, raw_key, raw_value, value in trailer.entries:
                if key not in _SECTION_KEYS and key not in self.trailer:
                    self.trailer[key] = value
                    self.trailer_raw[key] = (raw_key, raw_value)
            size = trailer.get(b"Size")
            if _is_int(size) and isinstance(size, int):
                self.size_entry = max(self.size_entry, min(size, _MAX_OBJECT_NUMBER + 1))
            prev = trailer.get(b"Prev")
            if prev is None:
                offset = None
            elif _is_int(prev) and isinstance(prev, int) and 0 < prev < self.size:
                offset = prev
            else:
                raise CorruptFile(FMT, f"trailer /Prev is not an offset in the file ({prev!r})")
        if self.size_entry == 0:
            # Without /Size a new object number could collide with an existing object.
            raise CorruptFile(FMT, "the trailer has no /Size")

    def _section_at(self, offset: int) -> Section:
        head = self._read(offset, 32).lstrip(b"\x00\t\n\x0c\r ")
        if head.startswith(b"xref"):
            return self._table_at(offset + self._read(offset, 32).index(b"xref") + 4)
        if _OBJ_HEADER.match(head):
            return self._xref_stream_at(offset)
        raise CorruptFile(FMT, "startxref or /Prev does not point to an xref section", offset=offset)

    def _table_at(self, pos: int) -> _Table:
        table_offset = pos - 4
        subsections: list[tuple[int, int, int, int]] = []
        while True:
            chunk = self._read(pos, 128)
            header = _SUBSECTION.match(chunk)
            if header is None:
                trailer_kw = _TRAILER.match(chunk)
                if trailer_kw is None:
                    raise CorruptFile(FMT, "malformed xref table", offset=pos)
                trailer = self._value_at(pos + trailer_kw.end())
                if not isinstance(trailer, PdfDict):
                    raise CorruptFile(FMT, "trailer is not a dictionary", offset=pos)
                return _Table(table_offset, subsections, trailer, None)
            first, count = int(header.group(1)), int(header.group(2))
            entries = pos + header.end()
            if first > _MAX_OBJECT_NUMBER or count > _MAX_OBJECT_NUMBER:
                raise CorruptFile(FMT, f"xref subsection {first} {count} is out of range", offset=pos)
            entry_len = 20
            if count:
                sample = self._read(entries, 21)
                strict = _ENTRY_STRICT.match(sample)
                if strict is None:
                    loose = _ENTRY_LOOSE.match(sample)
                    if loose is None:
                        raise CorruptFile(FMT, "malformed xref entry", offset=entries)
                    entry_len = loose.end()
            end = entries + count * entry_len
            if end > self.size:
                raise CorruptFile(FMT, "xref table runs past the end of the file", offset=pos)
            subsections.append((first, count, entries, entry_len))
            if len(subsections) > _MAX_SUBSECTIONS:
                raise CorruptFile(FMT, "too many xref subsections", offset=pos)
            pos = end

    def _xref_stream_at(self, offset: int) -> _XRefStream:
        _, _, obj = self._object_at(offset, direct_length_only=True)
        if not isinstance(obj, Stream) or obj.info.get(b"Type") != b"XRef":
            raise CorruptFile(FMT, "xref offset does not hold an /XRef stream", offset=offset)
        info = obj.info
        widths = info.get(b"W")
        if (
            not isinstance(widths, list)
            or len(widths) != 3
            or not all(_is_int(w) and isinstance(w, int) and 0 <= w <= 8 for w in widths)
        ):
            raise CorruptFile(FMT, "xref stream /W is not three small integers", offset=offset)
        w1, w2, w3 = (int(w) for w in widths if isinstance(w, int))
        row_len = w1 + w2 + w3
        size = info.get(b"Size")
        if not (_is_int(size) and isinstance(size, int) and 0 <= size <= _MAX_OBJECT_NUMBER + 1):
            raise CorruptFile(FMT, "xref stream /Size is missing or out of range", offset=offset)
        raw_index = info.get(b"Index", [0, size])
        if (
            not isinstance(raw_index, list)
            or len(raw_index) % 2
            or not all(
                _is_int(v) and isinstance(v, int) and 0 <= v <= _MAX_OBJECT_NUMBER + 1 for v in raw_index
            )
        ):
            raise CorruptFile(FMT, "xref stream /Index is malformed", offset=offset)
        rows = self._decode(obj, _MAX_INFLATED)
        index: list[tuple[int, int, int]] = []
        row = 0
        numbers = [int(v) for v in raw_index if isinstance(v, int)]
        for first, count in zip(numbers[::2], numbers[1::2], strict=True):
            index.append((first, count, row))
            row += count
        if row_len == 0 or row * row_len > len(rows):
            raise CorruptFile(FMT, "xref stream data is shorter than its /Index says", offset=offset)
        return _XRefStream(offset, rows, (w1, w2, w3), index, info)

    def _table_lookup(self, table: _Table, num: int) -> Entry | None:
        for first, count, entries, entry_len in table.subsections:
            if first <= num < first + count:
                raw = self._read(entries + (num - first) * entry_len, entry_len)
                fields = _ENTRY_FIELDS.match(raw)
                if fields is None:
                    raise CorruptFile(FMT, f"malformed xref entry for object {num}", offset=entries)
                offset = int(fields.group(1))
                in_use = fields.group(3) == b"n" and offset > 0
                return (1 if in_use else 0), offset, int(fields.group(2))
        return None

    def entry(self, num: int) -> Entry | None:
        """The newest xref entry for object ``num`` (None when no section lists it)."""
        for section in self.sections:
            if isinstance(section, _XRefStream):
                found = section.lookup(num)
            else:
                found = self._table_lookup(section, num)
                # Hybrid files list compressed objects as free in the table and in use in /XRefStm.
                if (found is None or found[0] != 1) and section.companion is not None:
                    found = section.companion.lookup(num) or found
            if found is not None:
                return found
        return None

    # objects -------------------------------------------------------------------------------------

    def get(self, num: int, *, keep: bool = True, depth: int = 0) -> Resolved:
        """Resolve object ``num``; a missing or free object is ``None`` (ISO 32000-1 7.3.10)."""
        if num in self._cache:
            return self._cache[num]
        if depth > _MAX_RESOLVE_DEPTH:
            raise CorruptFile(FMT, f"object {num}: references nest too deeply")
        found = self.entry(num)
        value: Resolved = None
        if found is not None and found[0] == 1:
            got, _, value = self._object_at(found[1], depth=depth)
            if got != num:
                raise CorruptFile(FMT, f"xref entry for object {num} points to object {got}", offset=found[1])
        elif found is not None and found[0] == 2:
            value = self._from_object_stream(found[1], found[2], num, depth)
        if keep:
            self._cache[num] = value
        return value

    def _value_at(self, offset: int) -> PdfValue:
        window = 4096
        while True:
            buf = self._read(offset, window)
            at_eof = offset + len(buf) >= self.size
            try:
                return _Parser(buf, at_eof=at_eof, base=offset).value()
            except _Truncated:
                window = self._grow(window, offset)

    def _grow(self, window: int, offset: int) -> int:
        if window >= _MAX_OBJECT_BYTES:
            raise CorruptFile(FMT, f"object larger than {_MAX_OBJECT_BYTES} bytes", offset=offset)
        return min(window * 16, _MAX_OBJECT_BYTES)  # each retry re-parses, so grow fast

    def _object_at(
        self, offset: int, *, depth: int = 0, direct_length_only: bool = False
    ) -> tuple[int, int, Resolved]:
        window = 4096
        while True:
            buf = self._read(offset, window)
            at_eof = offset + len(buf) >= self.size
            try:
                return self._parse_object(buf, offset, at_eof, depth, direct_length_only)
            except _Truncated:
                window = self._grow(window, offset)

    def _parse_object(
        self, buf: bytes, offset: int, at_eof: bool, depth: int, direct_length_only: bool
    ) -> tuple[int, int, Resolved]:
        header = _OBJ_HEADER.match(buf)
        if header is None:
            if len(buf) < _LOOKAHEAD and not at_eof:
                raise _Truncated
            raise CorruptFile(FMT, "no 'N G obj' header where the xref points", offset=offset)
        num, gen = int(header.group(1)), int(header.group(2))
        parser = _Parser(buf, header.end(), at_eof=at_eof, base=offset)
        value = parser.value()
        parser.skip_ws()
        if not buf.startswith(b"stream", parser.pos):
            return num, gen, value
        if not isinstance(value, PdfDict):
            parser.fail("stream keyword after a non-dictionary")
        start = parser.pos + 6
        if buf[start : start + 2] == b"\r\n":
            start += 2
        elif buf[start : start + 1] in (b"\n", b"\r"):
            start += 1
        else:
            parser.fail("stream keyword not followed by an end of line")
        length: Resolved = value.get(b"Length")
        if isinstance(length, Ref):
            if direct_length_only:
                parser.fail("xref stream /Length must be a direct number")
            length = self.get(length.num, depth=depth + 1)
        if not (_is_int(length) and isinstance(length, int)) or length < 0:
            parser.fail("stream /Length is missing or not a number")
        data_start = offset + start
        if data_start + length > self.size:
            raise CorruptFile(FMT, "stream runs past the end of the file", offset=data_start)
        if _ENDSTREAM.match(self._read(data_start + length, 32)) is None:
            raise CorruptFile(FMT, "stream /Length does not end at 'endstream'", offset=data_start + length)
        return num, gen, Stream(value, data_start, length)

    def _from_object_stream(self, stream_num: int, index: int, num: int, depth: int) -> PdfValue:
        cached = self._object_streams.get(stream_num)
        if cached is None:
            found = self.entry(stream_num)
            if found is None or found[0] != 1:
                raise CorruptFile(FMT, f"object stream {stream_num} is not a plain object")
            _, _, obj = self._object_at(found[1], depth=depth + 1)
            if not isinstance(obj, Stream) or obj.info.get(b"Type") != b"ObjStm":
                raise CorruptFile(FMT, f"object {stream_num} is not an /ObjStm", offset=found[1])
            count, first = obj.info.get(b"N"), obj.info.get(b"First")
            if not (_is_int(count) and _is_int(first) and isinstance(count, int) and isinstance(first, int)):
                raise CorruptFile(FMT, f"object stream {stream_num} lacks /N or /First", offset=found[1])
            data = self._decode(obj, _MAX_INFLATED)
            if not 0 <= first <= len(data) or not 0 <= count <= first:
                raise CorruptFile(FMT, f"object stream {stream_num}: /N or /First out of range")
            numbers = [int(n) for n in re.findall(rb"\d{1,10}", data[:first])]
            if len(numbers) < 2 * count:
                raise CorruptFile(FMT, f"object stream {stream_num}: header lists fewer than /N objects")
            pairs = list(zip(numbers[: 2 * count : 2], numbers[1 : 2 * count : 2], strict=True))
            cached = (data, first, pairs)
            self._object_streams[stream_num] = cached
        data, first, pairs = cached
        if 0 <= index < len(pairs) and pairs[index][0] == num:
            relative = pairs[index][1]
        else:
            matches = [off for n, off in pairs if n == num]
            if not matches:
                raise CorruptFile(FMT, f"object {num} is not in object stream {stream_num}")
            relative = matches[0]
        if first + relative >= len(data):
            raise CorruptFile(FMT, f"object {num} lies outside object stream {stream_num}")
        return _Parser(data, first + relative, at_eof=True, base=None).value()

    # streams -------------------------------------------------------------------------------------

    def _decode(self, stream: Stream, limit: int) -> bytes:
        if stream.length > limit:
            raise CorruptFile(FMT, f"stream of {stream.length} bytes is over the {limit}-byte limit")
        data = self._read(stream.start, stream.length)
        filters = stream.info.get(b"Filter")
        params = stream.info.get(b"DecodeParms")
        filter_list = filters if isinstance(filters, list) else [] if filters is None else [filters]
        param_list = params if isinstance(params, list) else [params] * len(filter_list)
        for position, name in enumerate(filter_list):
            if name not in (b"FlateDecode", b"Fl"):
                raise UnsupportedFormat(f"PDF stream filter {name!r} is not supported for metadata streams")
            data = _inflate(data, limit, stream.start)
            param = param_list[position] if position < len(param_list) else None
            if isinstance(param, PdfDict):
                data = _unpredict(data, param, stream.start)
        return data

    # document-level ------------------------------------------------------------------------------

    def refuse_encrypted(self) -> None:
        if self.trailer.get(b"Encrypt") is not None:
            raise UnsupportedFormat(
                "encrypted PDF: its Info strings are encrypted, synthguard does not read or write them",
                message_zh="加密的 PDF 文件：暂不支持读取或写入其隐式标识",
            )

    def root(self) -> tuple[Ref, PdfDict]:
        ref = self.trailer.get(b"Root")
        if not isinstance(ref, Ref):
            raise CorruptFile(FMT, "the trailer has no /Root reference")
        catalog = self.get(ref.num)
        if not isinstance(catalog, PdfDict):
            raise CorruptFile(FMT, f"/Root object {ref.num} is not a dictionary")
        return ref, catalog

    def info(self) -> PdfDict | None:
        ref = self.trailer.get(b"Info")
        value: Resolved = self.get(ref.num) if isinstance(ref, Ref) else ref
        if value is None:
            return None
        if not isinstance(value, PdfDict):
            raise CorruptFile(FMT, "the trailer's /Info is not a dictionary")
        return value

    def metadata(self) -> tuple[Ref, Stream, bytes | None] | None:
        """The catalogue's XMP stream: reference, stream, decoded packet (None: filter unsupported)."""
        _, catalog = self.root()
        ref = catalog.get(b"Metadata")
        if not isinstance(ref, Ref):
            return None
        stream = self.get(ref.num)
        if not isinstance(stream, Stream):
            return None
        try:
            packet: bytes | None = self._decode(stream, _MAX_METADATA_BYTES)
        except UnsupportedFormat:
            packet = None
        return ref, stream, packet


def _inflate(data: bytes, limit: int, offset: int) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise CorruptFile(FMT, f"FlateDecode stream is damaged: {exc}", offset=offset) from exc
    if len(out) > limit:
        raise CorruptFile(FMT, f"stream inflates beyond {limit} bytes", offset=offset)
    return out


def _unpredict(data: bytes, params: PdfDict, offset: int) -> bytes:
    """Undo a PNG (10-15) or TIFF (2) predictor; xref streams written by qpdf use PNG Up."""
    predictor = params.get(b"Predictor", 1)
    if predictor == 1 or predictor is None:
        return data
    values = [params.get(k, d) for k, d in ((b"Colors", 1), (b"BitsPerComponent", 8), (b"Columns", 1))]
    if not all(_is_int(v) and isinstance(v, int) and 0 < v <= 1 << 16 for v in values):
        raise CorruptFile(FMT, "predictor parameters out of range", offset=offset)
    colors, bits, columns = (int(v) for v in values if isinstance(v, int))
    row_len = (colors * bits * columns + 7) // 8
    pixel = max(1, colors * bits // 8)
    if predictor == 2:
        if bits != 8:
            raise UnsupportedFormat("PDF TIFF predictor with other than 8 bits per component")
        out = bytearray(data)
        for row in range(0, len(out) - len(out) % row_len, row_len):
            for i in range(row + pixel, row + row_len):
                out[i] = (out[i] + out[i - pixel]) & 0xFF
        return bytes(out)
    if not (_is_int(predictor) and isinstance(predictor, int) and 10 <= predictor <= 15):
        raise CorruptFile(FMT, f"unknown predictor {predictor!r}", offset=offset)
    stride = row_len + 1
    rows = len(data) // stride
    if rows == 0:
        return b""
    table = np.frombuffer(data, dtype=np.uint8, count=rows * stride).reshape(rows, stride)
    kinds = table[:, 0]
    body = table[:, 1:]
    if not kinds.any():
        return body.tobytes()
    if bool((kinds == 2).all()):  # Up everywhere: a running sum down each column, modulo 256
        return np.cumsum(body, axis=0, dtype=np.uint8).tobytes()
    if rows * row_len > _MAX_SLOW_PREDICTOR:
        raise UnsupportedFormat("PDF stream: mixed PNG predictor rows over 1 MiB are not decoded")
    return _png_rows(body.tobytes(), kinds.tolist(), row_len, pixel, offset)


def _png_rows(body: bytes, kinds: list[int], row_len: int, pixel: int, offset: int) -> bytes:
    out = bytearray(body)
    prior = bytearray(row_len)
    for r, kind in enumerate(kinds):
        base = r * row_len
        cur = out[base : base + row_len]
        for i in range(row_len):
            left = cur[i - pixel] if i >= pixel else 0
            up = prior[i]
            if kind == 0:
                break
            if kind == 1:
                cur[i] = (cur[i] + left) & 0xFF
            elif kind == 2:
                cur[i] = (cur[i] + up) & 0xFF
            elif kind == 3:
                cur[i] = (cur[i] + ((left + up) >> 1)) & 0xFF
            elif kind == 4:
                corner = prior[i - pixel] if i >= pixel else 0
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                cur[i] = (cur[i] + pred) & 0xFF
            else:
                raise CorruptFile(FMT, f"unknown PNG predictor row type {kind}", offset=offset)
        out[base : base + row_len] = cur
        prior = cur
    return bytes(out)


# --- the plugin ---------------------------------------------------------------------------------


def _text(value: Resolved) -> str:
    """An Info value as text: UTF-16BE with BOM, UTF-8 with BOM (PDF 2.0) or PDFDocEncoding."""
    if isinstance(value, Name):
        return bytes(value).decode("latin-1")
    if not isinstance(value, PdfString):
        return f"<PDF {type(value).__name__}, not a string>"
    raw = bytes(value)
    if raw.startswith(b"\xfe\xff"):
        return raw[2:].decode("utf-16-be", errors="replace")
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # PDFDocEncoding agrees with Latin-1 on every JSON character


def accept(head: bytes) -> bool:
    # Readers tolerate a few bytes before the header (e.g. a BOM or a mail header remnant).
    return b"%PDF-" in head


def read(src: BinaryIO) -> list[RawLabel]:
    doc = _Document(src)
    doc.refuse_encrypted()
    found: list[RawLabel] = []
    info = doc.info()
    info_ref = doc.trailer.get(b"Info")
    info_offset = -1
    if isinstance(info_ref, Ref):
        entry = doc.entry(info_ref.num)
        info_offset = entry[1] if entry is not None and entry[0] == 1 else -1
    if info is not None:
        for key, _, _, value in info.entries:
            if key == KEY:
                resolved: Resolved = doc.get(value.num) if isinstance(value, Ref) else value
                text = _text(resolved)
                found.append(RawLabel(INFO_CARRIER, text, info_offset, wrapped=is_wrapped(text)))
    metadata = doc.metadata()
    if metadata is not None and metadata[2] is not None:
        for text in _xmp.find_values(metadata[2], FMT):
            found.append(RawLabel(XMP_CARRIER, text, metadata[1].start, wrapped=is_wrapped(text)))
    return found


def _literal(data: bytes) -> bytes:
    """A PDF literal string for ``data``: parentheses and backslashes escaped, controls as octal."""
    out = bytearray(b"(")
    for byte in data:
        if byte in b"()\\":
            out += b"\\" + bytes([byte])
        elif byte < 0x20 or byte > 0x7E:
            out += b"\\%03o" % byte
        else:
            out.append(byte)
    out += b")"
    return bytes(out)


def _runs(numbers: list[int]) -> list[list[int]]:
    """Sorted object numbers -> consecutive runs (one xref subsection each)."""
    runs: list[list[int]] = []
    for num in numbers:
        if runs and runs[-1][-1] + 1 == num:
            runs[-1].append(num)
        else:
            runs.append([num])
    return runs


def write(src: BinaryIO, dst: BinaryIO, label: AIGCLabel) -> None:
    doc = _Document(src)
    doc.refuse_encrypted()
    value = _literal(label.to_json().encode("ascii"))
    if len(value) - 2 > _MAX_STRING:
        raise MetadataTooLarge(f"PDF: the label is {len(value) - 2} bytes, over the 32,767-byte string limit")
    root_ref, _ = doc.root()
    next_number = max(doc.size_entry, 1)
    new_objects: list[tuple[int, int, bytes]] = []

    # Info: same object number when it exists, so nothing else in the document needs to change.
    info_ref = doc.trailer.get(b"Info")
    info = doc.info()
    if isinstance(info_ref, Ref):
        info_num, info_gen = info_ref.num, info_ref.gen
    else:
        info_num, info_gen = next_number, 0
        next_number += 1
    kept = [
        raw_key + b" " + raw_value
        for key, raw_key, raw_value, _ in (info.entries if info else [])
        if key != KEY
    ]
    info_body = b"<<" + b"".join(item + b"\n" for item in kept) + b"/AIGC " + value + b">>"
    new_objects.append((info_num, info_gen, info_body))

    # XMP: only when it carries a copy, which must go (one carrier per file).
    metadata = doc.metadata()
    packet = metadata[2] if metadata is not None else None
    if metadata is not None and packet is not None and _xmp.find_values(packet, FMT):
        md_ref, md_stream = metadata[0], metadata[1]
        stripped = _xmp.remove_values(packet, FMT)
        dropped = {b"Length", b"Filter", b"DecodeParms", b"DL"}
        items = [rk + b" " + rv for k, rk, rv, _ in md_stream.info.entries if k not in dropped]
        md_body = (
            b"<<"
            + b"".join(item + b"\n" for item in items)
            + b"/Length %d>>\nstream\n" % len(stripped)
            + stripped
            + b"\nendstream"
        )
        if md_ref.num != info_num:
            new_objects.append((md_ref.num, md_ref.gen, md_body))

    copy_range(src, dst, 0, doc.size, FMT)
    position = doc.size
    src.seek(doc.size - 1)
    if src.read(1) not in (b"\n", b"\r"):
        dst.write(b"\n")
        position += 1
    offsets: dict[int, tuple[int, int]] = {}
    for num, gen, body in new_objects:
        chunk = b"%d %d obj\n" % (num, gen) + body + b"\nendobj\n"
        offsets[num] = (position, gen)
        dst.write(chunk)
        position += len(chunk)

    carried = [
        raw_key + b" " + raw_value for key, (raw_key, raw_value) in doc.trailer_raw.items() if key != b"Info"
    ]
    if b"Root" not in doc.trailer_raw:
        carried.append(b"/Root %d %d R" % (root_ref.num, root_ref.gen))
    common = b"".join(item + b"\n" for item in carried)
    common += b"/Info %d %d R\n/Prev %d\n" % (info_num, info_gen, doc.startxref)

    if isinstance(doc.sections[0], _Table):
        table = bytearray(b"xref\n")
        for run in _runs(sorted(offsets)):
            table += b"%d %d\n" % (run[0], len(run))
            for num in run:
                table += b"%010d %05d n\r\n" % offsets[num]
        table += b"trailer\n<</Size %d\n" % max(next_number, max(offsets) + 1) + common + b">>\n"
        dst.write(bytes(table) + b"startxref\n%d\n%%%%EOF\n" % position)
        return

    xref_num = max(next_number, max(offsets) + 1)
    offsets[xref_num] = (position, 0)
    offset_width = 4 if position < 1 << 32 else 8
    index: list[bytes] = []
    rows = bytearray()
    for run in _runs(sorted(offsets)):
        index.append(b"%d %d" % (run[0], len(run)))
        for num in run:
            where, gen = offsets[num]
            rows += b"\x01" + where.to_bytes(offset_width, "big") + gen.to_bytes(2, "big")
    header = (
        b"%d 0 obj\n<</Type /XRef\n/Size %d\n/W [1 %d 2]\n/Index [%s]\n"
        % (xref_num, xref_num + 1, offset_width, b" ".join(index))
        + common
        + b"/Length %d>>\nstream\n" % len(rows)
    )
    dst.write(header + bytes(rows) + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % position)


def _canonical(value: Resolved, out: bytearray, refs: list[int], src: BinaryIO) -> None:
    if value is None:
        out += b"null "
    elif isinstance(value, bool):
        out += b"true " if value else b"false "
    elif isinstance(value, int):
        out += b"%d " % value
    elif isinstance(value, float):
        out += repr(value).encode() + b" "
    elif isinstance(value, Name):
        out += b"/" + bytes(value).hex().encode() + b" "
    elif isinstance(value, PdfString):
        out += b"<" + bytes(value).hex().encode() + b"> "
    elif isinstance(value, Ref):
        refs.append(value.num)
        out += b"%d %d R " % (value.num, value.gen)
    elif isinstance(value, list):
        out += b"[ "
        for item in value:
            _canonical(item, out, refs, src)
        out += b"] "
    elif isinstance(value, PdfDict):
        out += b"<< "
        for key, _, _, item in value.entries:
            out += b"/" + key.hex().encode() + b" "
            _canonical(item, out, refs, src)
        out += b">> "
    else:
        _canonical(value.info, out, refs, src)
        out += b"stream " + hash_ranges(src, [(value.start, value.length)], FMT) + b" "


def content_digest(src: BinaryIO) -> bytes:
    doc = _Document(src)
    doc.refuse_encrypted()
    root_ref, catalog = doc.root()
    excluded: set[int] = set()
    info_ref = doc.trailer.get(b"Info")
    if isinstance(info_ref, Ref):
        excluded.add(info_ref.num)
    metadata_ref = catalog.get(b"Metadata")
    if isinstance(metadata_ref, Ref):
        excluded.add(metadata_ref.num)
    per_object: dict[int, bytes] = {}
    pending = [root_ref.num]
    while pending:
        num = pending.pop()
        if num in per_object or num in excluded:
            continue
        if len(per_object) > _MAX_OBJECT_NUMBER:
            raise CorruptFile(FMT, "more reachable objects than a PDF may hold")
        refs: list[int] = []
        serial = bytearray()
        _canonical(doc.get(num, keep=False), serial, refs, src)
        per_object[num] = content_hasher(serial).digest()
        pending.extend(refs)
    digest = content_hasher(b"synthguard PDF content v1\n")
    for num in sorted(per_object):
        digest.update(b"%d " % num + per_object[num])
    return digest.digest()


PLUGIN = FormatPlugin(
    name=FMT,
    extensions=("pdf",),
    mime="application/pdf",
    carrier="document Info dictionary key /AIGC (PDF string), written as an incremental update",
    accept=accept,
    read=read,
    write=write,
    content_digest=content_digest,
)
