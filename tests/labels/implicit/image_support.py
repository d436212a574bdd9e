"""Shared checks for the image plugin tests: exiftool round trips, decoded pixels, byte counting."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageSequence

from synthguard.labels import implicit
from synthguard.labels.model import AIGCLabel, Verdict

# Tags that legitimately differ after a label write (file system, sizes, the label itself).
VOLATILE_TAGS = {
    "SourceFile",
    "System:FileName",
    "System:Directory",
    "System:FileSize",
    "System:FileModifyDate",
    "System:FileAccessDate",
    "System:FileInodeChangeDate",
    "System:FilePermissions",
    "XMP-TC260:AIGC",
    "XMP-x:XMPToolkit",
    "XMP-xmpNote:HasExtendedXMP",
    "ExifTool:Warning",
    "PNG:ImageSize",
    "RIFF:VP8Version",
    "RIFF:WebP_Flags",
    "RIFF:ImageWidth",
    "RIFF:ImageHeight",
    "RIFF:HorizontalScale",
    "RIFF:VerticalScale",
    "RIFF:AlphaPreprocessing",
    "RIFF:AlphaFiltering",
    "RIFF:AlphaCompression",
    "GIF:GIFVersion",
    "GIF:Comment",
}


def exiftool_json(exiftool: list[str], paths: list[Path], *args: str) -> list[dict[str, Any]]:
    result = subprocess.run(
        [*exiftool, "-j", "-a", *args, *map(str, paths)], capture_output=True, text=True, check=False
    )
    assert result.returncode in (0, 1), result.stderr
    data: list[dict[str, Any]] = json.loads(result.stdout)
    by_path = {Path(item["SourceFile"]).name: item for item in data}
    return [by_path[path.name] for path in paths]


def exiftool_labels(exiftool: list[str], paths: list[Path]) -> list[str | None]:
    """The ``XMP-TC260:AIGC`` value exiftool reads from each file (None when it sees none)."""
    return [item.get("AIGC") for item in exiftool_json(exiftool, paths, "-XMP-TC260:AIGC")]


def exiftool_tags(exiftool: list[str], path: Path) -> dict[str, Any]:
    """Every tag exiftool reads, keyed ``group1:name``, without the ones a label write changes."""
    (item,) = exiftool_json(exiftool, [path], "-G1", "-n", "-all")
    return {key: value for key, value in item.items() if key not in VOLATILE_TAGS}


def exiftool_write_label(exiftool: list[str], src: Path, dst: Path, label: AIGCLabel) -> Path:
    """Label ``dst`` (a copy of ``src``) with exiftool and our namespace config, the third-party way.

    Written in place: exiftool 12.57's ``-o`` refuses ``.webp`` targets ("Can't write RIFF files").
    """
    shutil.copyfile(src, dst)
    result = subprocess.run(
        [*exiftool, "-q", "-overwrite_original", f"-XMP-TC260:AIGC={label.to_json()}", str(dst)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return dst


def exiftool_warnings(exiftool: list[str], paths: list[Path]) -> list[set[str]]:
    """What ``exiftool -validate`` complains about, per file."""
    items = exiftool_json(exiftool, paths, "-validate", "-warning", "-error", "-G1")
    return [{str(v) for k, v in item.items() if k.endswith(("Warning", "Error"))} for item in items]


def assert_no_new_warnings(exiftool: list[str], sources: list[Path], outputs: list[Path]) -> None:
    """Labeling may fix what exiftool -validate flags, never add a complaint."""
    before, after = exiftool_warnings(exiftool, sources), exiftool_warnings(exiftool, outputs)
    for src, old, new in zip(sources, before, after, strict=True):
        assert new <= old, f"{src.name}: new exiftool warnings {sorted(new - old)}"


def frames(path: Path) -> list[np.ndarray]:
    """Every decoded frame as an array (Pillow), so pixel identity covers animations too."""
    with Image.open(path) as image:
        return [np.asarray(frame.copy()) for frame in ImageSequence.Iterator(image)]


def assert_same_pixels(before: Path, after: Path) -> None:
    old, new = frames(before), frames(after)
    assert len(old) == len(new)
    for a, b in zip(old, new, strict=True):
        assert a.shape == b.shape
        assert np.array_equal(a, b)


def label_and_copy(src: Path, label: AIGCLabel, folder: Path) -> Path:
    out = folder / f"labelled_{src.name}"
    implicit.write_label(src, label, out, fsync=False)
    return out


class CountingReader(io.RawIOBase):
    """A file that counts the bytes handed out, to prove a read never touches the image data."""

    def __init__(self, path: Path) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 - closed in close()
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        self.bytes_read += len(data)
        return data

    def close(self) -> None:
        self._file.close()
        super().close()


def assert_exiftool_reads_our_labels(
    exiftool: list[str], sources: list[Path], label: AIGCLabel, folder: Path
) -> None:
    """Label every source; exiftool must read our exact JSON from each and warn about nothing new."""
    outs = [label_and_copy(src, label, folder) for src in sources]
    assert exiftool_labels(exiftool, outs) == [label.to_json()] * len(outs)
    assert_no_new_warnings(exiftool, sources, outs)


def assert_we_read_exiftools_label(exiftool: list[str], src: Path, dst: Path, label: AIGCLabel) -> None:
    """exiftool writes the label into a copy of ``src``; we must read it as compliant and see the
    same content digest (exiftool touched only metadata)."""
    theirs = exiftool_write_label(exiftool, src, dst, label)
    finding = implicit.read_label(theirs)
    assert finding.verdict is Verdict.COMPLIANT, finding.problems
    assert finding.label == label
    assert implicit.content_digest(theirs) == implicit.content_digest(src)
