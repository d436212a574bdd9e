"""One call for any file: pick the renderer by content (image, audio, video, text) and apply it.

This is what ``Synthguard.label_file(..., explicit=...)``, ``synthguard label --explicit`` and
``POST /v1/labels?explicit=true`` use: the explicit label is rendered into a staged copy next to the
target, the implicit label is then written from that copy to the target (GB 45438-2025 asks for
both, and Labeling Measures Art. 4 asks that an exported file carry the explicit label inside it).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from synthguard.errors import CorruptFile, UnsupportedFormat
from synthguard.labels.explicit.audio import AudioLabelOptions, label_audio
from synthguard.labels.explicit.image import ImageLabelOptions, label_image
from synthguard.labels.explicit.notice import Notice
from synthguard.labels.explicit.text import TextLabelOptions, label_text_file
from synthguard.labels.explicit.video import DEFAULT_SECONDS, VideoLabelOptions, is_cover_art, label_video

TEXT_EXTENSIONS = {".txt", ".text", ".md", ".markdown", ".mdx", ".html", ".htm", ".xhtml"}
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*", b"BM")
_AUDIO_MAGIC = (b"fLaC", b"ID3", b"OggS", b"FORM")


@dataclass(frozen=True)
class ExplicitOptions:
    """Options for every modality; each renderer takes the fields that apply to it."""

    notice: Notice = field(default_factory=Notice)
    position: str | None = None  # None: bottom-right on pictures, start for text and audio
    height_ratio: float = 0.05
    seed: str = ""  # drives position "vary"; the core passes the content ID
    seconds: float = DEFAULT_SECONDS
    whole: bool = False
    at_end: bool = False
    audio_kind: str = "rhythm+speech"
    audio_mode: str = "splice"

    def image(self) -> ImageLabelOptions:
        return ImageLabelOptions(self.notice, self.position or "bottom-right", self.height_ratio, self.seed)

    def video(self) -> VideoLabelOptions:
        return VideoLabelOptions(
            notice=self.notice,
            position=self.position or "bottom-right",
            height_ratio=self.height_ratio,
            seed=self.seed,
            seconds=self.seconds,
            whole=self.whole,
            at_end=self.at_end,
        )

    def audio(self) -> AudioLabelOptions:
        position = self.position if self.position in ("start", "end", "middle") else "start"
        return AudioLabelOptions(self.notice, self.audio_kind, position, mode=self.audio_mode)

    def text(self) -> TextLabelOptions:
        position = self.position if self.position in ("start", "end", "middle") else "start"
        return TextLabelOptions(self.notice, position)

    def with_seed(self, seed: str) -> ExplicitOptions:
        return replace(self, seed=self.seed or seed)

    def validate(self) -> None:
        """Fail fast on options no renderer accepts (before any work on a file)."""
        self.text()
        self.audio()
        if self.position not in ("start", "end", "middle"):
            self.image()
            self.video()


@dataclass(frozen=True)
class ExplicitResult:
    kind: str  # image | audio | video | text
    path: str
    detail: dict[str, Any]


def media_kind(path: str | os.PathLike[str]) -> str:
    """image, audio, video or text, from the first bytes (and a probe for ambiguous containers)."""
    source = Path(path)
    with open(source, "rb") as f:
        head = f.read(64)
    if not head:
        raise CorruptFile("file", f"{source.name} is empty (0 bytes)")
    if head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio"
    if head.startswith(_AUDIO_MAGIC) or (head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio"
    if source.suffix.lower() in TEXT_EXTENSIONS:
        return "text"
    return _probe(source)


def _probe(source: Path) -> str:
    import av

    try:
        with av.open(str(source)) as container:
            if any(not is_cover_art(s) for s in container.streams.video):
                return "video"
            if container.streams.audio:
                return "audio"
    except (av.error.FFmpegError, UnicodeDecodeError):
        pass
    raise UnsupportedFormat(
        f"{source.name}: not an image, audio, video or text file synthguard can label explicitly",
        message_zh=f"{source.name}：无法识别为可添加显式标识的图片、音频、视频或文本",
    )


def apply_explicit(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str] | None = None,
    options: ExplicitOptions | None = None,
    *,
    progress: Callable[[float], None] | None = None,
    fsync: bool = True,
) -> ExplicitResult:
    """Render the explicit label into ``dst`` (None: in place), atomically; the kind is detected."""
    options = options or ExplicitOptions()
    source = Path(src)
    target = Path(dst) if dst is not None else source
    kind = media_kind(source)
    detail: Any
    if kind == "image":
        detail = label_image(source, target, options.image(), fsync=fsync)
    elif kind == "video":
        detail = label_video(source, target, options.video(), progress=progress, fsync=fsync)
    elif kind == "audio":
        detail = label_audio(source, target, options.audio(), fsync=fsync)
    else:
        fmt = label_text_file(source, target, options.text(), fsync=fsync)
        detail = {"format": fmt}
    return ExplicitResult(kind, str(target), detail if isinstance(detail, dict) else asdict(detail))


@contextlib.contextmanager
def staged_explicit(
    src: Path,
    target: Path,
    options: ExplicitOptions,
    *,
    progress: Callable[[float], None] | None = None,
) -> Iterator[tuple[Path, ExplicitResult]]:
    """The explicitly labeled copy of ``src`` in a temp file beside ``target``; removed afterwards."""
    fd, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".explicit{src.suffix}", dir=target.parent)
    os.close(fd)
    staged = Path(name)
    try:
        result = apply_explicit(src, staged, options, progress=progress, fsync=False)
        yield staged, result
    finally:
        with contextlib.suppress(FileNotFoundError):
            staged.unlink()
