"""OOXML (DOCX/XLSX/PPTX, their templates and macro-enabled forms): the custom property ``AIGC``.

TC260-PG-20258A 6.1 places the label in the package's custom file properties (ECMA-376 Part 1,
22.3): ``docProps/custom.xml`` holds ``<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"
pid="N" name="AIGC"><vt:lpwstr>JSON</vt:lpwstr></property>`` with the bare seven-key object. When the
part is missing we add it, its package relationship in ``_rels/.rels`` and its ``Override`` in
``[Content_Types].xml`` (ECMA-376 Part 2, OPC). Other custom properties are kept; ``pid`` values stay
unique and the new one is above every existing one (>= 2, as Office requires). Office compares
property names case-insensitively, so ``aigc`` or ``Aigc`` are the same slot: readers report them and
a write replaces them.

**Writing copies the ZIP byte for byte.** Every member except the (at most three) parts we edit is
copied as it is stored: local header, compressed data and data descriptor, without inflating or
recompressing; its central-directory record is copied too, with only the local-header offset
patched. The edited parts (custom properties, and the relationships and content-types parts when an
entry is missing) are deflated anew in the same position; a new custom part goes last, so
``[Content_Types].xml`` stays where it was (first, for writers that put it first). Python's
``zipfile`` cannot do this: it has no public way to copy a member's raw compressed bytes, so copying
through it would recompress every part (and change timestamps and flags). ZIP64 packages (over
4 GiB or 65,535 parts) and multi-disk archives are refused with ``UnsupportedFormat``.

**accept** sees 64 bytes: a local file header (``PK\\x03\\x04``) whose first member name is an OPC
name (``[Content_Types].xml``, ``_rels/``, ``docProps/``, ``word/``, ``xl/``, ``ppt/``,
``customXml/``), which is how Office, LibreOffice, python-docx and openpyxl all start their packages.
Other ZIP files (EPUB and ODF start with ``mimetype``, JAR with ``META-INF/``) are not ours; the
extension breaks any remaining tie.

**content_digest rule.** SHA-256 over every member *except* the package metadata:
``[Content_Types].xml``, ``_rels/.rels``, ``docProps/core.xml``, ``docProps/app.xml``,
``docProps/custom.xml`` and whatever the package relationships name as core, extended or custom
properties. Members are taken in name order; each contributes its name, compression method, CRC-32,
sizes and its *stored* (compressed) bytes. The stored bytes are exactly what a label write copies, so
the digest never changes when the label does, while any change to a document part, sheet, slide or
embedded image changes it. CRC-32 alone would not do: it is not collision-resistant.
"""

from __future__ import annotations

import posixpath
import re
import struct
import xml.dom.minidom
import zlib
from dataclasses import dataclass
from typing import BinaryIO
from xml.dom.minidom import Document, Element
from xml.etree import ElementTree
from xml.parsers.expat import ExpatError

from synthguard.errors import CorruptFile, UnsupportedFormat
from synthguard.labels.implicit._slots import raw_label
from synthguard.labels.implicit.registry import (
    FormatPlugin,
    content_hasher,
    copy_range,
    file_size,
    hash_ranges,
    read_exact,
)
from synthguard.labels.model import AIGCLabel, RawLabel

FMT = "OOXML"
PROPERTY = "AIGC"
FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"
CUSTOM_NS = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
VT_NS = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
CUSTOM_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"
METADATA_RELS = frozenset(
    {
        CUSTOM_REL,
        "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties",
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties",
        # Strict OOXML (ISO/IEC 29500 strict) spells the same relationships with purl.oclc.org.
        "http://purl.oclc.org/ooxml/officeDocument/relationships/custom-properties",
        "http://purl.oclc.org/ooxml/officeDocument/relationships/extendedProperties",
    }
)
CUSTOM_RELS = frozenset(
    {CUSTOM_REL, "http://purl.oclc.org/ooxml/officeDocument/relationships/custom-properties"}
)
CUSTOM_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
DEFAULT_CUSTOM = "docProps/custom.xml"
CONTENT_TYPES = "[Content_Types].xml"
PACKAGE_RELS = "_rels/.rels"
METADATA_PARTS = frozenset(
    {CONTENT_TYPES.lower(), PACKAGE_RELS, "docprops/core.xml", "docprops/app.xml", DEFAULT_CUSTOM.lower()}
)
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'

_OPC_FIRST_NAMES = (b"[Content_Types].xml", b"_rels/", b"docProps/", b"word/", b"xl/", b"ppt/", b"customXml/")
_LOCAL = b"PK\x03\x04"
_CENTRAL = b"PK\x01\x02"
_END = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_LOCAL_FIXED = 30
_CENTRAL_FIXED = 46
_END_FIXED = 22
_MAX_COMMENT = 0xFFFF
# Package metadata parts are kilobytes; a forged size must not make us inflate gigabytes.
_MAX_PART_BYTES = 16 << 20
_FORBIDDEN_XML = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_DEFLATED = 8
_STORED = 0
_UTF8_FLAG = 0x0800


@dataclass(frozen=True, slots=True)
class _Member:
    """One central-directory record: the fields we use plus its raw bytes for verbatim copying."""

    name: str
    raw: bytes
    made_by: int
    flags: int
    method: int
    time: int
    date: int
    crc: int
    compressed: int
    size: int
    external: int
    offset: int

    @property
    def key(self) -> str:
        return self.name.lower()  # OPC part names compare case-insensitively


@dataclass(frozen=True, slots=True)
class _Archive:
    members: list[_Member]
    central_offset: int
    comment: bytes
    file_size: int

    def find(self, name: str) -> _Member | None:
        wanted = name.lower()
        for member in self.members:
            if member.key == wanted:
                return member
        return None


def accept(head: bytes) -> bool:
    if len(head) < _LOCAL_FIXED or not head.startswith(_LOCAL):
        return False
    name_len = int.from_bytes(head[26:28], "little")
    name = head[_LOCAL_FIXED : _LOCAL_FIXED + name_len]
    return any(name.startswith(prefix) for prefix in _OPC_FIRST_NAMES)


# --- ZIP structure ------------------------------------------------------------------------------


def _archive(src: BinaryIO) -> _Archive:
    size = file_size(src)
    if size < _END_FIXED:
        raise CorruptFile(FMT, f"only {size} bytes, too short for a ZIP package")
    # Office writes no archive comment, so the end record is usually the last 22 bytes.
    src.seek(size - _END_FIXED)
    tail_len = _END_FIXED
    tail = src.read(tail_len)
    if not (tail.startswith(_END) and tail.endswith(b"\x00\x00")):
        tail_len = min(size, _END_FIXED + _MAX_COMMENT)
        src.seek(size - tail_len)
        tail = src.read(tail_len)
    end = -1
    search_to = len(tail)
    while True:
        at = tail.rfind(_END, 0, search_to)
        if at < 0:
            break
        comment_len = int.from_bytes(tail[at + 20 : at + 22], "little")
        if at + _END_FIXED + comment_len == len(tail):
            end = at
            break
        search_to = at
    if end < 0:
        raise CorruptFile(FMT, "no ZIP end-of-central-directory record (truncated file?)", offset=size)
    end_offset = size - tail_len + end
    disk, central_disk, on_disk, total, central_size, central_offset, comment_len = struct.unpack(
        "<HHHHIIH", tail[end + 4 : end + _END_FIXED]
    )
    if disk or central_disk or on_disk != total:
        raise UnsupportedFormat("OOXML: multi-disk ZIP archives are not supported")
    if total == 0xFFFF or central_size == 0xFFFFFFFF or central_offset == 0xFFFFFFFF:
        raise UnsupportedFormat("OOXML: ZIP64 packages (over 4 GiB or 65,535 parts) are not supported")
    if central_offset + central_size > end_offset:
        raise CorruptFile(FMT, "central directory overlaps its end record", offset=central_offset)
    comment = tail[end + _END_FIXED : end + _END_FIXED + comment_len]
    src.seek(central_offset)
    central = read_exact(src, central_size, FMT, "central directory")
    members: list[_Member] = []
    seen: set[str] = set()
    pos = 0
    for _ in range(total):
        if central[pos : pos + 4] != _CENTRAL or pos + _CENTRAL_FIXED > len(central):
            raise CorruptFile(FMT, "bad central directory record", offset=central_offset + pos)
        fields = struct.unpack("<HHHHHHIIIHHHHHII", central[pos + 4 : pos + _CENTRAL_FIXED])
        (made_by, _, flags, method, time, date, crc, compressed, usize, n, m, k, _, _, external, offset) = (
            fields
        )
        record_end = pos + _CENTRAL_FIXED + n + m + k
        if record_end > len(central):
            raise CorruptFile(FMT, "central directory record runs past its end", offset=central_offset + pos)
        raw_name = central[pos + _CENTRAL_FIXED : pos + _CENTRAL_FIXED + n]
        name = raw_name.decode("utf-8" if flags & _UTF8_FLAG else "cp437", errors="replace")
        if 0xFFFFFFFF in (compressed, usize, offset):
            raise UnsupportedFormat("OOXML: ZIP64 members (over 4 GiB) are not supported")
        if offset + _LOCAL_FIXED > central_offset or offset + compressed > central_offset:
            raise CorruptFile(FMT, f"member {name!r} lies outside the archive data", offset=offset)
        if name.lower() in seen:
            # Two parts with one name is how ZIP confusion attacks start; no OPC producer writes it.
            raise CorruptFile(FMT, f"duplicate part name {name!r}", offset=central_offset + pos)
        seen.add(name.lower())
        member = _Member(
            name,
            central[pos:record_end],
            made_by,
            flags,
            method,
            time,
            date,
            crc,
            compressed,
            usize,
            external,
            offset,
        )
        members.append(member)
        pos = record_end
    return _Archive(members, central_offset, comment, size)


def _data_start(src: BinaryIO, member: _Member) -> int:
    src.seek(member.offset)
    header = read_exact(src, _LOCAL_FIXED, FMT, f"local header of {member.name!r}")
    if not header.startswith(_LOCAL):
        raise CorruptFile(FMT, f"no local header for {member.name!r}", offset=member.offset)
    name_len = int.from_bytes(header[26:28], "little")
    extra_len = int.from_bytes(header[28:30], "little")
    return member.offset + _LOCAL_FIXED + name_len + extra_len


def _part(src: BinaryIO, member: _Member) -> bytes:
    """A small member's uncompressed bytes, CRC-checked."""
    if member.flags & 0x1:
        raise UnsupportedFormat(f"OOXML: part {member.name!r} is encrypted")
    if member.size > _MAX_PART_BYTES or member.compressed > _MAX_PART_BYTES:
        raise CorruptFile(FMT, f"metadata part {member.name!r} is over {_MAX_PART_BYTES} bytes")
    start = _data_start(src, member)
    src.seek(start)
    stored = read_exact(src, member.compressed, FMT, f"data of {member.name!r}")
    if member.method == _STORED:
        data = stored
    elif member.method == _DEFLATED:
        inflater = zlib.decompressobj(-15)
        try:
            data = inflater.decompress(stored, member.size + 1)
        except zlib.error as exc:
            raise CorruptFile(FMT, f"part {member.name!r} does not inflate: {exc}", offset=start) from exc
    else:
        raise UnsupportedFormat(f"OOXML: part {member.name!r} uses ZIP compression method {member.method}")
    if len(data) != member.size or zlib.crc32(data) != member.crc:
        raise CorruptFile(FMT, f"part {member.name!r} fails its size or CRC-32 check", offset=start)
    return data


def _spans(src: BinaryIO, archive: _Archive) -> dict[str, tuple[int, int]]:
    """Each member's stored record ``(start, end)``: local header through the next member's start."""
    ordered = sorted(archive.members, key=lambda m: m.offset)
    spans: dict[str, tuple[int, int]] = {}
    for position, member in enumerate(ordered):
        end = ordered[position + 1].offset if position + 1 < len(ordered) else archive.central_offset
        if _data_start(src, member) + member.compressed > end:
            raise CorruptFile(FMT, f"member {member.name!r} overlaps the next one", offset=member.offset)
        spans[member.key] = (member.offset, end)
    return spans


# --- XML parts ----------------------------------------------------------------------------------


def _parse_xml(data: bytes, part: str) -> Document:
    if _FORBIDDEN_XML.search(data):
        raise CorruptFile(FMT, f"{part} contains a DOCTYPE/ENTITY declaration")
    try:
        return xml.dom.minidom.parseString(data)
    except (ExpatError, ValueError) as exc:
        raise CorruptFile(FMT, f"{part} is not well-formed XML: {exc}") from exc


def _root(doc: Document, part: str) -> Element:
    root = doc.documentElement
    if root is None:
        raise CorruptFile(FMT, f"{part} has no root element")
    return root


def _children(element: Element, local_name: str) -> list[Element]:
    return [n for n in element.childNodes if isinstance(n, Element) and n.localName == local_name]


def _serialise(root: Element) -> bytes:
    return XML_DECLARATION + root.toxml().encode("utf-8")


def _qualified(root: Element, local_name: str) -> str:
    return f"{root.prefix}:{local_name}" if root.prefix else local_name


def _tree(data: bytes, part: str) -> ElementTree.Element:
    """Parse a part for reading (ElementTree is several times faster than minidom)."""
    if _FORBIDDEN_XML.search(data):
        raise CorruptFile(FMT, f"{part} contains a DOCTYPE/ENTITY declaration")
    try:
        return ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise CorruptFile(FMT, f"{part} is not well-formed XML: {exc}") from exc


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _relationship_targets(rels: bytes | None) -> list[tuple[str, str]]:
    """``(type, part name)`` for each internal package relationship."""
    if rels is None:
        return []
    found: list[tuple[str, str]] = []
    for rel in _tree(rels, PACKAGE_RELS):
        if _local(rel.tag) != "Relationship" or rel.get("TargetMode") == "External":
            continue
        target = rel.get("Target", "")
        found.append((rel.get("Type", ""), posixpath.normpath("/" + target).lstrip("/")))
    return found


def _labels_in(custom: bytes, part: str) -> list[tuple[str, str]]:
    """``(property name, value)`` for every custom property named AIGC in any letter case."""
    if PROPERTY.lower().encode() not in custom.lower():
        return []
    found: list[tuple[str, str]] = []
    for prop in _tree(custom, part):
        name = prop.get("name", "")
        if _local(prop.tag) != "property" or name.lower() != PROPERTY.lower():
            continue
        values = list(prop)
        found.append((name, "".join(values[0].itertext()) if values else ""))
    return found


def _custom_parts(src: BinaryIO, archive: _Archive) -> tuple[list[str], bytes | None]:
    """Part names that can hold custom properties (relationship targets first) and the rels bytes."""
    rels_member = archive.find(PACKAGE_RELS)
    rels = _part(src, rels_member) if rels_member is not None else None
    names = [name for kind, name in _relationship_targets(rels) if kind in CUSTOM_RELS]
    if DEFAULT_CUSTOM.lower() not in {n.lower() for n in names}:
        names.append(DEFAULT_CUSTOM)
    return names, rels


def read(src: BinaryIO) -> list[RawLabel]:
    archive = _archive(src)
    if archive.find(CONTENT_TYPES) is None:
        raise CorruptFile(FMT, "no [Content_Types].xml: not an OPC package")
    names, _ = _custom_parts(src, archive)
    found: list[RawLabel] = []
    for name in names:
        member = archive.find(name)
        if member is None:
            continue
        for prop, text in _labels_in(_part(src, member), member.name):
            found.append(raw_label(f"OOXML custom property {prop!r} ({member.name})", text, member.offset))
    return found


# --- writing ------------------------------------------------------------------------------------


def _custom_xml(existing: bytes | None, value: str, part: str) -> bytes:
    """The custom-properties part with exactly one ``AIGC`` property holding ``value``."""
    if existing is None:
        doc = xml.dom.minidom.parseString(f'<Properties xmlns="{CUSTOM_NS}" xmlns:vt="{VT_NS}"/>'.encode())
    else:
        doc = _parse_xml(existing, part)
    root = _root(doc, part)
    pids = [0]
    for prop in _children(root, "property"):
        if prop.getAttribute("name").lower() == PROPERTY.lower():
            root.removeChild(prop)
            continue
        pid = prop.getAttribute("pid")
        if pid.isdigit():
            pids.append(int(pid))
    vt = next(
        (name[6:] for name, uri in root.attributes.items() if name.startswith("xmlns:") and uri == VT_NS),
        None,
    )
    if vt is None:
        vt = "vt"
        root.setAttribute("xmlns:vt", VT_NS)
    prop = doc.createElementNS(root.namespaceURI or CUSTOM_NS, _qualified(root, "property"))
    prop.setAttribute("fmtid", FMTID)
    prop.setAttribute("pid", str(max(max(pids) + 1, 2)))
    prop.setAttribute("name", PROPERTY)
    text = doc.createElementNS(VT_NS, f"{vt}:lpwstr")
    text.appendChild(doc.createTextNode(value))
    prop.appendChild(text)
    root.appendChild(prop)
    return _serialise(root)


def _without_label(existing: bytes, part: str) -> bytes:
    doc = _parse_xml(existing, part)
    root = _root(doc, part)
    for prop in _children(root, "property"):
        if prop.getAttribute("name").lower() == PROPERTY.lower():
            root.removeChild(prop)
    return _serialise(root)


def _with_relationship(rels: bytes, target: str) -> bytes:
    root = _root(_parse_xml(rels, PACKAGE_RELS), PACKAGE_RELS)
    ids = {rel.getAttribute("Id") for rel in _children(root, "Relationship")}
    number = len(ids) + 1
    while f"rId{number}" in ids:
        number += 1
    doc = root.ownerDocument
    assert doc is not None
    rel = doc.createElementNS(RELS_NS, _qualified(root, "Relationship"))
    rel.setAttribute("Id", f"rId{number}")
    rel.setAttribute("Type", CUSTOM_REL)
    rel.setAttribute("Target", target)
    root.appendChild(rel)
    return _serialise(root)


def _with_override(types: bytes, part: str) -> bytes | None:
    """``[Content_Types].xml`` with the custom-properties Override for ``part``; None if already right."""
    root = _root(_parse_xml(types, CONTENT_TYPES), CONTENT_TYPES)
    part_name = "/" + part
    for override in _children(root, "Override"):
        if override.getAttribute("PartName").lower() == part_name.lower():
            if override.getAttribute("ContentType") == CUSTOM_CONTENT_TYPE:
                return None
            override.setAttribute("ContentType", CUSTOM_CONTENT_TYPE)
            return _serialise(root)
    doc = root.ownerDocument
    assert doc is not None
    override = doc.createElementNS(TYPES_NS, _qualified(root, "Override"))
    override.setAttribute("PartName", part_name)
    override.setAttribute("ContentType", CUSTOM_CONTENT_TYPE)
    root.appendChild(override)
    return _serialise(root)


def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def _fits(value: int) -> int:
    if value >= 0xFFFFFFFF:
        raise UnsupportedFormat("OOXML: the labelled package would need ZIP64 (over 4 GiB)")
    return value


def _new_record(name: str, data: bytes, like: _Member | None, offset: int) -> tuple[bytes, bytes]:
    """Local header + deflated data, and the matching central-directory record."""
    packed = _deflate(data)
    raw_name = name.encode("utf-8")
    flags = _UTF8_FLAG if not raw_name.isascii() else 0
    time, date = (like.time, like.date) if like is not None else (0, 0x21)  # 1980-01-01 00:00
    made_by = like.made_by if like is not None else 20
    external = like.external if like is not None else 0
    crc = zlib.crc32(data)
    local = (
        struct.pack(
            "<4sHHHHHIIIHH",
            _LOCAL,
            20,
            flags,
            _DEFLATED,
            time,
            date,
            crc,
            len(packed),
            len(data),
            len(raw_name),
            0,
        )
        + raw_name
        + packed
    )
    central = (
        struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            _CENTRAL,
            made_by,
            20,
            flags,
            _DEFLATED,
            time,
            date,
            crc,
            len(packed),
            len(data),
            len(raw_name),
            0,
            0,
            0,
            0,
            external,
            _fits(offset),
        )
        + raw_name
    )
    return local, central


def write(src: BinaryIO, dst: BinaryIO, label: AIGCLabel) -> None:
    archive = _archive(src)
    types_member = archive.find(CONTENT_TYPES)
    if types_member is None:
        raise CorruptFile(FMT, "no [Content_Types].xml: not an OPC package")
    spans = _spans(src, archive)
    names, rels = _custom_parts(src, archive)
    target = names[0]
    replacements: dict[str, bytes] = {}
    for name in names[1:]:
        other = archive.find(name)
        if other is not None:
            extra = _part(src, other)
            if _labels_in(extra, other.name):
                replacements[other.key] = _without_label(extra, other.name)
    custom_member = archive.find(target)
    existing = _part(src, custom_member) if custom_member is not None else None
    replacements[target.lower()] = _custom_xml(existing, label.to_json(), target)
    if rels is None:
        raise CorruptFile(FMT, "no _rels/.rels: not an OPC package")
    if not any(kind in CUSTOM_RELS for kind, _ in _relationship_targets(rels)):
        replacements[PACKAGE_RELS] = _with_relationship(rels, target)
    types = _with_override(_part(src, types_member), target)
    if types is not None:
        replacements[CONTENT_TYPES.lower()] = types

    ordered = sorted(archive.members, key=lambda m: m.offset)
    position = 0
    if ordered and ordered[0].offset > 0:  # a prefix (self-extractor stub) is kept as it is
        copy_range(src, dst, 0, ordered[0].offset, FMT)
        position = ordered[0].offset
    central: dict[str, bytes] = {}
    for member in ordered:
        new = replacements.get(member.key)
        if new is None:
            start, end = spans[member.key]
            copy_range(src, dst, start, end - start, FMT)
            central[member.key] = member.raw[:42] + struct.pack("<I", _fits(position)) + member.raw[46:]
            position += end - start
        else:
            local, record = _new_record(member.name, new, member, position)
            dst.write(local)
            central[member.key] = record
            position += len(local)
    order = [m.key for m in archive.members]
    if custom_member is None:
        local, record = _new_record(
            target, replacements[target.lower()], archive.find(PACKAGE_RELS), position
        )
        dst.write(local)
        central[target.lower()] = record
        order.append(target.lower())
        position += len(local)
    directory = b"".join(central[key] for key in order)
    if len(order) > 0xFFFE:
        raise UnsupportedFormat("OOXML: the labelled package would need ZIP64 (over 65,535 parts)")
    dst.write(directory)
    dst.write(
        struct.pack(
            "<4sHHHHIIH",
            _END,
            0,
            0,
            len(order),
            len(order),
            len(directory),
            _fits(position),
            len(archive.comment),
        )
        + archive.comment
    )


def content_digest(src: BinaryIO) -> bytes:
    archive = _archive(src)
    rels_member = archive.find(PACKAGE_RELS)
    rels = _part(src, rels_member) if rels_member is not None else None
    excluded = set(METADATA_PARTS)
    excluded.update(name.lower() for kind, name in _relationship_targets(rels) if kind in METADATA_RELS)
    manifest = content_hasher(b"synthguard OOXML content v1\n")
    ranges: list[tuple[int, int]] = []
    for member in sorted(archive.members, key=lambda m: m.name.encode("utf-8")):
        if member.key in excluded:
            continue
        manifest.update(
            member.name.encode("utf-8")
            + b"\x00"
            + struct.pack("<HIII", member.method, member.crc, member.compressed, member.size)
        )
        ranges.append((_data_start(src, member), member.compressed))
    manifest.update(hash_ranges(src, ranges, FMT))
    return manifest.digest()


PLUGIN = FormatPlugin(
    name=FMT,
    extensions=(
        "docx",
        "docm",
        "dotx",
        "dotm",
        "xlsx",
        "xlsm",
        "xltx",
        "xltm",
        "pptx",
        "pptm",
        "potx",
        "potm",
        "ppsx",
        "ppsm",
    ),
    mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    carrier="custom file property AIGC (vt:lpwstr) in docProps/custom.xml",
    accept=accept,
    read=read,
    write=write,
    content_digest=content_digest,
)
