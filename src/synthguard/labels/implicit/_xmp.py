"""XMP packets carrying ``TC260:AIGC`` (TC260-PG-20259A; namespace from GB 45438 practice guides).

Images carry the label as the XMP property ``TC260:AIGC`` in namespace
``http://www.tc260.org.cn/ns/AIGC/1.0/``; the value is the bare seven-key JSON in element form.
When a packet already exists we update that one property and keep everything else (Adobe, C2PA and
camera properties live there too), so the packet is edited as a DOM, never by regex. Packets with a
DOCTYPE or ENTITY are refused: XMP never needs them and they are the classic XML bombs.
"""

from __future__ import annotations

import re
import xml.dom.minidom
from xml.dom.minidom import Element
from xml.parsers.expat import ExpatError

from synthguard.errors import CorruptFile

TC260_NS = "http://www.tc260.org.cn/ns/AIGC/1.0/"
TC260_PREFIX = "TC260"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
X_NS = "adobe:ns:meta/"
PROPERTY = "AIGC"

_XPACKET_BEGIN = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
_XPACKET_END = '<?xpacket end="w"?>'
_FORBIDDEN = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_NEW_PACKET_HEAD = (
    f"{_XPACKET_BEGIN}\n"
    f'<x:xmpmeta xmlns:x="{X_NS}">\n'
    f' <rdf:RDF xmlns:rdf="{RDF_NS}">\n'
    f'  <rdf:Description rdf:about="" xmlns:{TC260_PREFIX}="{TC260_NS}">\n'
    f"   <{TC260_PREFIX}:{PROPERTY}>"
).encode()
_NEW_PACKET_TAIL = (
    f"</{TC260_PREFIX}:{PROPERTY}>\n  </rdf:Description>\n </rdf:RDF>\n</x:xmpmeta>\n{_XPACKET_END}"
).encode()


def new_packet(value: str) -> bytes:
    """A minimal packet holding only ``TC260:AIGC`` (the fast path: no existing XMP)."""
    return _NEW_PACKET_HEAD + _escape(value).encode() + _NEW_PACKET_TAIL


def _parse(packet: bytes, fmt: str) -> xml.dom.minidom.Document:
    if _FORBIDDEN.search(packet):
        raise CorruptFile(fmt, "XMP packet contains a DOCTYPE/ENTITY declaration")
    try:
        return xml.dom.minidom.parseString(packet.rstrip(b"\x00 \r\n\t"))
    except (ExpatError, ValueError) as exc:
        raise CorruptFile(fmt, f"XMP packet is not well-formed XML: {exc}") from exc


def _descriptions(doc: xml.dom.minidom.Document) -> list[Element]:
    return list(doc.getElementsByTagNameNS(RDF_NS, "Description"))


def _declared_prefix(element: Element, namespace: str) -> str | None:
    """The prefix bound to ``namespace`` on ``element`` or an ancestor (minidom has no lookup)."""
    node: object = element
    while isinstance(node, Element):
        for name, value in node.attributes.items():
            if name.startswith("xmlns:") and value == namespace:
                return name[6:]
        node = node.parentNode
    return None


def _prefix_bound(element: Element, prefix: str) -> bool:
    node: object = element
    while isinstance(node, Element):
        if node.hasAttribute(f"xmlns:{prefix}"):
            return True
        node = node.parentNode
    return False


def find_values(packet: bytes, fmt: str = "XMP") -> list[str]:
    """Every ``TC260:AIGC`` value in a packet, element and attribute forms, in document order."""
    if PROPERTY.encode() not in packet:
        return []
    doc = _parse(packet, fmt)
    values: list[str] = []
    for desc in _descriptions(doc):
        attr = desc.getAttributeNS(TC260_NS, PROPERTY)
        if attr:
            values.append(attr)
    for node in doc.getElementsByTagNameNS(TC260_NS, PROPERTY):
        values.append("".join(c.data for c in node.childNodes if c.nodeType in (3, 4)))
    return values


def merge_packet(packet: bytes | None, value: str, fmt: str = "XMP") -> bytes:
    """Return ``packet`` with exactly one ``TC260:AIGC`` = ``value``; everything else kept."""
    if not packet or not packet.strip(b"\x00 \r\n\t"):
        return new_packet(value)
    doc = _parse(packet, fmt)
    _strip(doc)
    descriptions = _descriptions(doc)
    if not descriptions:
        rdfs = doc.getElementsByTagNameNS(RDF_NS, "RDF")
        if not rdfs:
            raise CorruptFile(fmt, "XMP packet has no rdf:RDF element")
        target = doc.createElementNS(RDF_NS, "rdf:Description")
        target.setAttributeNS(RDF_NS, "rdf:about", "")
        rdfs[0].appendChild(target)
    else:
        target = descriptions[0]
    prefix = _declared_prefix(target, TC260_NS)
    if not prefix:
        prefix = TC260_PREFIX
        if _prefix_bound(target, prefix):
            # ``TC260`` already means another URI here: re-binding it on this element would silently
            # move that element's own TC260:* properties into our namespace (a second label).
            parent = target.parentNode
            target = doc.createElementNS(RDF_NS, "rdf:Description")
            target.setAttributeNS(RDF_NS, "rdf:about", "")
            if parent is None:
                raise CorruptFile(fmt, "XMP rdf:Description has no parent")
            parent.appendChild(target)
        target.setAttribute(f"xmlns:{prefix}", TC260_NS)
    prop = doc.createElementNS(TC260_NS, f"{prefix}:{PROPERTY}")
    prop.appendChild(doc.createTextNode(value))
    target.appendChild(prop)
    return _serialize(doc, fmt)


def _strip(doc: xml.dom.minidom.Document) -> None:
    """Remove every ``TC260:AIGC``: the attribute form on any element, and the element form."""
    for node in doc.getElementsByTagNameNS("*", "*"):
        if isinstance(node, Element) and node.hasAttributeNS(TC260_NS, PROPERTY):
            node.removeAttributeNS(TC260_NS, PROPERTY)
    for node in list(doc.getElementsByTagNameNS(TC260_NS, PROPERTY)):
        parent = node.parentNode
        if parent is not None:
            parent.removeChild(node)


def _serialize(doc: xml.dom.minidom.Document, fmt: str) -> bytes:
    root = doc.documentElement
    if root is None:
        raise CorruptFile(fmt, "XMP packet has no root element")
    return f"{_XPACKET_BEGIN}\n{root.toxml()}\n{_XPACKET_END}".encode()


def remove_values(packet: bytes, fmt: str = "XMP") -> bytes:
    """Return ``packet`` without any ``TC260:AIGC`` (element or attribute form); everything else kept.

    For formats whose named slot is not XMP (MP4 keys) or whose packet is a second copy (a TIFF page
    after IFD0, a second HEIF XMP item): the label must live in exactly one carrier.
    """
    if PROPERTY.encode() not in packet:
        return packet
    doc = _parse(packet, fmt)
    _strip(doc)
    return _serialize(doc, fmt)
