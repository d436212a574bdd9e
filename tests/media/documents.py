"""Document samples: PDF (reportlab, qpdf via pikepdf, pypdf), OOXML (python-docx, openpyxl,
python-pptx), Markdown, HTML and plain text.

Variants cover what the document plugins must handle: a classic-xref PDF with Info title/author, the
same PDF re-saved by qpdf with an xref stream and object streams (the Info dictionary then lives
inside a compressed object stream), a PDF whose XMP metadata stream already carries ``TC260:AIGC``,
PDFs labelled by pypdf (full rewrite and incremental update), OOXML packages with and without custom
properties (one labelled by openpyxl), an Excel template, Markdown with and without front matter
(CRLF + BOM, a third-party flow-style label), HTML pages and a fragment, and UTF-8 text with CRLF.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import docx
import openpyxl
import pikepdf
import pptx
import pypdf
from docx.opc.constants import CONTENT_TYPE, RELATIONSHIP_TYPE
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from openpyxl.packaging.custom import StringProperty
from pptx.util import Inches
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from synthguard.labels.model import AIGCLabel

# A label as another vendor's tool would have written it (the conftest producer, another ID).
THIRD_PARTY = AIGCLabel.produce("001191110102MACQD9K64010000", "vendor-0042")
PAGE_TEXT = ("第一页 page one: generated report", "page two: the conclusion")
PARAGRAPHS = ("本内容由人工智能生成 AI-generated letter.", "Second paragraph with some words.")


def report_pdf(path: Path, *, compress: bool = True) -> Path:
    """Two pages, Info title and author; classic xref table (reportlab)."""
    pdf = canvas.Canvas(str(path), pagesize=A4, pageCompression=1 if compress else 0)
    pdf.setTitle("Quarterly report (draft)")
    pdf.setAuthor("Synthguard Tests")
    pdf.setSubject("implicit label samples")
    for text in PAGE_TEXT:
        pdf.setFont("Helvetica", 14)
        pdf.drawString(72, 760, text.encode("ascii", "ignore").decode())
        pdf.rect(72, 600, 200, 100)
        pdf.showPage()
    pdf.save()
    return path


def _report(folder: Path) -> Path:
    return report_pdf(folder / "report.pdf")


def _xref_stream(folder: Path) -> Path:
    """qpdf's re-save: cross-reference stream, PNG-predicted, Info inside an object stream."""
    source = report_pdf(folder / "report-source.pdf")
    path = folder / "report-xref-stream.pdf"
    with pikepdf.open(source) as pdf:
        pdf.save(path, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    source.unlink()
    return path


XMP_WITH_LABEL = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/">'
    "<dc:format>application/pdf</dc:format>"
    "<TC260:AIGC>" + THIRD_PARTY.to_json().replace("&", "&amp;") + "</TC260:AIGC>"
    "</rdf:Description></rdf:RDF></x:xmpmeta>\n"
    '<?xpacket end="w"?>'
)


def _xmp_labelled(folder: Path) -> Path:
    """A catalogue XMP stream (written by qpdf) that carries a third party's TC260:AIGC."""
    source = report_pdf(folder / "report-source.pdf")
    path = folder / "report-xmp-label.pdf"
    with pikepdf.open(source) as pdf:
        stream = pdf.make_stream(XMP_WITH_LABEL.encode("utf-8"))
        stream.Type = pikepdf.Name.Metadata
        stream.Subtype = pikepdf.Name.XML
        pdf.Root.Metadata = stream
        pdf.save(path)
    source.unlink()
    return path


def _pypdf_labelled(folder: Path) -> Path:
    """pypdf rewrote the file with ``/AIGC`` in the Info dictionary."""
    source = report_pdf(folder / "report-source.pdf")
    path = folder / "report-pypdf-label.pdf"
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(source))
    writer.add_metadata({"/AIGC": THIRD_PARTY.to_json()})
    writer.write(path)
    source.unlink()
    return path


def _pypdf_incremental(folder: Path) -> Path:
    """pypdf's incremental update: an xref *stream* section after reportlab's classic table."""
    source = report_pdf(folder / "report-source.pdf")
    path = folder / "report-pypdf-incremental.pdf"
    writer = pypdf.PdfWriter(pypdf.PdfReader(source), incremental=True)
    writer.add_metadata({"/AIGC": THIRD_PARTY.to_json()})
    writer.write(path)
    source.unlink()
    return path


def _letter(folder: Path) -> Path:
    document = docx.Document()
    document.core_properties.title = "Letter"
    document.core_properties.author = "Synthguard Tests"
    document.core_properties.keywords = "samples"
    for text in PARAGRAPHS:
        document.add_paragraph(text)
    path = folder / "letter.docx"
    document.save(str(path))
    return path


CUSTOM_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
    'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
    '<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="Department">'
    "<vt:lpwstr>Legal</vt:lpwstr></property>"
    '<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="5" name="Reviewed">'
    "<vt:bool>true</vt:bool></property>"
    "</Properties>"
)


def _letter_with_custom(folder: Path) -> Path:
    """python-docx package that already has docProps/custom.xml (two properties, pids 2 and 5)."""
    document = docx.Document()
    document.core_properties.title = "Letter with properties"
    for text in PARAGRAPHS:
        document.add_paragraph(text)
    package = document.part.package
    part = Part(
        PackURI("/docProps/custom.xml"), CONTENT_TYPE.OFC_CUSTOM_PROPERTIES, CUSTOM_XML.encode(), package
    )
    package.relate_to(part, RELATIONSHIP_TYPE.CUSTOM_PROPERTIES)
    path = folder / "letter-custom.docx"
    document.save(str(path))
    return path


def _workbook(path: Path, *, label: bool = False, template: bool = False) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Data"
    for row in range(1, 6):
        sheet.append([row, row * row, f"row {row}"])
    book.properties.title = "Squares"
    book.properties.creator = "Synthguard Tests"
    book.custom_doc_props.append(StringProperty(name="Project", value="labels"))
    if label:
        book.custom_doc_props.append(StringProperty(name="AIGC", value=THIRD_PARTY.to_json()))
    book.template = template
    book.save(str(path))
    return path


def _deck(folder: Path) -> Path:
    deck = pptx.Presentation()
    deck.core_properties.title = "Deck"
    deck.core_properties.author = "Synthguard Tests"
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    title = slide.shapes.title
    assert title is not None
    title.text = "Generated slide"
    slide.shapes.add_textbox(Inches(1), Inches(5), Inches(4), Inches(1)).text_frame.text = "AI-generated"
    path = folder / "deck.pptx"
    deck.save(str(path))
    return path


def _text(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    return make


NOTES_MD = "# 报告\n\n本内容由人工智能生成。\n\n- one\n- two\n".encode()
POST_MD = b"---\ntitle: A post\ntags: [ai, labels]\ndate: 2025-09-01\n---\n\n# A post\n\nBody text.\n"
FLOW_LABEL_MD = (
    b"\xef\xbb\xbf---\r\ntitle: Windows post\r\nAIGC: "
    + THIRD_PARTY.to_json().encode()
    + b"\r\nlayout: post\r\n---\r\nBody with CRLF.\r\n"
)
PAGE_HTML = (
    b'<!DOCTYPE html>\n<html lang="zh">\n  <head>\n    <meta charset="utf-8">\n'
    b"    <title>Generated page</title>\n  </head>\n  <body>\n    <p>AI-generated text.</p>\n"
    b"  </body>\n</html>\n"
)
FRAGMENT_HTML = b"<p>A generated answer.</p>\n<ul><li>one</li></ul>\n"
LABELLED_HTML = (
    b"<html><HEAD><TITLE>t</TITLE><META NAME=aigc CONTENT='"
    + THIRD_PARTY.to_json().replace('"', "&quot;").encode()
    + b'\'></HEAD>\r\n<body><!-- <meta name="AIGC" content="not a tag"> --><p>x</p></body></html>\r\n'
)
NOTES_TXT = "本内容由人工智能生成。\nA plain text answer.\nLast line without a newline".encode()
CRLF_TXT = b"\xef\xbb\xbfFirst line\r\nSecond line\r\n"

SAMPLES: dict[str, Callable[[Path], Path]] = {
    "report.pdf": _report,
    "report-xref-stream.pdf": _xref_stream,
    "report-xmp-label.pdf": _xmp_labelled,
    "report-pypdf-label.pdf": _pypdf_labelled,
    "report-pypdf-incremental.pdf": _pypdf_incremental,
    "letter.docx": _letter,
    "letter-custom.docx": _letter_with_custom,
    "book.xlsx": lambda folder: _workbook(folder / "book.xlsx"),
    "book-labelled.xlsx": lambda folder: _workbook(folder / "book-labelled.xlsx", label=True),
    "book-template.xltx": lambda folder: _workbook(folder / "book-template.xltx", template=True),
    "deck.pptx": _deck,
    "notes.md": _text("notes.md", NOTES_MD),
    "post.md": _text("post.md", POST_MD),
    "post-flow-label.md": _text("post-flow-label.md", FLOW_LABEL_MD),
    "page.html": _text("page.html", PAGE_HTML),
    "fragment.html": _text("fragment.html", FRAGMENT_HTML),
    "page-labelled.html": _text("page-labelled.html", LABELLED_HTML),
    "notes.txt": _text("notes.txt", NOTES_TXT),
    "notes-crlf.txt": _text("notes-crlf.txt", CRLF_TXT),
}
