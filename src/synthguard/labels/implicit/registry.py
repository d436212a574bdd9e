"""The format registry: one plugin per file format, chosen by magic bytes.

Modelled on Pillow's plugins and mutagen's interface. A format module ends with
``PLUGIN = FormatPlugin(...)`` and never opens a path: it reads from and writes to file objects, and
``synthguard.labels.implicit`` does the temp-file-and-rename once for every format. ``PLUGINS`` below is
the only list of formats; tests iterate it. Plugins raise ``CorruptFile`` for broken structure; the
registry catches nothing, so a plugin bug surfaces as itself, never as "unsupported".
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from collections.abc import Callable, Collection, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import BinaryIO, Protocol, TypeVar

import blake3

from synthguard.errors import CorruptFile, UnsupportedFormat
from synthguard.labels.model import AIGCLabel, RawLabel

HEAD_BYTES = 64
COPY_CHUNK_BYTES = 1 << 20
T = TypeVar("T")


class Hasher(Protocol):
    def update(self, data: bytes | bytearray | memoryview, /) -> object: ...

    def digest(self) -> bytes: ...


# Content digest algorithms a signature can name (see synthguard.labels.sign: SG1 sha256, SG2 blake3).
CONTENT_DIGESTS: dict[str, Callable[[], Hasher]] = {"sha256": hashlib.sha256, "blake3": blake3.blake3}
# Which one ``content_digest`` computes. A context variable rather than a parameter of every format
# module's ``content_digest``: the selection rule (which bytes) is the format's, the algorithm is the
# caller's, and most callers want the default.
_content_algorithm: ContextVar[str] = ContextVar("content_algorithm", default="sha256")


def content_hasher(prefix: bytes | bytearray = b"") -> Hasher:
    """A hasher for the content digest being computed (format modules call this, never hashlib)."""
    hasher = CONTENT_DIGESTS[_content_algorithm.get()]()
    if prefix:
        hasher.update(prefix)
    return hasher


def current_digest_algorithm() -> str:
    """The content digest algorithm ``content_digest`` calls compute here and now."""
    return _content_algorithm.get()


@contextlib.contextmanager
def digest_algorithm(algorithm: str) -> Iterator[None]:
    """``content_digest`` calls inside the block compute ``algorithm`` ("sha256", "blake3")."""
    if algorithm not in CONTENT_DIGESTS:
        raise ValueError(f"unknown content digest {algorithm!r}; known: {', '.join(CONTENT_DIGESTS)}")
    token = _content_algorithm.set(algorithm)
    try:
        yield
    finally:
        _content_algorithm.reset(token)


@dataclass(frozen=True)
class FormatPlugin:
    """What synthguard knows about one file format.

    * ``accept(head)`` looks only at the first ``HEAD_BYTES`` bytes.
    * ``read(src)`` returns every AIGC carrier found (duplicates are a verdict, not an error).
    * ``write(src, dst, label)`` writes the whole file to ``dst`` with exactly one label in the
      format's carrier; only metadata bytes differ from ``src``. ``None`` for read-only formats.
    * ``content_digest(src)`` hashes the bytes that carry the content, excluding every metadata
      slot, so labeling and propagating never change it; the module docstring states the selection
      rule. The algorithm is the caller's (:func:`digest_algorithm`, SHA-256 by default).
    """

    name: str
    extensions: tuple[str, ...]
    mime: str
    carrier: str
    accept: Callable[[bytes], bool]
    read: Callable[[BinaryIO], list[RawLabel]]
    write: Callable[[BinaryIO, BinaryIO, AIGCLabel], None] | None
    content_digest: Callable[[BinaryIO], bytes]
    # Text formats have no magic bytes: any UTF-8 head passes ``accept``. They are chosen only by their
    # own extensions, so a .json or .csv file is never "labeled" with a trailer that breaks it.
    needs_extension: bool = False

    @property
    def writable(self) -> bool:
        return self.write is not None


def _plugins() -> tuple[FormatPlugin, ...]:
    # Imported here, not at module import, so importing the registry has no side effects and the
    # order below (most specific magic first) is the only ordering that matters.
    from synthguard.labels.implicit import formats

    return formats.PLUGINS


_cache: tuple[FormatPlugin, ...] | None = None


def plugins() -> tuple[FormatPlugin, ...]:
    global _cache
    if _cache is None:
        _cache = _plugins()
    return _cache


_ext_cache: dict[str, tuple[FormatPlugin, ...]] | None = None


def _by_extension() -> dict[str, tuple[FormatPlugin, ...]]:
    global _ext_cache
    if _ext_cache is None:
        table: dict[str, list[FormatPlugin]] = {}
        for plugin in plugins():
            for ext in plugin.extensions:
                table.setdefault(ext, []).append(plugin)
        _ext_cache = {ext: tuple(found) for ext, found in table.items()}
    return _ext_cache


def preload() -> None:
    """Import every format module and build the extension table now (before forking workers, so
    each worker does not import them again: ~250 ms of compiling per process)."""
    _by_extension()


def by_name(name: str) -> FormatPlugin:
    for plugin in plugins():
        if plugin.name.lower() == name.lower():
            return plugin
    raise UnsupportedFormat(f"no format named {name!r}")


def identify(head: bytes, filename: str = "", allowed: Collection[str] | None = None) -> FormatPlugin:
    """The plugin for a file: magic bytes decide, the extension breaks ties (text formats)."""
    if not head:
        raise CorruptFile("file", "the file is empty (0 bytes)")
    ext = os.path.splitext(filename)[1].lower().lstrip(".")
    if allowed is None:
        # The answer below is the first plugin, in registry order, that accepts the head and claims
        # the extension, if any does: try just those first (a few magic checks instead of all).
        for plugin in _by_extension().get(ext, ()):
            if plugin.accept(head):
                return plugin
    candidates = [p for p in plugins() if p.accept(head) and (not p.needs_extension or ext in p.extensions)]
    if allowed is not None:
        wanted = {a.lower() for a in allowed}
        candidates = [p for p in candidates if p.name.lower() in wanted]
    if not candidates:
        shown = ext or "no extension"
        raise UnsupportedFormat(
            f"{filename or 'file'} ({shown}): no supported format recognises its first bytes "
            f"{head[:12].hex(' ')}",
            message_zh=f"不支持的文件格式：{filename or '文件'}（{shown}）",
        )
    for plugin in candidates:
        if ext in plugin.extensions:
            return plugin
    return candidates[0]


# --- helpers shared by the format modules -------------------------------------------------------


def read_exact(src: BinaryIO, size: int, fmt: str, what: str) -> bytes:
    """Read exactly ``size`` bytes or raise CorruptFile naming what was being read."""
    offset = src.tell()
    data = src.read(size)
    if len(data) != size:
        raise CorruptFile(fmt, f"truncated {what}: wanted {size} bytes, found {len(data)}", offset=offset)
    return data


class MemorySource(io.BytesIO):
    """A whole small file held in memory, as a stream the format plugins parse like any other.

    It also keeps the ``bytes`` it was made from (``BytesIO`` shares them, it does not copy), so
    :func:`copy_range` and :func:`hash_ranges` hand zero-copy ``memoryview`` slices to ``write`` and
    ``hashlib`` (both release the GIL on large buffers) instead of copying the payload chunk by chunk.
    """

    def __init__(self, data: bytes, mode: int | None = None) -> None:
        super().__init__(data)
        self.view = memoryview(data)
        self.permissions = mode  # permission bits of the file it was read from, when it was one
        self.parsed: dict[object, object] = {}


def parse_once(src: BinaryIO, parse: Callable[[BinaryIO], T]) -> T:
    """``parse(src)``, computed once per in-memory source and then shared.

    Labeling a file digests its content and then writes it, and both start from the same parse of
    the container. ``parse`` must not depend on the stream position and its result must be treated
    as read-only. A streamed (large) source is parsed each time: its parse is a few reads, negligible
    beside copying it.
    """
    if not isinstance(src, MemorySource):
        return parse(src)
    found = src.parsed.get(parse)
    if found is None:
        found = src.parsed[parse] = parse(src)
    return found  # type: ignore[return-value]  # keyed by ``parse``, so it is that parse's T


def _slice(src: MemorySource, start: int, length: int, fmt: str, what: str) -> memoryview:
    size = len(src.view)
    if start + length > size:
        raise CorruptFile(fmt, f"{what}: {start + length - max(start, size)} bytes missing", offset=size)
    src.seek(start + length)
    return src.view[start : start + length]


def copy_range(src: BinaryIO, dst: BinaryIO, start: int, length: int, fmt: str = "file") -> None:
    """Copy ``length`` bytes from ``src`` at ``start`` to the current position of ``dst``."""
    if isinstance(src, MemorySource):
        if length > 0:
            dst.write(_slice(src, start, length, fmt, "truncated"))
        return
    src.seek(start)
    remaining = length
    while remaining > 0:
        chunk = src.read(min(COPY_CHUNK_BYTES, remaining))
        if not chunk:
            raise CorruptFile(fmt, f"truncated: {remaining} bytes missing", offset=start + length - remaining)
        dst.write(chunk)
        remaining -= len(chunk)


def hash_ranges(src: BinaryIO, ranges: list[tuple[int, int]], fmt: str = "file") -> bytes:
    """The content digest (see :func:`digest_algorithm`) over ``(start, length)`` ranges of ``src``."""
    digest = content_hasher()
    if isinstance(src, MemorySource):
        for start, length in ranges:
            if length > 0:
                digest.update(_slice(src, start, length, fmt, "truncated while hashing content"))
        return digest.digest()
    for start, length in ranges:
        src.seek(start)
        remaining = length
        while remaining > 0:
            chunk = src.read(min(COPY_CHUNK_BYTES, remaining))
            if not chunk:
                raise CorruptFile(fmt, "truncated while hashing content", offset=start + length - remaining)
            digest.update(chunk)
            remaining -= len(chunk)
    return digest.digest()


def file_size(src: BinaryIO) -> int:
    here = src.tell()
    size = src.seek(0, os.SEEK_END)
    src.seek(here)
    return size
