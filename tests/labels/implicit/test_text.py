"""Plain text: the trailer line ``AIGC: {json}`` (our carrier, labels.md), and how the three text
formats are told apart."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from synthguard.errors import UnsupportedFormat
from synthguard.labels import implicit
from synthguard.labels.implicit import text
from synthguard.labels.model import AIGCLabel, Verdict
from tests.conftest import PLATFORM
from tests.media.documents import CRLF_TXT, NOTES_TXT, SAMPLES, THIRD_PARTY


def test_the_label_is_a_last_line_after_the_text(label: AIGCLabel, tmp_path: Path) -> None:
    path = SAMPLES["notes.txt"](tmp_path)
    implicit.write_label(path, label)
    assert path.read_bytes() == NOTES_TXT + b"\nAIGC: " + label.to_json().encode() + b"\n"
    assert path.read_text(encoding="utf-8").splitlines()[-1] == "AIGC: " + label.to_json()


def test_crlf_line_ends_and_the_bom_are_kept(label: AIGCLabel, tmp_path: Path) -> None:
    path = SAMPLES["notes-crlf.txt"](tmp_path)
    implicit.write_label(path, label)
    assert path.read_bytes() == CRLF_TXT + b"\r\nAIGC: " + label.to_json().encode() + b"\r\n"


def test_rewriting_replaces_the_line_and_the_text_stays_a_prefix(label: AIGCLabel, tmp_path: Path) -> None:
    path = SAMPLES["notes-crlf.txt"](tmp_path)
    implicit.write_label(path, label)
    second = label.replace(ContentPropagator=PLATFORM, PropagateID="p-1")
    implicit.write_label(path, second)
    assert path.read_bytes() == CRLF_TXT + b"\r\nAIGC: " + second.to_json().encode() + b"\r\n"


def test_a_line_appended_by_the_shell_is_read_and_duplicates_collapse(
    label: AIGCLabel, tmp_path: Path
) -> None:
    path = SAMPLES["notes.txt"](tmp_path)
    line = "AIGC: " + THIRD_PARTY.to_json()
    subprocess.run(
        ["sh", "-c", 'printf "\\n%s\\n%s\\n\\n" "$1" "$1" >> "$2"', "sh", line, str(path)], check=True
    )
    finding = implicit.read_label(path)
    assert finding.verdict is Verdict.NON_COMPLIANT and len(finding.carriers) == 2
    assert finding.label == THIRD_PARTY
    implicit.write_label(path, label)
    assert path.read_bytes() == NOTES_TXT + b"\nAIGC: " + label.to_json().encode() + b"\n"


def test_a_mention_of_aigc_inside_the_text_is_not_a_carrier(tmp_path: Path) -> None:
    path = tmp_path / "mention.txt"
    path.write_text("AIGC: {} is how the label looks.\nThe end.\n")
    assert implicit.read_label(path).verdict is Verdict.ABSENT


class _CountingFile(io.FileIO):
    bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data


def test_reading_looks_only_at_the_tail(label: AIGCLabel, tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_bytes(b"a long generated answer\n" * 200_000)
    implicit.write_label(path, label)
    with _CountingFile(path) as src:
        assert [raw.text for raw in text.read(src)] == [label.to_json()]  # type: ignore[arg-type]
        assert src.bytes_read <= 64 * 1024


def test_content_digest_changes_when_the_text_changes(label: AIGCLabel, tmp_path: Path) -> None:
    path = SAMPLES["notes.txt"](tmp_path)
    implicit.write_label(path, label)
    digest = implicit.content_digest(path)
    path.write_bytes(path.read_bytes().replace(b"plain", b"Plain"))
    assert implicit.content_digest(path) != digest


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.md", "Markdown"),
        ("a.markdown", "Markdown"),
        ("a.html", "HTML"),
        ("a.htm", "HTML"),
        ("a.txt", "Text"),
    ],
)
def test_the_extension_decides_between_text_formats(name: str, fmt: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_text("# Heading\n<p>text</p>\n")
    assert implicit.identify_path(path).name == fmt


def test_only_text_extensions_are_treated_as_plain_text(tmp_path: Path) -> None:
    path = tmp_path / "answer.log"
    path.write_text("plain words\n")
    assert implicit.identify_path(path).name == "Text"
    data = tmp_path / "answer.json"
    data.write_text('{"a": 1}\n')
    with pytest.raises(UnsupportedFormat):
        implicit.identify_path(data)


@pytest.mark.parametrize(
    "data", [b"text\x00with a NUL", b"\xfe\xff\x00U\x00T\x00F\x00-\x001\x006", b"\x01\x02\x03binary"]
)
def test_binary_bytes_are_not_taken_for_text(data: bytes, label: AIGCLabel, tmp_path: Path) -> None:
    path = tmp_path / "binary.txt"
    path.write_bytes(data)
    with pytest.raises(UnsupportedFormat):
        implicit.write_label(path, label)
    assert path.read_bytes() == data
