"""Path-level operations every format shares: identify, read, atomic write, content digest.

A write opens the source, lets the plugin write the whole new file into a temporary file in the
destination folder, optionally fsyncs it, and renames it into place (``os.replace``), so a crash or
a bad file never leaves a half-written result and the original is untouched on any error.

The two halves are also available apart (:func:`stage_opened` returns a :class:`Staged` temp file,
:meth:`Staged.commit` renames it): the labeler commits a batch's store records first and renames
the files after, so no labeled file ever exists without its committed record (see ``core.py``).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from synthguard.errors import UnsupportedFormat
from synthguard.labels.implicit.registry import (
    HEAD_BYTES,
    FormatPlugin,
    MemorySource,
    digest_algorithm,
    identify,
)
from synthguard.labels.implicit.verdict import evaluate
from synthguard.labels.model import AIGCLabel, LabelFinding, RawLabel

# Files up to this size are read with one system call and parsed from memory: labeling a batch of
# photos is dominated by per-file syscalls, not by bytes. Larger files (video) are streamed.
IN_MEMORY_MAX_BYTES = 16 * 1024 * 1024


@contextlib.contextmanager
def open_source(path: Path) -> Iterator[BinaryIO]:
    """The file as a seekable binary stream: in memory when small, the open file otherwise."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size <= IN_MEMORY_MAX_BYTES:
            yield MemorySource(handle.read())
        else:
            yield handle


def open_plugin(src: BinaryIO, filename: str = "") -> FormatPlugin:
    head = src.read(HEAD_BYTES)
    src.seek(0)
    return identify(head, filename)


def identify_path(path: Path) -> FormatPlugin:
    with open(path, "rb") as src:
        return open_plugin(src, path.name)


def read_raw(path: Path) -> tuple[FormatPlugin, list[RawLabel]]:
    with open(path, "rb") as src:
        plugin = open_plugin(src, path.name)
        return plugin, plugin.read(src)


def read_label(path: str | os.PathLike[str]) -> LabelFinding:
    """The implicit-label verdict for one file (reads only headers and metadata where it can)."""
    plugin, raws = read_raw(Path(path))
    return evaluate(plugin.name, raws)


def content_digest(path: str | os.PathLike[str], algorithm: str = "sha256") -> bytes:
    """The digest of the file's content bytes, excluding every metadata slot (see each format module)."""
    path = Path(path)
    with open(path, "rb") as src:
        return digest_opened(open_plugin(src, path.name), src, algorithm)


def digest_opened(plugin: FormatPlugin, src: BinaryIO, algorithm: str = "sha256") -> bytes:
    """``content_digest`` of a source the caller already opened and identified."""
    with digest_algorithm(algorithm):
        return plugin.content_digest(src)


def write_label(
    path: str | os.PathLike[str],
    label: AIGCLabel,
    out: str | os.PathLike[str] | None = None,
    *,
    fsync: bool = True,
) -> Path:
    """Write ``label`` into ``path`` (in place) or ``out``; atomic either way. Returns the written path."""
    source = Path(path)
    target = Path(out) if out is not None else source
    with open_source(source) as src:
        write_opened(open_plugin(src, source.name), src, label, target, fsync=fsync, like=source)
    return target


def write_opened(
    plugin: FormatPlugin,
    src: BinaryIO,
    label: AIGCLabel,
    target: Path,
    *,
    fsync: bool = True,
    like: Path | None = None,
) -> None:
    """``write_label`` for a source the caller already opened and identified (one parse per file)."""
    stage_opened(plugin, src, label, target, fsync=fsync, like=like).commit()


def stage_opened(
    plugin: FormatPlugin,
    src: BinaryIO,
    label: AIGCLabel,
    target: Path,
    *,
    fsync: bool = True,
    like: Path | None = None,
) -> Staged:
    """The labeled file written beside ``target`` but not renamed yet: ``commit()`` or ``discard()`` it.

    ``like``: the file whose permission bits the result takes (the source).
    """
    write = plugin.write
    if write is None:
        raise UnsupportedFormat(
            f"{plugin.name}: synthguard reads labels in this format but cannot write them",
            message_zh=f"{plugin.name} 格式仅支持读取隐式标识，暂不支持写入",
        )
    src.seek(0)
    return stage_write(target, lambda dst: write(src, dst, label), fsync=fsync, mode=_mode_of(like))


@dataclass(frozen=True, slots=True)
class Staged:
    """A complete new file in a temp file beside ``target``; nothing at ``target`` has changed yet."""

    tmp: Path
    target: Path
    size: int

    def commit(self) -> None:
        """Rename it over ``target`` (atomic: readers see the old file or the new one, never a mix)."""
        try:
            os.replace(self.tmp, self.target)
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)


def _mode_of(like: Path | None) -> int | None:
    if like is None:
        return None
    try:
        return os.stat(like).st_mode & 0o7777
    except OSError:
        return None


def stage_write(
    target: Path,
    produce: Callable[[BinaryIO], None],
    *,
    fsync: bool = True,
    mode: int | None = None,
) -> Staged:
    """Run ``produce(dst)`` into a temp file beside ``target`` (same filesystem, so the rename is atomic)."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".sgtmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as dst:
            produce(dst)
            dst.flush()
            size = dst.tell()
            if mode is not None:
                with contextlib.suppress(OSError):
                    os.fchmod(dst.fileno(), mode)
            if fsync:
                os.fsync(dst.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    return Staged(Path(tmp_name), target, size)


def atomic_write(
    target: Path,
    produce: Callable[[BinaryIO], None],
    *,
    fsync: bool = True,
    like: Path | None = None,
) -> None:
    """Run ``produce(dst)`` into a temp file beside ``target``, then rename it over ``target``."""
    stage_write(target, produce, fsync=fsync, mode=_mode_of(like)).commit()
