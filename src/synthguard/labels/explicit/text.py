"""Explicit labels on text: a notice at the start, the end or a suitable point in the middle.

GB 45438-2025 (text explicit label) and Labeling Measures Art. 4(1): a text notice (e.g.
"本内容由人工智能生成") at the start, the end or a suitable place in the middle; for chat, around the
answer too. The notice is inserted without breaking the document's structure:

* plain text: as its own paragraph, at a paragraph (else line, else sentence) boundary;
* Markdown: never inside YAML/TOML front matter, a fenced or indented code block, a list, a quote
  or a table; after the front matter at the start;
* HTML: inside ``<body>`` (after the opening tag, before ``</body>``, or between two top-level
  elements of the body), as a ``<p role="note">`` with the text escaped; positions come from the
  stdlib HTML tokenizer, so ``</body>`` inside a script or a comment does not fool it.

:class:`NoticeStream` is the streaming form for the gateway: the notice goes out with the first chunk
(start) or as the last piece after the final chunk (end), without holding any content back.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import BinaryIO, Literal

from synthguard.errors import CorruptFile, InvalidNoticeOptions
from synthguard.labels.explicit.notice import Notice
from synthguard.labels.implicit import atomic_write

TextFormat = Literal["plain", "markdown", "html"]
FORMATS: tuple[str, ...] = ("plain", "markdown", "html")
TEXT_POSITIONS: tuple[str, ...] = ("start", "end", "middle")
_EXTENSIONS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdx": "markdown",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
}
NOTICE_CLASS = "aigc-notice"


@dataclass(frozen=True)
class TextLabelOptions:
    notice: Notice = field(default_factory=Notice)
    position: str = "start"  # start | end | middle
    offset: int | None = None  # with "middle": aim here instead of the middle (snapped to a boundary)

    def __post_init__(self) -> None:
        if self.position not in TEXT_POSITIONS:
            raise InvalidNoticeOptions(
                f"text position {self.position!r} is not one of {', '.join(TEXT_POSITIONS)}",
                message_zh=f"文本标识位置 {self.position!r} 无效，可选 start、end、middle",
            )


def notice_markup(notice: Notice, fmt: str) -> str:
    text = notice.long
    if fmt == "html":
        return (
            f'<p class="{NOTICE_CLASS}" role="note" data-aigc-label="{notice.level}">{html.escape(text)}</p>'
        )
    if fmt == "markdown":
        return re.sub(r"([\\`*_{}\[\]<>#|!])", r"\\\1", text)
    return text


def guess_format(name: str, text: str = "") -> str:
    fmt = _EXTENSIONS.get(os.path.splitext(name)[1].lower())
    if fmt:
        return fmt
    head = text.lstrip()[:200].lower()
    if head.startswith(("<!doctype html", "<html")):
        return "html"
    return "plain"


def label_text(text: str, options: TextLabelOptions | None = None, *, fmt: str = "plain") -> str:
    """``text`` with the notice inserted; the rest of the text is unchanged, byte for byte."""
    options = options or TextLabelOptions()
    if fmt not in FORMATS:
        raise InvalidNoticeOptions(f"text format {fmt!r} is not one of {', '.join(FORMATS)}")
    newline = "\r\n" if "\r\n" in text else "\n"
    markup = notice_markup(options.notice, fmt)
    if fmt == "html":
        return _label_html(text, markup, options, newline)
    start, end, boundaries = (
        _markdown_layout(text, newline) if fmt == "markdown" else _plain_layout(text, newline)
    )
    block = markup + newline + newline
    if options.position == "start":
        return text[:start] + block + text[start:]
    if options.position == "end" or not boundaries:
        body = text[:end].rstrip("\r\n")
        return body + (newline + newline if body else "") + markup + newline + text[end:].lstrip("\r\n")
    aim = options.offset if options.offset is not None else (start + end) // 2
    at = min(boundaries, key=lambda b: abs(b - aim))
    return text[:at] + block + text[at:]


def label_text_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str] | None = None,
    options: TextLabelOptions | None = None,
    *,
    fmt: str | None = None,
    fsync: bool = True,
) -> str:
    """Label a UTF-8 text, Markdown or HTML file; returns the format used."""
    source = Path(src)
    raw = source.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    try:
        text = raw[3:].decode("utf-8") if bom else raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorruptFile(
            "text", f"{source.name} is not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    used = fmt or guess_format(source.name, text)
    out = label_text(text, options, fmt=used).encode("utf-8")
    data = (b"\xef\xbb\xbf" if bom else b"") + out
    target = Path(dst) if dst is not None else source
    atomic_write(target, lambda f: _write_all(f, data), fsync=fsync, like=source)
    return used


def _write_all(f: BinaryIO, data: bytes) -> None:
    f.write(data)


# --- plain and Markdown layout: (content start, content end, allowed insertion offsets) ----------


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for match in re.finditer("\n", text):
        starts.append(match.end())
    return starts


def _plain_layout(text: str, newline: str) -> tuple[int, int, list[int]]:
    lines = text.split("\n")
    starts = _line_starts(text)
    paragraphs = [starts[i] for i in range(1, len(lines)) if not lines[i - 1].strip() and lines[i].strip()]
    if paragraphs:
        return 0, len(text), paragraphs
    breaks = [starts[i] for i in range(1, len(lines)) if lines[i].strip()]
    if breaks:
        return 0, len(text), breaks
    sentences = [m.end() for m in re.finditer(r"[。！？!?.](?=\s|$)|[。！？]", text) if m.end() < len(text)]
    return 0, len(text), sentences


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_STRUCTURED = re.compile(r"^\s*([-*+]\s|\d+[.)]\s|>|\|)")


def _markdown_layout(text: str, newline: str) -> tuple[int, int, list[int]]:
    lines = text.split("\n")
    starts = _line_starts(text)
    start = 0
    first_body_line = 0
    if lines and lines[0].rstrip("\r") in ("---", "+++"):
        closer = {"---": ("---", "..."), "+++": ("+++",)}[lines[0].rstrip("\r")]
        for i in range(1, len(lines)):
            if lines[i].rstrip("\r") in closer:
                first_body_line = i + 1
                start = starts[i + 1] if i + 1 < len(starts) else len(text)
                break
    boundaries: list[int] = []
    fence: str | None = None
    previous_text = ""
    for i in range(first_body_line, len(lines)):
        line = lines[i].rstrip("\r")
        opener = _FENCE.match(line)
        if fence is not None:
            if opener and opener.group(1)[0] == fence[0] and len(opener.group(1)) >= len(fence):
                fence = None
            continue
        blank_before = i > first_body_line and not lines[i - 1].strip()
        if (
            line.strip()
            and blank_before
            and not line.startswith((" ", "\t"))
            and not _STRUCTURED.match(line)
            and not _STRUCTURED.match(previous_text)
            and not previous_text.startswith(("    ", "\t"))
        ):
            boundaries.append(starts[i])
        if opener:
            fence = opener.group(1)
        if line.strip():
            previous_text = line
    return start, len(text), boundaries


# --- HTML ---------------------------------------------------------------------------------------

_BLOCKS = {
    "p", "div", "section", "article", "header", "footer", "main", "aside", "nav", "ul", "ol", "dl",
    "table", "pre", "blockquote", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "form",
}  # fmt: skip
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Layout(HTMLParser):
    """Offsets of <body> content and of the ends of body's top-level block elements."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=False)
        self.line_starts = _line_starts(text)
        self.body_open: int | None = None
        self.body_close: int | None = None
        self.head_close: int | None = None
        self.html_close: int | None = None
        self.depth = 0
        self.boundaries: list[int] = []

    def _offset(self) -> int:
        line, col = self.getpos()
        return self.line_starts[line - 1] + col

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body" and self.body_open is None:
            text = self.get_starttag_text() or ""
            self.body_open = self._offset() + len(text)
            self.depth = 0
            return
        if self.body_open is not None and self.body_close is None and tag not in _VOID:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        offset = self._offset()
        if tag == "body" and self.body_close is None:
            self.body_close = offset
        elif tag == "head" and self.head_close is None:
            self.head_close = offset + len("</head>")
        elif tag == "html":
            self.html_close = offset
        elif self.body_open is not None and self.body_close is None and tag not in _VOID:
            self.depth = max(0, self.depth - 1)
            if self.depth == 0 and tag in _BLOCKS:
                raw = self.rawdata[offset:]
                self.boundaries.append(offset + raw.index(">") + 1)


def _label_html(text: str, markup: str, options: TextLabelOptions, newline: str) -> str:
    layout = _Layout(text)
    layout.feed(text)
    layout.close()
    start = layout.body_open if layout.body_open is not None else (layout.head_close or 0)
    if layout.body_open is None and layout.head_close is None:
        doctype = re.match(r"\s*(<!doctype[^>]*>\s*)?(<html[^>]*>\s*)?", text, re.IGNORECASE)
        start = doctype.end() if doctype else 0
    end = layout.body_close if layout.body_close is not None else (layout.html_close or len(text))
    if options.position == "start":
        return text[:start] + newline + markup + text[start:]
    if options.position == "end" or not layout.boundaries:
        return text[:end] + markup + newline + text[end:]
    aim = options.offset if options.offset is not None else (start + end) // 2
    at = min(layout.boundaries, key=lambda b: abs(b - aim))
    return text[:at] + newline + markup + text[at:]


# --- streaming ----------------------------------------------------------------------------------


class NoticeStream:
    """Adds the notice to a stream of text deltas (a chat answer) without holding any back.

    ``feed(delta)`` returns what to send instead of ``delta``; ``close()`` returns a final piece to
    send after the last delta (the notice for ``position="end"``, or for ``"start"`` when the
    answer was empty). Markdown is assumed, which renders plain answers unchanged.
    """

    def __init__(
        self, notice: Notice | None = None, *, position: str = "start", fmt: str = "markdown"
    ) -> None:
        if position not in ("start", "end"):
            raise InvalidNoticeOptions(
                f"a stream carries the notice at the start or the end, not {position!r}",
                message_zh="流式输出的标识只能位于开头（start）或结尾（end）",
            )
        self.position = position
        self.markup = notice_markup(notice or Notice(), fmt)
        self.started = False

    def feed(self, delta: str) -> str:
        if self.position == "start" and not self.started and delta:
            self.started = True
            return self.markup + "\n\n" + delta
        return delta

    def close(self) -> str:
        if self.position == "end":
            return "\n\n" + self.markup
        if not self.started:
            self.started = True
            return self.markup
        return ""


def with_notice(
    chunks: Iterable[str], notice: Notice | None = None, *, position: str = "start"
) -> Iterator[str]:
    stream = NoticeStream(notice, position=position)
    for chunk in chunks:
        out = stream.feed(chunk)
        if out:
            yield out
    tail = stream.close()
    if tail:
        yield tail


async def awith_notice(
    chunks: AsyncIterable[str], notice: Notice | None = None, *, position: str = "start"
) -> AsyncIterator[str]:
    stream = NoticeStream(notice, position=position)
    async for chunk in chunks:
        out = stream.feed(chunk)
        if out:
            yield out
    tail = stream.close()
    if tail:
        yield tail
