"""Personal data of ledger entries, kept apart from the Merkle leaves and sealed with AES-GCM.

The law pulls two ways: logs must be kept >= 6 months (Cybersecurity Law Art. 21; Labeling
Measures Art. 9), and identifiable records must not be kept longer than needed (GenAI Interim
Measures Art. 11; PIPL Art. 19, 47). So a leaf carries only a *commitment*
``SHA-256(salt || canonical JSON of {user_id, data})`` and the sealed record lives in
``ledger_personal``. The salt is inside the sealed record, so once the record and its key are gone
the commitment points at nobody, while the leaf, and every proof through it, stays valid.

Keys: one random AES-256 data key per calendar month (UTC), wrapped by the master key and kept in
``ledger_data_keys``; retention destroys a month's key (crypto-shredding, which also covers
backups of the sealed rows). The master key comes from ``SYNTHGUARD_LEDGER_MASTER_KEY`` or
``<data_dir>/keys/ledger-master.key`` and must be shared by replicas. User references in the index
column are ``HMAC-SHA-256(k_pseud, user_id)`` with ``k_pseud`` derived from the master key, so
``export --user`` can find a user's entries without storing the identifier in clear.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Connection, Engine, select, update

from synthguard.errors import ConfigError, LedgerError
from synthguard.store.models import LedgerDataKey, LedgerPersonal

if TYPE_CHECKING:
    from synthguard.ledger.log import WriteTx

NONCE_BYTES = 12
SALT_BYTES = 16
MASTER_KEY_FILE = "ledger-master.key"
PSEUDONYM_CACHE = 10_000  # users whose pseudonym is kept (cleared when full)


def period_of(us: int) -> str:
    global _last_period  # entries of one batch share their second: format it once
    second = us // 1_000_000
    cached = _last_period  # one read: another thread may replace it meanwhile
    if cached[0] != second:
        cached = _last_period = (second, datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m"))
    return cached[1]


_last_period: tuple[int, str] = (-1, "")


def commitment(salt: bytes, user_id: str | None, data: Mapping[str, Any] | None) -> str:
    """What the leaf carries: hex SHA-256(salt || canonical JSON). The verifier recomputes it."""
    from synthguard.ledger.log import canonical_json

    return hashlib.sha256(salt + canonical_json({"data": data or {}, "user_id": user_id})).hexdigest()


def load_master_key(setting: str, keys_dir: Path) -> bytes:
    if setting:
        try:
            key = base64.b64decode(setting, validate=True)
        except binascii.Error:
            key = b""
        if len(key) != 32:
            raise ConfigError(
                "SYNTHGUARD_LEDGER_MASTER_KEY must be base64 of 32 bytes",
                message_zh="SYNTHGUARD_LEDGER_MASTER_KEY 必须是 32 字节密钥的 base64",
            )
        return key
    path = keys_dir / MASTER_KEY_FILE
    if not path.exists():
        keys_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(os.urandom(32))
                handle.flush()
                os.fsync(handle.fileno())
        except FileExistsError:
            pass  # another process created it first
    key = path.read_bytes()
    if len(key) != 32:
        raise ConfigError(f"{path} must hold 32 bytes", message_zh=f"{path} 必须是 32 字节密钥")
    return key


def unwrap_data_key(wrap: AESGCM, period: str, wrapped: bytes, *, what_en: str, what_zh: str) -> AESGCM:
    """A month's data key from its stored ``nonce + ciphertext`` (the month bound as associated data,
    so a key cannot be moved to another month); shared by the ledger and the review payloads."""
    try:
        return AESGCM(wrap.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], period.encode()))
    except InvalidTag:
        raise ConfigError(
            f"the ledger master key cannot unwrap the {period} {what_en} (replicas must share it)",
            message_zh=f"账本主密钥无法解开 {period} {what_zh}（各副本须使用同一主密钥）",
        ) from None


class PersonalVault:
    """Seals, opens and erases the personal part of entries (see the module docstring)."""

    def __init__(self, engine: Engine, master_key: bytes) -> None:
        self.engine = engine
        self._wrap = AESGCM(master_key)
        self._pseud_key = HKDF(hashes.SHA256(), 32, salt=None, info=b"synthguard/ledger/pseudonym/v1").derive(
            master_key
        )
        self._keys: dict[str, AESGCM] = {}
        self._pseudonyms: dict[str, str] = {}
        self._pending: dict[str, AESGCM] = {}
        self._lock = threading.Lock()

    def pseudonym(self, user_id: str) -> str:
        # Every gateway entry names its user: the keyed hash is computed once per user.
        found = self._pseudonyms.get(user_id)
        if found is None:
            found = hmac.new(self._pseud_key, user_id.encode("utf-8"), hashlib.sha256).hexdigest()
            if len(self._pseudonyms) >= PSEUDONYM_CACHE:
                self._pseudonyms.clear()
            self._pseudonyms[user_id] = found
        return found

    def _data_key(self, conn: Connection, period: str) -> AESGCM | None:
        """The period's key for reading (None once retention destroyed it)."""
        with self._lock:
            cached = self._keys.get(period)
        if cached is not None:
            return cached
        row = conn.execute(
            select(*LedgerDataKey.__table__.c).where(LedgerDataKey.period == period)
        ).one_or_none()
        if row is None or row.wrapped is None:
            return None
        key = self._unwrap(period, bytes(row.wrapped))
        with self._lock:
            self._keys[period] = key
        return key

    def _append_key(self, tx: WriteTx, period: str) -> AESGCM:
        """The period's key for sealing inside an append transaction, made on the month's first entry."""
        with self._lock:
            cached = self._keys.get(period) or self._pending.get(period)
        if cached is not None:
            return cached
        row = tx.one(f"SELECT wrapped FROM ledger_data_keys WHERE period = {tx.mark}", (period,))
        if row is None:
            raw = os.urandom(32)
            nonce = os.urandom(NONCE_BYTES)
            wrapped = nonce + self._wrap.encrypt(nonce, raw, period.encode())
            from synthguard.ledger.log import now_us

            tx.cur.execute(
                "INSERT INTO ledger_data_keys (period, wrapped, created_at_us, destroyed_at_us) "
                f"VALUES ({tx.marks(4)})",
                (period, wrapped, now_us(), None),
            )
            key = AESGCM(raw)
        elif row[0] is None:
            raise LedgerError(
                f"the data key of {period} was destroyed by retention; cannot log into it",
                message_zh=f"{period} 的数据密钥已按保存期限销毁，无法再写入",
            )
        else:
            key = self._unwrap(period, bytes(row[0]))
        with self._lock:
            # A key read or made inside an append transaction is trusted only after that commits.
            self._pending[period] = key
        return key

    def _unwrap(self, period: str, wrapped: bytes) -> AESGCM:
        return unwrap_data_key(self._wrap, period, wrapped, what_en="data key", what_zh="数据密钥")

    def end_transaction(self, committed: bool) -> None:
        with self._lock:
            if committed:
                self._keys.update(self._pending)
            self._pending.clear()

    def seal(
        self,
        tx: WriteTx,
        seq: int,
        logged_at_us: int,
        user_id: str | None,
        data: Mapping[str, Any] | None,
    ) -> tuple[str, tuple[int, str, bytes]]:
        from synthguard.ledger.log import canonical_json

        period = period_of(logged_at_us)
        key = self._append_key(tx, period)
        salt = os.urandom(SALT_BYTES)
        plain = canonical_json(
            {"salt": base64.b64encode(salt).decode(), "user_id": user_id, "data": dict(data or {})}
        )
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + key.encrypt(nonce, plain, _aad(seq, period))
        return commitment(salt, user_id, data), (seq, period, sealed)

    def open(self, seqs: list[int]) -> dict[int, dict[str, Any]]:
        """Decrypted ``{salt, user_id, data}`` for the entries whose personal data still exists."""
        import json

        out: dict[int, dict[str, Any]] = {}
        if not seqs:
            return out
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(*LedgerPersonal.__table__.c).where(LedgerPersonal.seq.in_(sorted(set(seqs))))
            ).all()
            for row in rows:
                key = self._data_key(conn, row.period)
                if key is None:
                    continue
                try:
                    plain = key.decrypt(
                        row.sealed[:NONCE_BYTES], row.sealed[NONCE_BYTES:], _aad(row.seq, row.period)
                    )
                except InvalidTag:
                    raise LedgerError(
                        f"sealed personal data of entry {row.seq} was altered",
                        message_zh=f"条目 {row.seq} 的加密个人信息被篡改",
                    ) from None
                out[row.seq] = json.loads(plain)
        return out

    def destroy_keys_before(self, conn: Connection, period: str, at_us: int) -> list[str]:
        """Crypto-shred every data key of a month before ``period``; returns the months destroyed."""
        rows = conn.execute(
            select(LedgerDataKey.period).where(
                LedgerDataKey.period < period, LedgerDataKey.wrapped.is_not(None)
            )
        ).scalars()
        months = sorted(rows)
        if months:
            conn.execute(
                update(LedgerDataKey)
                .where(LedgerDataKey.period.in_(months))
                .values(wrapped=None, destroyed_at_us=at_us)
            )
            with self._lock:
                for month in months:
                    self._keys.pop(month, None)
        return months


def _aad(seq: int, period: str) -> bytes:
    # Binding the ciphertext to its entry stops a sealed record being moved to another entry.
    return f"synthguard/ledger/personal/v1/{seq}/{period}".encode()
