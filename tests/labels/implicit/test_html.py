"""HTML: ``<meta name="AIGC">`` in the head (our carrier, labels.md), checked with html5lib (the
HTML5 parsing algorithm browsers use) and lxml as independent readers, lxml as a writer."""

from __future__ import annotations

import html
from pathlib import Path
from xml.etree import ElementTree

import html5lib
import lxml.html
import pytest

from synthguard.labels import implicit
from synthguard.labels.model import AIGCLabel, Verdict
from tests.media.documents import LABELLED_HTML, PAGE_HTML, SAMPLES, THIRD_PARTY

PAGES = sorted(name for name in SAMPLES if name.endswith(".html"))


def _head_meta(data: bytes) -> list[str]:
    """The AIGC meta contents html5lib finds inside <head> (where browsers put the element)."""
    tree = html5lib.parse(data, namespaceHTMLElements=False)
    head = tree.find("head")
    assert head is not None
    return [m.get("content", "") for m in head.iter("meta") if (m.get("name") or "").lower() == "aigc"]


@pytest.mark.parametrize("name", PAGES)
def test_browsers_see_exactly_one_meta_in_the_head(name: str, label: AIGCLabel, tmp_path: Path) -> None:
    path = SAMPLES[name](tmp_path)
    implicit.write_label(path, label)
    assert _head_meta(path.read_bytes()) == [label.to_json()]
    contents = lxml.html.document_fromstring(path.read_bytes()).xpath('//meta[@name="AIGC"]/@content')
    assert contents == [label.to_json()]


def test_the_meta_goes_on_its_own_line_after_head(label: AIGCLabel, tmp_path: Path) -> None:
    path = SAMPLES["page.html"](tmp_path)
    implicit.write_label(path, label)
    meta = f'    <meta name="AIGC" content="{html.escape(label.to_json())}">\n'.encode()
    assert path.read_bytes() == PAGE_HTML.replace(b"  <head>\n", b"  <head>\n" + meta)


def test_a_fragment_gets_the_meta_at_the_top_and_keeps_its_markup(label: AIGCLabel, tmp_path: Path) -> None:
    path = SAMPLES["fragment.html"](tmp_path)
    before = path.read_bytes()
    implicit.write_label(path, label)
    assert path.read_bytes().startswith(b'<meta name="AIGC" content="{&quot;Label&quot;:&quot;1&quot;')
    assert path.read_bytes().endswith(b"\n" + before)


def test_a_third_party_meta_in_any_case_is_replaced_and_comments_are_left_alone(
    label: AIGCLabel, tmp_path: Path
) -> None:
    path = SAMPLES["page-labelled.html"](tmp_path)
    finding = implicit.read_label(path)
    assert finding.verdict is Verdict.COMPLIANT and finding.label == THIRD_PARTY
    assert len(finding.carriers) == 1  # the commented-out meta is text, not an element
    implicit.write_label(path, label)
    data = path.read_bytes()
    assert b"NAME=aigc" not in data
    assert b'<!-- <meta name="AIGC" content="not a tag"> -->' in data
    assert data.endswith(b"\r\n<body>" + LABELLED_HTML.split(b"\r\n<body>")[1])


def test_we_read_a_meta_that_lxml_wrote(tmp_path: Path) -> None:
    page = lxml.html.document_fromstring("<html><head><title>t</title></head><body><p>x</p></body></html>")
    head = page.find("head")
    assert head is not None
    head.append(lxml.html.Element("meta", name="AIGC", content=THIRD_PARTY.to_json()))
    path = tmp_path / "lxml.html"
    path.write_bytes(lxml.html.tostring(page, doctype="<!DOCTYPE html>"))
    finding = implicit.read_label(path)
    assert finding.verdict is Verdict.COMPLIANT and finding.label == THIRD_PARTY


def test_xhtml_gets_a_self_closed_meta_and_stays_well_formed(label: AIGCLabel, tmp_path: Path) -> None:
    path = tmp_path / "page.xhtml"
    path.write_bytes(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml">\n'
        b"<head>\n<title>t</title>\n</head>\n<body><p>x</p></body>\n</html>\n"
    )
    implicit.write_label(path, label)
    root = ElementTree.fromstring(path.read_bytes())
    metas = root.findall(".//{http://www.w3.org/1999/xhtml}meta")
    assert [m.get("content") for m in metas] == [label.to_json()]


def test_metas_inside_scripts_are_not_carriers(tmp_path: Path) -> None:
    path = tmp_path / "script.html"
    path.write_bytes(
        b'<html><head><script>document.write("<meta name=AIGC content=x>")</script></head></html>'
    )
    assert implicit.read_label(path).verdict is Verdict.ABSENT


def test_content_digest_changes_when_the_page_changes(label: AIGCLabel, tmp_path: Path) -> None:
    path = SAMPLES["page.html"](tmp_path)
    implicit.write_label(path, label)
    digest = implicit.content_digest(path)
    path.write_bytes(path.read_bytes().replace(b"AI-generated text.", b"AI-generated text!"))
    assert implicit.content_digest(path) != digest
