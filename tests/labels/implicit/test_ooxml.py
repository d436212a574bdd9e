"""OOXML: custom property ``AIGC`` in docProps/custom.xml (TC260-PG-20258A 6.1), checked with
python-docx, openpyxl, python-pptx and exiftool, and openpyxl as an independent writer."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import docx
import numpy as np
import openpyxl
import pptx
import pytest
from PIL import Image

from synthguard.errors import CorruptFile
from synthguard.labels import implicit
from synthguard.labels.implicit import ooxml
from synthguard.labels.model import AIGCLabel, Verdict
from tests.media.documents import CUSTOM_XML, SAMPLES, THIRD_PARTY

PACKAGES = sorted(name for name in SAMPLES if name.rsplit(".", 1)[1] in ooxml.PLUGIN.extensions)
METADATA = {"docProps/custom.xml", "_rels/.rels", "[Content_Types].xml"}
CUSTOM_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"


@pytest.fixture(params=PACKAGES)
def sample(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    return SAMPLES[request.param](folder)


def _labelled(sample: Path, label: AIGCLabel, tmp_path: Path) -> Path:
    out = tmp_path / "out" / sample.name
    out.parent.mkdir(exist_ok=True)
    implicit.write_label(sample, label, out)
    return out


def _stored(path: Path) -> dict[str, tuple[int, bytes]]:
    """Member name -> (CRC-32, local header + compressed data exactly as stored)."""
    data = path.read_bytes()
    members: dict[str, tuple[int, bytes]] = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            name_len, extra_len = struct.unpack(
                "<HH", data[info.header_offset + 26 : info.header_offset + 30]
            )
            end = info.header_offset + 30 + name_len + extra_len + info.compress_size
            members[info.filename] = (info.CRC, data[info.header_offset : end])
    return members


def _custom_properties(path: Path) -> list[tuple[str, str, str]]:
    """(pid, name, value) of each custom property, read with the stdlib XML parser."""
    with zipfile.ZipFile(path) as archive:
        root = ElementTree.fromstring(archive.read("docProps/custom.xml"))
    return [(p.get("pid"), p.get("name"), "".join(p.itertext())) for p in root]


def test_every_untouched_member_is_stored_byte_for_byte(
    sample: Path, label: AIGCLabel, tmp_path: Path
) -> None:
    before, after = _stored(sample), _stored(_labelled(sample, label, tmp_path))
    untouched = set(before) - METADATA
    assert untouched and untouched <= set(after)
    for name in untouched:
        assert after[name] == before[name], name


def test_member_order_is_kept_and_the_new_part_goes_last(
    sample: Path, label: AIGCLabel, tmp_path: Path
) -> None:
    with zipfile.ZipFile(sample) as archive:
        before = archive.namelist()
    with zipfile.ZipFile(_labelled(sample, label, tmp_path)) as archive:
        after = archive.namelist()
        assert archive.testzip() is None
    assert after[: len(before)] == before
    assert after[len(before) :] in ([], ["docProps/custom.xml"])


def test_exiftool_reads_the_custom_property(
    sample: Path, label: AIGCLabel, tmp_path: Path, exiftool: list[str]
) -> None:
    out = _labelled(sample, label, tmp_path)
    result = subprocess.run(
        [*exiftool, "-j", "-XML:AIGC", str(out)], capture_output=True, check=True, text=True
    )
    assert json.loads(result.stdout)[0]["AIGC"] == label.to_json()


def test_word_opens_the_labelled_document_with_the_same_text(label: AIGCLabel, tmp_path: Path) -> None:
    for name in ("letter.docx", "letter-custom.docx"):
        source = SAMPLES[name](tmp_path)
        out = _labelled(source, label, tmp_path)
        old, new = docx.Document(str(source)), docx.Document(str(out))
        assert [p.text for p in new.paragraphs] == [p.text for p in old.paragraphs]
        assert new.core_properties.title == old.core_properties.title


def test_openpyxl_reads_our_property_and_the_sheet_is_unchanged(label: AIGCLabel, tmp_path: Path) -> None:
    source = SAMPLES["book.xlsx"](tmp_path)
    out = _labelled(source, label, tmp_path)
    book = openpyxl.load_workbook(out)
    properties = {p.name: p.value for p in book.custom_doc_props}
    assert properties == {"Project": "labels", "AIGC": label.to_json()}
    assert [list(r) for r in book["Data"].values] == [
        list(r) for r in openpyxl.load_workbook(source)["Data"].values
    ]
    assert book.properties.title == "Squares"


def test_a_label_openpyxl_wrote_is_read_and_replaced_by_one(label: AIGCLabel, tmp_path: Path) -> None:
    path = SAMPLES["book-labelled.xlsx"](tmp_path)
    finding = implicit.read_label(path)
    assert finding.verdict is Verdict.COMPLIANT and finding.label == THIRD_PARTY
    implicit.write_label(path, label)
    assert [p.name for p in openpyxl.load_workbook(path).custom_doc_props] == ["Project", "AIGC"]
    assert implicit.read_label(path).label == label


def test_powerpoint_deck_keeps_its_slides(label: AIGCLabel, tmp_path: Path) -> None:
    source = SAMPLES["deck.pptx"](tmp_path)
    deck = pptx.Presentation(str(_labelled(source, label, tmp_path)))
    texts = [shape.text_frame.text for slide in deck.slides for shape in slide.shapes if shape.has_text_frame]
    assert "Generated slide" in texts and "AI-generated" in texts
    assert deck.core_properties.title == "Deck"


def test_a_package_without_custom_properties_gets_the_part_relationship_and_override(
    label: AIGCLabel, tmp_path: Path
) -> None:
    out = _labelled(SAMPLES["letter.docx"](tmp_path), label, tmp_path)
    with zipfile.ZipFile(out) as archive:
        rels = archive.read("_rels/.rels").decode()
        types = archive.read("[Content_Types].xml").decode()
    assert rels.count(CUSTOM_REL) == 1 and 'Target="docProps/custom.xml"' in rels
    assert 'PartName="/docProps/custom.xml"' in types
    assert "application/vnd.openxmlformats-officedocument.custom-properties+xml" in types
    assert _custom_properties(out) == [("2", "AIGC", label.to_json())]


def test_existing_custom_properties_are_kept_and_pids_stay_unique(label: AIGCLabel, tmp_path: Path) -> None:
    source = SAMPLES["letter-custom.docx"](tmp_path)
    out = _labelled(source, label, tmp_path)
    assert _custom_properties(out) == [
        ("2", "Department", "Legal"),
        ("5", "Reviewed", "true"),
        ("6", "AIGC", label.to_json()),
    ]
    before, after = _stored(source), _stored(out)
    assert after["_rels/.rels"] == before["_rels/.rels"]  # the relationship was there already
    assert after["[Content_Types].xml"] == before["[Content_Types].xml"]


def test_rewriting_keeps_one_property_even_when_another_tool_used_other_letter_case(
    label: AIGCLabel, tmp_path: Path
) -> None:
    path = SAMPLES["letter-custom.docx"](tmp_path)
    shouting = CUSTOM_XML.replace('name="Department"', 'name="aigc"').replace(
        "<vt:lpwstr>Legal</vt:lpwstr>",
        "<vt:lpwstr>" + THIRD_PARTY.to_json().replace('"', "&quot;") + "</vt:lpwstr>",
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info, shouting if info.filename == "docProps/custom.xml" else old.read(info))
    path.write_bytes(buffer.getvalue())
    assert implicit.read_label(path).label == THIRD_PARTY
    implicit.write_label(path, label)
    implicit.write_label(path, label.replace(PropagateID="second-write"))
    assert [name for _, name, _ in _custom_properties(path)] == ["Reviewed", "AIGC"]
    finding = implicit.read_label(path)
    assert finding.verdict is Verdict.COMPLIANT and len(finding.carriers) == 1


def test_other_zip_files_are_not_taken_for_office_documents(tmp_path: Path) -> None:
    for first in ("mimetype", "META-INF/MANIFEST.MF", "hello.txt"):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(first, "x")
        assert not ooxml.accept(buffer.getvalue()[:64]), first
    assert ooxml.accept(SAMPLES["book.xlsx"](tmp_path).read_bytes()[:64])  # openpyxl starts with docProps/


def _duplicate_names(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(buffer, "w") as new:
        for info in old.infolist():
            new.writestr(info, old.read(info))
        with pytest.warns(UserWarning, match="Duplicate name"):
            new.writestr("word/document.xml", b"<evil/>")
    return buffer.getvalue()


def _damage_custom_part(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo("docProps/custom.xml")
    at = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


BREAKAGES = {
    "truncated": lambda data: data[: len(data) * 2 // 3],
    "end record lost": lambda data: data[:-22],
    "duplicate part name": _duplicate_names,
    "custom part damaged": _damage_custom_part,
    "central directory offset wrong": lambda data: data[:-6] + struct.pack("<I", 12) + data[-2:],
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_broken_packages_raise_corrupt_file_and_stay_unchanged(
    breakage: str, label: AIGCLabel, tmp_path: Path
) -> None:
    data = BREAKAGES[breakage](SAMPLES["letter-custom.docx"](tmp_path).read_bytes())
    path = tmp_path / "broken.docx"
    path.write_bytes(data)
    with pytest.raises(CorruptFile):
        implicit.write_label(path, label)
    assert path.read_bytes() == data
    with pytest.raises(CorruptFile):
        implicit.read_label(path)


class _CountingFile(io.FileIO):
    bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data


def test_reading_the_label_does_not_read_document_parts(label: AIGCLabel, tmp_path: Path) -> None:
    picture = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(3).integers(0, 256, (600, 600, 3), dtype=np.uint8)).save(picture)
    document = docx.Document()
    document.add_picture(str(picture))
    path = tmp_path / "big.docx"
    document.save(str(path))
    implicit.write_label(path, label)
    assert path.stat().st_size > 1_000_000
    with _CountingFile(path) as src:
        assert [raw.text for raw in ooxml.read(src)] == [label.to_json()]  # type: ignore[arg-type]
        assert src.bytes_read < 16 * 1024


def test_content_digest_changes_when_a_document_part_changes(label: AIGCLabel, tmp_path: Path) -> None:
    path = SAMPLES["letter.docx"](tmp_path)
    implicit.write_label(path, label)
    digest = implicit.content_digest(path)
    document = docx.Document(str(path))
    document.paragraphs[1].text = "Second paragraph with other words."
    document.save(str(path))
    assert implicit.content_digest(path) != digest
