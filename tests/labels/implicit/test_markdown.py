"""Markdown: ``AIGC`` mapping in YAML front matter (TC260-PG-20258A 6.5), checked with PyYAML as
an independent reader and writer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from synthguard.errors import UnsupportedFormat
from synthguard.labels import implicit
from synthguard.labels.model import AIGCLabel, Verdict
from tests.media.documents import NOTES_MD, POST_MD, SAMPLES, THIRD_PARTY


def _front_matter(data: bytes) -> dict[str, object]:
    match = re.match(rb"(?:\xef\xbb\xbf)?---\r?\n(.*?)\r?\n---\r?\n", data, re.DOTALL)
    assert match is not None
    loaded = yaml.safe_load(match.group(1).decode())
    assert isinstance(loaded, dict)
    return loaded


def test_a_file_without_front_matter_gets_one_that_yaml_reads(label: AIGCLabel, tmp_path: Path) -> None:
    path = SAMPLES["notes.md"](tmp_path)
    implicit.write_label(path, label)
    data = path.read_bytes()
    assert _front_matter(data) == {"AIGC": label.to_dict()}
    assert data.endswith(NOTES_MD)  # the text itself is untouched


def test_other_front_matter_keys_and_the_body_are_kept(label: AIGCLabel, tmp_path: Path) -> None:
    path = SAMPLES["post.md"](tmp_path)
    implicit.write_label(path, label)
    data = path.read_bytes()
    front = _front_matter(data)
    assert front["AIGC"] == label.to_dict()
    assert front["title"] == "A post" and front["tags"] == ["ai", "labels"]
    assert data.startswith(b"---\ntitle: A post\ntags: [ai, labels]\ndate: 2025-09-01\nAIGC:\n")
    assert data.endswith(POST_MD[POST_MD.index(b"---\n\n# A post") :])


def test_values_are_quoted_so_yaml_keeps_the_label_a_string(label: AIGCLabel, tmp_path: Path) -> None:
    path = SAMPLES["notes.md"](tmp_path)
    implicit.write_label(path, label)
    assert b'  Label: "1"\n' in path.read_bytes()
    aigc = _front_matter(path.read_bytes())["AIGC"]
    assert isinstance(aigc, dict) and aigc["Label"] == "1"


def test_a_flow_style_label_is_read_and_replaced_keeping_crlf_and_bom(
    label: AIGCLabel, tmp_path: Path
) -> None:
    path = SAMPLES["post-flow-label.md"](tmp_path)
    finding = implicit.read_label(path)
    assert finding.verdict is Verdict.COMPLIANT and finding.label == THIRD_PARTY
    implicit.write_label(path, label)
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf---\r\ntitle: Windows post\r\nlayout: post\r\nAIGC:\r\n")
    assert re.search(rb"(?<!\r)\n", data) is None  # every line end is still CRLF
    assert data.count(b"AIGC") == 1
    assert _front_matter(data)["AIGC"] == label.to_dict()


def test_we_read_front_matter_that_pyyaml_wrote(tmp_path: Path) -> None:
    path = tmp_path / "dumped.md"
    front = yaml.safe_dump({"title": "x", "AIGC": THIRD_PARTY.to_dict()}, sort_keys=False)
    path.write_text(f"---\n{front}---\nbody\n")
    finding = implicit.read_label(path)
    assert finding.verdict is Verdict.COMPLIANT, finding.problems
    assert finding.label == THIRD_PARTY


def test_an_unquoted_number_label_is_reported_non_compliant(tmp_path: Path) -> None:
    path = tmp_path / "number.md"
    path.write_text(
        "---\nAIGC:\n  Label: 1\n  ContentProducer: 001191110102MACQD9K64010000\n  ProduceID: x\n---\n"
    )
    finding = implicit.read_label(path)
    assert finding.verdict is Verdict.NON_COMPLIANT
    assert any("number" in problem for problem in finding.problems)


def test_a_broken_entry_is_inconclusive_not_ignored(tmp_path: Path) -> None:
    path = tmp_path / "broken.md"
    path.write_text("---\nAIGC:\n  - Label\n  - 1\n---\nbody\n")
    assert implicit.read_label(path).verdict is Verdict.INCONCLUSIVE


def test_duplicate_entries_are_reported_and_a_write_leaves_one(label: AIGCLabel, tmp_path: Path) -> None:
    path = tmp_path / "twice.md"
    entry = "AIGC: " + THIRD_PARTY.to_json() + "\n"
    path.write_text("---\n" + entry + "title: t\n" + entry + "---\nbody\n")
    finding = implicit.read_label(path)
    assert finding.verdict is Verdict.NON_COMPLIANT and len(finding.carriers) == 2
    implicit.write_label(path, label)
    finding = implicit.read_label(path)
    assert finding.verdict is Verdict.COMPLIANT and len(finding.carriers) == 1
    assert path.read_text().startswith("---\ntitle: t\nAIGC:\n")


def test_dashes_that_never_close_are_not_front_matter(label: AIGCLabel, tmp_path: Path) -> None:
    path = tmp_path / "rule.md"
    path.write_bytes(b"---\nA thematic break, then text.\n")
    implicit.write_label(path, label)
    data = path.read_bytes()
    assert data.endswith(b"---\n---\nA thematic break, then text.\n")
    assert implicit.read_label(path).label == label


def test_toml_front_matter_is_refused_and_the_file_unchanged(label: AIGCLabel, tmp_path: Path) -> None:
    path = tmp_path / "hugo.md"
    path.write_bytes(b'+++\ntitle = "x"\n+++\nbody\n')
    with pytest.raises(UnsupportedFormat):
        implicit.write_label(path, label)
    assert path.read_bytes() == b'+++\ntitle = "x"\n+++\nbody\n'


def test_content_digest_changes_when_the_body_or_another_key_changes(
    label: AIGCLabel, tmp_path: Path
) -> None:
    path = SAMPLES["post.md"](tmp_path)
    implicit.write_label(path, label)
    digest = implicit.content_digest(path)
    labelled = path.read_bytes()
    path.write_bytes(labelled.replace(b"Body text.", b"Body text!"))
    assert implicit.content_digest(path) != digest
    path.write_bytes(labelled.replace(b"title: A post", b"title: A pest"))
    assert implicit.content_digest(path) != digest
