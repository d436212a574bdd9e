"""What a human reviewer must see of a queued item (its text, its image/audio/video), sealed at rest.

Requirements "Logs": personal data is stored encrypted. A queued item holds exactly that: a user's
prompt or a model's answer, or an uploaded face. This module reuses the ledger's scheme
(:mod:`synthguard.ledger.personal`) rather than adding a third one: the same master key
(``SYNTHGUARD_LEDGER_MASTER_KEY`` or ``<data_dir>/keys/ledger-master.key``, which replicas already
share), one random AES-256-GCM data key per calendar month wrapped under it, each ciphertext bound
to its item and field by the AEAD's associated data, and retention by erasing the sealed columns
and then destroying a month's key once nothing sealed under it is left (crypto-shredding, which
also covers backups). The wrapping key is derived from the master key with HKDF under its own
label, so a review key can never be unwrapped as a ledger key or the other way round.

Media is kept only up to ``review_media_max_bytes`` (20 MB by default); a larger item keeps its
SHA-256 digest and says so. Its media type is *sniffed from the bytes* against a short list of
formats a browser plays inline (never SVG or HTML, which can carry script); anything else is kept
as ``application/octet-stream`` and offered only as a download.
"""

from __future__ import annotations

import datetime as dt
import os
import threading

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from synthguard.config import Settings
from synthguard.errors import SynthguardError
from synthguard.ledger.personal import NONCE_BYTES, load_master_key, unwrap_data_key
from synthguard.store.models import ReviewDataKey, utcnow

OCTET_STREAM = "application/octet-stream"
# (offset, signature, media type): formats Chromium, Firefox and Safari play in <img>/<audio>/<video>.
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"BM", "image/bmp"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"OggS", "audio/ogg"),
    (0, b"fLaC", "audio/flac"),
    (0, b"\x1a\x45\xdf\xa3", "video/webm"),
)
INLINE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/bmp",
        "image/webp",
        "audio/mpeg",
        "audio/ogg",
        "audio/flac",
        "audio/wav",
        "audio/mp4",
        "video/mp4",
        "video/webm",
    }
)


def sniff_media_type(data: bytes) -> str:
    """The media type the bytes really are, if a browser may show them inline; else octet-stream.

    The declared modality or file name is never trusted: a "picture" that is really an SVG or an
    HTML page must not reach the reviewer's browser as something it renders."""
    head = data[:64]
    for offset, signature, media_type in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if len(head) >= 3 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06:
        return "audio/mpeg"  # an MPEG audio frame sync without an ID3 tag
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return "audio/mp4" if brand in (b"M4A ", b"M4B ") else "video/mp4"
    return OCTET_STREAM


def period_of(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m")


def _aad(item_id: int, period: str, field: str) -> bytes:
    # Binding each ciphertext to its item and field stops a sealed text being moved to another item.
    return f"synthguard/review/payload/v1/{item_id}/{period}/{field}".encode()


class ReviewVault:
    """Seals and opens the payload fields of review items under per-month data keys."""

    def __init__(self, master_key: bytes) -> None:
        wrap_key = HKDF(hashes.SHA256(), 32, salt=None, info=b"synthguard/review/wrap/v1").derive(master_key)
        self._wrap = AESGCM(wrap_key)
        self._keys: dict[str, AESGCM] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> ReviewVault:
        return cls(load_master_key(settings.ledger_master_key, settings.keys_dir))

    def _key(self, session: Session, period: str, *, create: bool) -> AESGCM | None:
        with self._lock:
            cached = self._keys.get(period)
        # A key this transaction made is trusted (and cached for everyone) only after it commits.
        cached = cached or session.info.get("review_new_keys", {}).get(period)
        if cached is not None:
            return cached
        row = session.get(ReviewDataKey, period)
        if row is None:
            if not create:
                return None
            raw = os.urandom(32)
            nonce = os.urandom(NONCE_BYTES)
            wrapped = nonce + self._wrap.encrypt(nonce, raw, period.encode())
            # Two replicas may make the month's first key at once: a nested transaction lets the
            # loser of the primary-key race read the winner's key instead of failing the enqueue.
            from sqlalchemy.exc import IntegrityError

            try:
                with session.begin_nested():
                    session.add(ReviewDataKey(period=period, wrapped=wrapped, created_at=utcnow()))
            except IntegrityError:
                row = session.get(ReviewDataKey, period)
                if row is None or row.wrapped is None:
                    raise
                return self._unwrap(period, bytes(row.wrapped))
            key = AESGCM(raw)
            session.info.setdefault("review_new_keys", {})[period] = key
            return key
        if row.wrapped is None:
            if create:
                raise SynthguardError(
                    f"the review data key of {period} was destroyed by retention",
                    message_zh=f"{period} 的审核数据密钥已按保存期限销毁",
                )
            return None
        key = self._unwrap(period, bytes(row.wrapped))
        with self._lock:
            self._keys[period] = key
        return key

    def _unwrap(self, period: str, wrapped: bytes) -> AESGCM:
        return unwrap_data_key(self._wrap, period, wrapped, what_en="review data key", what_zh="审核数据密钥")

    def seal(self, session: Session, item_id: int, period: str, field: str, plain: bytes) -> bytes:
        key = self._key(session, period, create=True)
        assert key is not None
        nonce = os.urandom(NONCE_BYTES)
        return nonce + key.encrypt(nonce, plain, _aad(item_id, period, field))

    def open(self, session: Session, item_id: int, period: str, field: str, sealed: bytes) -> bytes | None:
        """The plaintext, or None once retention destroyed the month's key."""
        key = self._key(session, period, create=False)
        if key is None:
            return None
        try:
            return key.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _aad(item_id, period, field))
        except InvalidTag:
            raise SynthguardError(
                f"the sealed {field} of review item {item_id} was altered",
                message_zh=f"审核任务 {item_id} 的加密{field}被篡改",
            ) from None

    def destroy_keys(self, session: Session, periods: list[str]) -> None:
        if not periods:
            return
        session.execute(
            update(ReviewDataKey)
            .where(ReviewDataKey.period.in_(periods), ReviewDataKey.wrapped.is_not(None))
            .values(wrapped=None, destroyed_at=utcnow())
        )
        with self._lock:
            for period in periods:
                self._keys.pop(period, None)

    @staticmethod
    def live_periods(session: Session) -> list[str]:
        return list(session.scalars(select(ReviewDataKey.period).where(ReviewDataKey.wrapped.is_not(None))))
