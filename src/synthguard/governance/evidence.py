"""Evidence files (consent recordings, assessment attachments), stored once by SHA-256.

Files live under ``<data_dir>/evidence/ab/<sha256>`` and are written atomically; the store keeps
name, size and uploader. Only document, image, audio and video types are accepted, checked by
magic bytes rather than trusting the name, because these files are later opened by inspectors.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session, sessionmaker

from synthguard.errors import InvalidField, RequestTooLarge, UnsupportedFormat
from synthguard.governance._common import Actor, text_field
from synthguard.labels.implicit import atomic_write
from synthguard.store.models import GovEvidence

# (magic prefix, offset) -> kind; enough to refuse executables, archives and HTML.
_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"%PDF-", 0, "pdf"),
    (b"\xff\xd8\xff", 0, "jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"GIF8", 0, "gif"),
    (b"RIFF", 0, "riff"),  # WAV, WebP, AVI
    (b"ID3", 0, "mp3"),
    (b"\xff\xfb", 0, "mp3"),
    (b"fLaC", 0, "flac"),
    (b"OggS", 0, "ogg"),
    (b"ftyp", 4, "isobmff"),  # MP4, MOV, M4A, HEIC
    (b"\x1a\x45\xdf\xa3", 0, "matroska"),
)


def evidence_kind(head: bytes) -> str:
    for magic, offset, kind in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return kind
    raise UnsupportedFormat(
        "evidence must be a PDF, image, audio or video file",
        message_zh="证据文件须为 PDF、图片、音频或视频",
    )


class EvidenceStore:
    def __init__(self, sessions: sessionmaker[Session], folder: Path, max_bytes: int) -> None:
        self.sessions = sessions
        self.folder = folder
        self.max_bytes = max_bytes

    def path(self, sha256: str) -> Path:
        return self.folder / sha256[:2] / sha256

    def put(self, actor: Actor, data: bytes, name: str) -> str:
        if len(data) > self.max_bytes:
            raise RequestTooLarge(
                f"evidence file is {len(data)} bytes; the limit is {self.max_bytes}",
                message_zh=f"证据文件为 {len(data)} 字节，超过上限 {self.max_bytes} 字节",
            )
        if not data:
            raise InvalidField("the evidence file is empty", message_zh="证据文件为空")
        evidence_kind(data[:16])
        clean = text_field(name, "file name", max_chars=255, multiline=False)
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)

            def produce(out: BinaryIO) -> None:
                out.write(data)

            atomic_write(target, produce)
        with self.sessions.begin() as session:
            if session.get(GovEvidence, digest) is None:
                session.add(GovEvidence(sha256=digest, name=clean, size=len(data), uploaded_by=actor.name))
        return digest

    def get(self, sha256: str) -> GovEvidence | None:
        with self.sessions() as session:
            return session.get(GovEvidence, sha256)
