"""HTML: the ``AIGC`` label as ``<meta name="AIGC" content="{...}">`` in the document head.

The TC260 text-file guide (TC260-PG-20258A) does not fix an HTML carrier, and labels.md leaves the
choice to us. We use the ``<meta name>`` element because it is the standard place for page-level
metadata (HTML Living Standard 4.2.5), it travels with the file when the page is saved or copied, and
every HTML parser, crawler and browser extension can read it without knowing synthguard (e.g.
``document.querySelector('meta[name=AIGC]').content``). The value is the bare seven-key JSON,
HTML-escaped into the attribute (``{&quot;Label&quot;:&quot;1&quot;,...}``); in XHTML (an XML
declaration or the XHTML namespace) the element is self-closed so the file stays well-formed XML.

**Placement.** Right after the ``<head>`` start tag; without one, after ``<html>``, then after the
doctype, else at the top of the file (a fragment). A ``<meta>`` before any body content lands in
the head even when the tags are omitted (the HTML parser's "before head" insertion mode), so no
``<head>`` element is invented. When the tag is followed by a line end, the meta goes on a line of
its own with the next line's indentation.

**Reading** finds every ``<meta>`` whose ``name`` is ``AIGC`` in any letter case, anywhere in the
document except inside comments and raw-text elements (``script``, ``style``, ``textarea``,
``title`` ...), where it is text, not an element. A write removes them all and adds one.

**content_digest rule.** SHA-256 over the file with every AIGC ``<meta>`` element removed; when the
element stands alone on its line (only spaces or tabs around it, then a line end), the whole line
goes with it. That is exactly what a write inserts, so labelling never changes the digest and any
other byte of the page does.

Hand-written on bytes rather than with ``html.parser`` or lxml: those report positions as line and
column of decoded text (or none), re-serialise the document, and need the right charset; a byte
scanner keeps every other byte (encoding, BOM, CRLF, odd markup) exactly as it was. Files over
64 MiB are refused.
"""

from __future__ import annotations

import html
import re
from typing import BinaryIO

from synthguard.errors import CorruptFile, UnsupportedFormat
from synthguard.labels.implicit import _text
from synthguard.labels.implicit._slots import raw_label
from synthguard.labels.implicit.registry import HEAD_BYTES, FormatPlugin, file_size, hash_ranges
from synthguard.labels.model import AIGCLabel, RawLabel

FMT = "HTML"
CARRIER = 'HTML <meta name="AIGC">'
MAX_HTML_BYTES = 64 << 20
_MAX_INDENT = 256
# A page holds one label; thousands of copies are an attack on the reader, not a page to label.
_MAX_CARRIERS = 1024

# Possessive, and a quote or tag left open runs to the end of the file (as in the HTML tokenizer), so
# every token matches in one forward pass: no backtracking, no quadratic rescans on hostile input.
_ATTRIBUTES = rb"""(?:[^>"']++|"[^"]*+(?:"|\Z)|'[^']*+(?:'|\Z))*+"""
_TOKENS = re.compile(
    rb"(?P<comment><!--.*?(?:-->|\Z))"
    rb"|(?P<raw><(?P<rawname>script|style|textarea|title|xmp|iframe|noembed|noframes)(?=[\s/>])"
    + _ATTRIBUTES
    + rb"(?:>.*?(?:</(?P=rawname)\s*>|\Z)|\Z))"
    rb"|(?P<tag><(?P<name>meta|head|html|!doctype)(?=[\s/>])" + _ATTRIBUTES + rb"(?:>|\Z))",
    re.IGNORECASE | re.DOTALL,
)
_ATTRIBUTE = re.compile(rb"""([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
_INDENT = re.compile(rb"[ \t]*")
_EOL = re.compile(rb"\r\n|\n|\r")
_XHTML = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<\?xml|http://www\.w3\.org/1999/xhtml")


def _attributes(tag: bytes) -> dict[str, str]:
    """A start tag's attributes, lower-case names, entity-decoded values; the first of a name wins."""
    inner = tag[1:-1]
    name_end = re.match(rb"[^\s/>]*", inner)
    assert name_end is not None
    found: dict[str, str] = {}
    for match in _ATTRIBUTE.finditer(inner, name_end.end()):
        name = match.group(1).decode("latin-1").lower()
        raw = next((g for g in match.groups()[1:] if g is not None), b"")
        found.setdefault(name, html.unescape(raw.decode("utf-8", errors="replace")))
    return found


def _load(src: BinaryIO) -> bytes:
    size = file_size(src)
    if size > MAX_HTML_BYTES:
        raise UnsupportedFormat(f"HTML file of {size} bytes is over the {MAX_HTML_BYTES}-byte limit")
    src.seek(0)
    return src.read(size)


def _labels(data: bytes) -> list[tuple[int, int, str]]:
    """``(start, end, content)`` of every AIGC meta element, the span widened to its whole line when alone."""
    found: list[tuple[int, int, str]] = []
    for token in _TOKENS.finditer(data):
        tag = token.group("tag")
        if tag is None or not tag.endswith(b">") or token.group("name").lower() != b"meta":
            continue
        if b"aigc" not in tag.lower() and b"&" not in tag:  # most metas: skip the attribute parse
            continue
        attributes = _attributes(tag)
        if attributes.get("name", "").strip().lower() != "aigc":
            continue
        if len(found) >= _MAX_CARRIERS:
            raise CorruptFile(FMT, f"more than {_MAX_CARRIERS} AIGC meta elements", offset=token.start())
        start, end = token.span()
        # Look back a bounded stretch: a write never indents more than _MAX_INDENT, and an unbounded
        # rfind per element would be quadratic on a one-line page full of metas.
        low = max(0, start - 2 * _MAX_INDENT)
        newline = max(data.rfind(b"\n", low, start), data.rfind(b"\r", low, start))
        line_start = newline + 1 if newline >= 0 else _text.bom_length(data) if low == 0 else -1
        after = _INDENT.match(data, end)
        assert after is not None
        eol = _EOL.match(data, after.end())
        if eol is not None and line_start >= 0 and not data[line_start:start].strip(b" \t"):
            start, end = line_start, eol.end()
        found.append((start, end, attributes.get("content", "")))
    return found


def _insertion(data: bytes) -> int:
    """Where a write puts the meta: after <head>, else <html>, else the doctype, else the top."""
    first: dict[bytes, int] = {}
    for token in _TOKENS.finditer(data):
        if token.group("tag") is not None and token.group("tag").endswith(b">"):
            first.setdefault(token.group("name").lower(), token.end())
    for name in (b"head", b"html", b"!doctype"):
        if name in first:
            return first[name]
    return -1


def accept(head: bytes) -> bool:
    return _text.accept_text(head)


def read(src: BinaryIO) -> list[RawLabel]:
    return [raw_label(CARRIER, content, start) for start, _, content in _labels(_load(src))]


def write(src: BinaryIO, dst: BinaryIO, label: AIGCLabel) -> None:
    data = _load(src)
    spans = [(start, end) for start, end, _ in _labels(data)]
    base = b"".join(data[start : start + length] for start, length in _text.complement(spans, len(data)))
    # XHTML served as XML must stay well-formed, so the void element is self-closed there.
    close = b"/>" if _XHTML.search(base[:4096]) else b">"
    meta = (
        b'<meta name="AIGC" content="'
        + html.escape(label.to_json(), quote=True).encode("ascii")
        + b'"'
        + close
    )
    at = _insertion(base)
    if at < 0:
        at = _text.bom_length(base)
        new = base[:at] + meta + _text.newline_of(base) + base[at:]
    else:
        eol = _EOL.match(base, at)
        if eol is not None:
            line = eol.end()
            indent = _INDENT.match(base, line)
            assert indent is not None
            spaces = indent.group() if len(indent.group()) <= _MAX_INDENT else b""
            new = base[:line] + spaces + meta + eol.group() + base[line:]
        else:
            new = base[:at] + meta + base[at:]
    _text.ensure_text(new[:HEAD_BYTES], FMT)
    dst.write(new)


def content_digest(src: BinaryIO) -> bytes:
    data = _load(src)
    spans = [(start, end) for start, end, _ in _labels(data)]
    return hash_ranges(src, _text.complement(spans, len(data)), FMT)


PLUGIN = FormatPlugin(
    name=FMT,
    extensions=("html", "htm", "xhtml", "shtml"),
    mime="text/html",
    carrier='<meta name="AIGC" content="{...}"> in <head> (HTML-escaped JSON)',
    accept=accept,
    read=read,
    write=write,
    content_digest=content_digest,
    needs_extension=True,
)
