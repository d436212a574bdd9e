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
import errno
import io
import itertools
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from synthguard.errors import UnsupportedFormat
from synthguard.labels.implicit.registry import (
    COPY_CHUNK_BYTES,
    HEAD_BYTES,
    FormatPlugin,
    MemorySource,
    current_digest_algorithm,
    digest_algorithm,
    identify,
)
from synthguard.labels.implicit.verdict import evaluate
from synthguard.labels.model import AIGCLabel, LabelFinding, RawLabel

StrPath = str | os.PathLike[str]

# Files up to this size are read with one system call and parsed from memory: labeling a batch of
# photos is dominated by per-file syscalls, not by bytes. Larger files (video) are streamed.
IN_MEMORY_MAX_BYTES = 16 * 1024 * 1024


def open_source(path: StrPath) -> contextlib.AbstractContextManager[BinaryIO]:
    """``with open_source(path) as src``: the file as a seekable binary stream, in memory when small
    (the file is closed already), else the open file (closed when the block ends).

    The in-memory source also keeps the file's permission bits (see :func:`source_mode`), from the
    same ``fstat`` that gave its size: the labeled copy takes them without another ``stat``. Not a
    generator context manager: entering and leaving one cost more than identifying the format.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if info.st_size > IN_MEMORY_MAX_BYTES:
            return open(fd, "rb")  # a streamed source: its ``with`` closes the file
        source = MemorySource(_read_all(fd, info.st_size), mode=stat.S_IMODE(info.st_mode))
    except BaseException:
        os.close(fd)
        raise
    os.close(fd)
    return contextlib.nullcontext(cast(BinaryIO, source))


def _read_all(fd: int, size: int) -> bytes:
    """Everything left in ``fd``: one ``read`` when the file is still ``size`` bytes long.

    A regular file's read returns less than asked only at its end, so asking one byte more than
    the size ``fstat`` gave both reads the file and proves it ended there (``readall`` spends a
    second, empty read on that). A file that grew since is read to its new end.
    """
    data = os.read(fd, size + 1)
    if len(data) <= size:
        return data
    parts = [data]
    while chunk := os.read(fd, COPY_CHUNK_BYTES):
        parts.append(chunk)
    return b"".join(parts)


def source_mode(src: BinaryIO) -> int | None:
    """The permission bits of the file ``src`` was opened from (None when unknown)."""
    if isinstance(src, MemorySource):
        return src.permissions
    try:
        return stat.S_IMODE(os.fstat(src.fileno()).st_mode)
    except (OSError, AttributeError, io.UnsupportedOperation):
        return None


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
    if current_digest_algorithm() == algorithm:  # no context to enter (it costs a tenth of a parse)
        return plugin.content_digest(src)
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
    target: StrPath,
    *,
    fsync: bool = True,
    like: Path | None = None,
    mode: int | None = None,
) -> Staged:
    """The labeled file written beside ``target`` but not renamed yet: ``commit()`` or ``discard()`` it.

    The result takes permission bits ``mode``, or else those of the file ``like`` (the source).
    """
    write = plugin.write
    if write is None:
        raise UnsupportedFormat(
            f"{plugin.name}: synthguard reads labels in this format but cannot write them",
            message_zh=f"{plugin.name} 格式仅支持读取隐式标识，暂不支持写入",
        )
    src.seek(0)
    if mode is None:
        mode = _mode_of(like)
    return stage_write(target, lambda dst: write(src, dst, label), fsync=fsync, mode=mode, gather=True)


@dataclass(frozen=True, slots=True)
class Staged:
    """A complete new file in a temp file beside ``target``; nothing at ``target`` has changed yet."""

    tmp: str  # only ever handed to os functions: a str saves building a Path per file
    target: StrPath
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
    target: StrPath,
    produce: Callable[[BinaryIO], None],
    *,
    fsync: bool = True,
    mode: int | None = None,
    gather: bool = False,
) -> Staged:
    """Run ``produce(dst)`` into a temp file beside ``target`` (same filesystem, so the rename is atomic).

    ``gather``: ``dst`` only supports ``write`` and ``tell`` (see :class:`GatherWriter`), which is
    all a format plugin's ``write`` uses; other producers (encoders) get a full buffered file.
    """
    fd, tmp_name = _create_temp(target)
    try:
        if gather:
            try:
                writer = GatherWriter(fd)
                produce(cast(BinaryIO, writer))
                writer.flush()
                size = writer.tell()
                _finish(fd, mode, fsync)
            finally:
                os.close(fd)
        else:
            with os.fdopen(fd, "wb") as dst:
                produce(dst)
                dst.flush()
                size = dst.tell()
                _finish(fd, mode, fsync)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    return Staged(tmp_name, target, size)


def _finish(fd: int, mode: int | None, fsync: bool) -> None:
    if mode is not None:
        with contextlib.suppress(OSError):
            os.fchmod(fd, mode)
    if fsync:
        os.fsync(fd)


class GatherWriter:
    """A write-only file that hands what it is given to the kernel in one ``writev`` per ~1 MiB.

    Why: a label write is a few small new pieces (a segment header, the XMP packet) around large
    slices of a source held in memory. ``BufferedWriter`` copies the small pieces into its buffer
    and makes a system call for each large one; this keeps references instead (``bytes`` and
    read-only views are immutable, anything else is copied) and writes them all at once.
    """

    __slots__ = ("fd", "pending", "pieces", "position")

    FLUSH_BYTES = 1 << 20
    FLUSH_PIECES = 512  # below IOV_MAX (1024 on Linux)

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.pieces: list[bytes | memoryview] = []
        self.pending = 0
        self.position = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if isinstance(data, bytes):
            size = len(data)
            piece: bytes | memoryview = data
        elif isinstance(data, memoryview) and data.readonly and data.contiguous:
            size = data.nbytes
            piece = data
        else:  # a mutable buffer may change after write() returns: keep a copy
            piece = bytes(data)
            size = len(piece)
        if size:
            self.pieces.append(piece)
            self.pending += size
            self.position += size
            if self.pending >= self.FLUSH_BYTES or len(self.pieces) >= self.FLUSH_PIECES:
                self.flush()
        return size

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pieces, left = self.pieces, self.pending
        if pieces:
            written = os.writev(self.fd, pieces)
            while written != left:  # a short write: the rest goes in another call
                pieces = _unwritten(pieces, written)
                left -= written
                written = os.writev(self.fd, pieces)
        self.pieces = []
        self.pending = 0


def _unwritten(pieces: list[bytes | memoryview], written: int) -> list[bytes | memoryview]:
    """What a ``writev`` that wrote ``written`` bytes (a short write: a signal, a full disk) left."""
    if written <= 0:
        raise OSError(errno.EIO, "the system wrote nothing of a non-empty write")
    for index, piece in enumerate(pieces):
        size = len(piece) if isinstance(piece, bytes) else piece.nbytes
        if written < size:
            return [memoryview(piece)[written:], *pieces[index + 1 :]]
        written -= size
    return []


# Temp names: ``.<target name>.<pid>-<n>.sgtmp``. The pid keeps forked label workers apart and the
# counter keeps one process's files apart; O_EXCL (with a retry) covers a leftover of a crashed run
# with the same pid. ``tempfile.mkstemp`` does the same with random names, at ~25 us of Python per
# file: a tenth of labeling a photo.
_temp_counter = itertools.count()
_TEMP_FLAGS = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
_TEMP_ATTEMPTS = 100


_pid = os.getpid()  # getpid is a system call: asked once per process (and again in a forked child)


def _forked() -> None:
    global _pid
    _pid = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


def _create_temp(target: StrPath) -> tuple[int, str]:
    """A new, empty temp file beside ``target`` (mode 0600, as mkstemp makes it): its fd and name."""
    folder, name = os.path.split(os.fspath(target))
    prefix = os.path.join(folder, f".{name}.{_pid}-")
    for _ in range(_TEMP_ATTEMPTS):
        name = f"{prefix}{next(_temp_counter)}.sgtmp"
        try:
            return os.open(name, _TEMP_FLAGS, 0o600), name
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temp file name beside {target} after {_TEMP_ATTEMPTS} attempts")


def atomic_write(
    target: Path,
    produce: Callable[[BinaryIO], None],
    *,
    fsync: bool = True,
    like: Path | None = None,
) -> None:
    """Run ``produce(dst)`` into a temp file beside ``target``, then rename it over ``target``."""
    stage_write(target, produce, fsync=fsync, mode=_mode_of(like)).commit()
