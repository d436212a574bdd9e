"""PDF: Info ``/AIGC`` written as an incremental update (TC260-PG-20258A 6.3), checked with pypdf,
qpdf (pikepdf) and exiftool as independent readers, and pypdf as an independent writer."""

from __future__ import annotations

import io
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pikepdf
import pypdf
import pytest
from PIL import Image
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from synthguard.errors import CorruptFile, UnsupportedFormat
from synthguard.labels import implicit
from synthguard.labels.implicit import pdf
from synthguard.labels.model import AIGCLabel, Verdict
from tests.conftest import PLATFORM
from tests.media.documents import SAMPLES, THIRD_PARTY, XMP_WITH_LABEL, report_pdf

PDFS = sorted(name for name in SAMPLES if name.endswith(".pdf"))


@pytest.fixture(params=PDFS)
def sample(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    return SAMPLES[request.param](folder)


def _labelled(sample: Path, label: AIGCLabel, tmp_path: Path) -> Path:
    out = tmp_path / "out" / sample.name
    out.parent.mkdir(exist_ok=True)
    implicit.write_label(sample, label, out)
    return out


def test_the_original_bytes_are_a_prefix_of_the_labelled_file(
    sample: Path, label: AIGCLabel, tmp_path: Path
) -> None:
    out = _labelled(sample, label, tmp_path)
    assert out.read_bytes().startswith(sample.read_bytes())


def test_pypdf_reads_the_label_and_every_other_info_key(
    sample: Path, label: AIGCLabel, tmp_path: Path
) -> None:
    before = pypdf.PdfReader(sample).metadata or {}
    after = pypdf.PdfReader(_labelled(sample, label, tmp_path)).metadata
    assert after is not None
    assert after["/AIGC"] == label.to_json()
    assert {k: v for k, v in before.items() if k != "/AIGC"} == {
        k: v for k, v in after.items() if k != "/AIGC"
    }
    assert after["/Title"] == "Quarterly report (draft)"


def test_pages_and_their_content_streams_are_unchanged(
    sample: Path, label: AIGCLabel, tmp_path: Path
) -> None:
    before = pypdf.PdfReader(sample)
    after = pypdf.PdfReader(_labelled(sample, label, tmp_path))
    assert len(after.pages) == len(before.pages) == 2
    for old, new in zip(before.pages, after.pages, strict=True):
        assert new.extract_text() == old.extract_text()
        old_contents, new_contents = old.get_contents(), new.get_contents()
        assert old_contents is not None and new_contents is not None
        assert new_contents.get_data() == old_contents.get_data()
    assert "page one" in after.pages[0].extract_text()


def test_qpdf_finds_no_structural_problem_and_reads_the_label(
    sample: Path, label: AIGCLabel, tmp_path: Path
) -> None:
    out = _labelled(sample, label, tmp_path)
    with pikepdf.open(out) as document:
        assert document.check_pdf_syntax() == []
        assert str(document.docinfo["/AIGC"]) == label.to_json()
        assert len(document.pages) == 2


def test_exiftool_reads_the_info_key(
    sample: Path, label: AIGCLabel, tmp_path: Path, exiftool: list[str]
) -> None:
    out = _labelled(sample, label, tmp_path)
    result = subprocess.run(
        [*exiftool, "-j", "-PDF:AIGC", str(out)], capture_output=True, check=True, text=True
    )
    assert json.loads(result.stdout)[0]["AIGC"] == label.to_json()


def test_the_new_section_mirrors_the_kind_of_the_last_one(label: AIGCLabel, tmp_path: Path) -> None:
    table = SAMPLES["report.pdf"](tmp_path)
    stream = SAMPLES["report-xref-stream.pdf"](tmp_path)
    table_tail = _labelled(table, label, tmp_path).read_bytes()[table.stat().st_size :]
    stream_tail = _labelled(stream, label, tmp_path).read_bytes()[stream.stat().st_size :]
    assert b"\nxref\n" in table_tail and b"\ntrailer\n" in table_tail
    assert b"/Type /XRef" in stream_tail and b"trailer" not in stream_tail
    assert b"/Prev " in table_tail and b"/Prev " in stream_tail


@pytest.mark.parametrize("name", ["report-pypdf-label.pdf", "report-pypdf-incremental.pdf"])
def test_we_read_a_label_pypdf_wrote_and_replace_it(name: str, label: AIGCLabel, tmp_path: Path) -> None:
    path = SAMPLES[name](tmp_path)
    finding = implicit.read_label(path)
    assert finding.verdict is Verdict.COMPLIANT, finding.problems
    assert finding.label == THIRD_PARTY
    implicit.write_label(path, label)
    finding = implicit.read_label(path)
    assert finding.label == label and len(finding.carriers) == 1
    metadata = pypdf.PdfReader(path).metadata
    assert metadata is not None and metadata["/AIGC"] == label.to_json()


def test_an_xmp_copy_is_read_and_removed_while_the_packet_is_kept(label: AIGCLabel, tmp_path: Path) -> None:
    path = SAMPLES["report-xmp-label.pdf"](tmp_path)
    finding = implicit.read_label(path)
    assert finding.label == THIRD_PARTY
    assert finding.carriers == (pdf.XMP_CARRIER,)
    implicit.write_label(path, label)
    finding = implicit.read_label(path)
    assert finding.verdict is Verdict.COMPLIANT and finding.carriers == (pdf.INFO_CARRIER,)
    with pikepdf.open(path) as document:
        packet = document.Root.Metadata.read_bytes()
    assert b"TC260:AIGC>" not in packet and b"TC260:AIGC=" not in packet
    assert b"<dc:format>application/pdf</dc:format>" in packet


def test_info_and_xmp_copies_together_are_reported_as_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "both.pdf"
    with pikepdf.open(SAMPLES["report-pypdf-label.pdf"](tmp_path)) as document:
        stream = document.make_stream(XMP_WITH_LABEL.encode())
        stream.Type, stream.Subtype = pikepdf.Name.Metadata, pikepdf.Name.XML
        document.Root.Metadata = stream
        document.save(path)
    finding = implicit.read_label(path)
    assert finding.verdict is Verdict.NON_COMPLIANT
    assert len(finding.carriers) == 2
    assert any("exactly one" in problem for problem in finding.problems)


def test_rewriting_appends_another_revision_and_keeps_one_label(label: AIGCLabel, tmp_path: Path) -> None:
    path = SAMPLES["report-xref-stream.pdf"](tmp_path)
    implicit.write_label(path, label)
    first = path.read_bytes()
    second_label = label.replace(ContentPropagator=PLATFORM, PropagateID="platform-7")
    implicit.write_label(path, second_label)
    assert path.read_bytes().startswith(first)
    finding = implicit.read_label(path)
    assert finding.label == second_label and len(finding.carriers) == 1
    with pikepdf.open(path) as document:
        assert str(document.docinfo["/AIGC"]) == second_label.to_json()


def test_content_digest_changes_when_a_page_content_stream_changes(label: AIGCLabel, tmp_path: Path) -> None:
    path = report_pdf(tmp_path / "plain.pdf", compress=False)
    implicit.write_label(path, label)
    labelled = path.read_bytes()
    assert labelled.count(b"page two") == 1  # the uncompressed content stream of page 2
    digest = implicit.content_digest(path)
    path.write_bytes(labelled.replace(b"page two", b"page tw0"))  # same length: offsets stay valid
    assert implicit.content_digest(path) != digest
    assert implicit.read_label(path).label == label


def test_content_digest_ignores_an_info_update_by_pypdf(tmp_path: Path) -> None:
    path = SAMPLES["report.pdf"](tmp_path)
    digest = implicit.content_digest(path)
    writer = pypdf.PdfWriter(pypdf.PdfReader(path), incremental=True)
    writer.add_metadata({"/AIGC": THIRD_PARTY.to_json(), "/Title": "renamed"})
    updated = tmp_path / "updated.pdf"
    writer.write(updated)
    assert implicit.content_digest(updated) == digest


def _prev_loop(data: bytes) -> bytes:
    labelled = io.BytesIO()
    pdf.write(io.BytesIO(data), labelled, AIGCLabel.produce("001191110102MACQD9K64010000", "x"))
    out = labelled.getvalue()
    own_xref = int(re.findall(rb"startxref\s+(\d+)", out)[-1])
    original_xref = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    return out.replace(b"/Prev %d" % original_xref, b"/Prev %d" % own_xref)


def _shift_xref_entries(data: bytes) -> bytes:
    return re.sub(rb"(\d{10}) 00000 n", lambda m: b"%010d 00000 n" % (int(m.group(1)) + 1), data)


BREAKAGES = {
    "truncated to half": lambda data: data[: len(data) // 2],
    "no startxref": lambda data: data.replace(b"startxref", b"startxrex"),
    "startxref into a page": lambda data: data[: data.rfind(b"startxref")] + b"startxref\n100\n%%EOF\n",
    "xref entries shifted": _shift_xref_entries,
    "/Prev chain loops": _prev_loop,
    "garbage after the header": lambda data: data[:9] + bytes(range(256)) * 8,
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_broken_files_raise_corrupt_file_and_stay_unchanged(
    breakage: str, label: AIGCLabel, tmp_path: Path
) -> None:
    data = BREAKAGES[breakage](SAMPLES["report.pdf"](tmp_path).read_bytes())
    path = tmp_path / "broken.pdf"
    path.write_bytes(data)
    with pytest.raises(CorruptFile):
        implicit.write_label(path, label)
    assert path.read_bytes() == data
    with pytest.raises(CorruptFile):
        implicit.read_label(path)
    assert not list(tmp_path.glob("*.sgtmp"))


def test_an_encrypted_pdf_is_refused_and_left_unchanged(label: AIGCLabel, tmp_path: Path) -> None:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(SAMPLES["report.pdf"](tmp_path)))
    writer.encrypt("", "owner-secret")
    path = tmp_path / "encrypted.pdf"
    writer.write(path)
    data = path.read_bytes()
    with pytest.raises(UnsupportedFormat):
        implicit.write_label(path, label)
    with pytest.raises(UnsupportedFormat):
        implicit.read_label(path)
    assert path.read_bytes() == data


class _CountingFile(io.FileIO):
    bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data


def test_reading_the_label_reads_only_metadata_not_pages(label: AIGCLabel, tmp_path: Path) -> None:
    noise = Image.fromarray(np.random.default_rng(1).integers(0, 256, (700, 700, 3), dtype=np.uint8))
    path = tmp_path / "big.pdf"
    document = canvas.Canvas(str(path))
    document.drawImage(ImageReader(noise), 0, 0, 500, 500)
    document.showPage()
    document.save()
    implicit.write_label(path, label)
    assert path.stat().st_size > 200_000
    with _CountingFile(path) as src:
        assert [raw.text for raw in pdf.read(src)] == [label.to_json()]  # type: ignore[arg-type]
        assert src.bytes_read < 32 * 1024


def test_accept_needs_the_pdf_header() -> None:
    assert pdf.accept(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    assert not pdf.accept(b"PK\x03\x04")
    assert not pdf.accept(b"Just some text about PDFs\n")


def _hybrid(base: bytes) -> bytes:
    """An update the way hybrid-reference writers (Word's PDF export) make it: the new Info lives in
    an object stream listed only by the /XRefStm stream, the classic table lists the rest."""
    info_num = int(re.findall(rb"/Info (\d+) 0 R", base)[-1])
    size = int(re.findall(rb"/Size (\d+)", base)[-1])
    original_xref = int(re.findall(rb"startxref\s+(\d+)", base)[-1])
    stream_num, xref_num = size, size + 1
    info = b"<</Title (hybrid title) /AIGC (" + THIRD_PARTY.to_json().encode() + b")>>"
    header = b"%d 0 " % info_num
    out = bytearray(base)
    stream_at = len(out)
    out += b"%d 0 obj\n<</Type /ObjStm /N 1 /First %d /Length %d>>\nstream\n" % (
        stream_num,
        len(header),
        len(header + info),
    )
    out += header + info + b"\nendstream\nendobj\n"
    xref_stream_at = len(out)
    rows = b"\x02" + stream_num.to_bytes(4, "big") + b"\x00\x00"
    out += b"%d 0 obj\n<</Type /XRef /Size %d /W [1 4 2] /Index [%d 1] /Length %d>>\nstream\n" % (
        xref_num,
        size + 2,
        info_num,
        len(rows),
    )
    out += rows + b"\nendstream\nendobj\n"
    table_at = len(out)
    out += b"xref\n%d 2\n%010d 00000 n\r\n%010d 00000 n\r\n" % (stream_num, stream_at, xref_stream_at)
    root = re.findall(rb"/Root (\d+ 0 R)", base)[-1]
    out += b"trailer\n<</Size %d /Root %s /Info %d 0 R /Prev %d /XRefStm %d>>\n" % (
        size + 2,
        root,
        info_num,
        original_xref,
        xref_stream_at,
    )
    out += b"startxref\n%d\n%%%%EOF\n" % table_at
    return bytes(out)


def test_a_hybrid_reference_file_is_read_through_its_xref_stream(label: AIGCLabel, tmp_path: Path) -> None:
    path = tmp_path / "hybrid.pdf"
    path.write_bytes(_hybrid(SAMPLES["report.pdf"](tmp_path).read_bytes()))
    metadata = pypdf.PdfReader(path).metadata
    assert metadata is not None and metadata["/Title"] == "hybrid title"  # pypdf agrees on the structure
    assert implicit.read_label(path).label == THIRD_PARTY
    implicit.write_label(path, label)
    assert path.read_bytes().rstrip().endswith(b"%%EOF") and b"\ntrailer\n" in path.read_bytes()[-600:]
    finding = implicit.read_label(path)
    assert finding.label == label and len(finding.carriers) == 1
    with pikepdf.open(path) as document:
        assert str(document.docinfo["/AIGC"]) == label.to_json()
        assert str(document.docinfo["/Title"]) == "hybrid title"
