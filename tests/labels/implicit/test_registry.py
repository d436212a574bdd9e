"""Format identification: magic bytes decide; text formats only by their own extensions."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthguard.errors import CorruptFile, UnsupportedFormat
from synthguard.labels import implicit


@pytest.mark.parametrize("name", ["data.json", "table.csv", "script.py", "noext"])
def test_utf8_files_with_other_extensions_are_not_treated_as_text(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_text('{"a": 1}\n', encoding="utf-8")
    with pytest.raises(UnsupportedFormat):
        implicit.identify_path(path)


@pytest.mark.parametrize(("name", "fmt"), [("a.txt", "Text"), ("a.md", "Markdown"), ("a.html", "HTML")])
def test_text_formats_are_chosen_by_extension(name: str, fmt: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_text("hello\n", encoding="utf-8")
    assert implicit.identify_path(path).name.lower() == fmt.lower()


def test_utf16_text_is_not_mistaken_for_mp3(tmp_path: Path) -> None:
    path = tmp_path / "notes.bin"
    path.write_bytes("AIGC notes".encode("utf-16"))
    with pytest.raises(UnsupportedFormat):
        implicit.identify_path(path)


def test_empty_file_is_corrupt_not_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(CorruptFile, match="empty"):
        implicit.identify_path(path)


def test_magic_beats_a_wrong_extension(tmp_path: Path) -> None:
    from tests.conftest import make_png

    path = tmp_path / "photo.jpg"
    path.write_bytes(make_png(tmp_path / "real.png").read_bytes())
    assert implicit.identify_path(path).name == "PNG"
