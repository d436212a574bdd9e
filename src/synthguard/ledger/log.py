"""The append-only Merkle log: entries, their leaf hashes and every tree node, in the store.

Implements the "keep logs" duty (Deep Synthesis Provisions Art. 10, 16; Cybersecurity Law Art. 21)
as a transparency log (RFC 9162): each entry is a canonical JSON leaf of digests and references
(never raw personal data: that is sealed apart by :mod:`synthguard.ledger.personal`), and the tree
nodes live in ``ledger_hashes`` keyed by Go tlog's stored hash index, written once, never updated.

Crash safety: one database transaction writes a batch's entries, hashes and sealed personal data
together, and :meth:`MerkleLog.append_many` returns only after the commit, so an acknowledged entry
survives SIGKILL; SQLite runs ``synchronous=FULL`` on the ledger's connections so it also survives
power loss. An optional idempotency key makes a retried append after a crash return the first
entry instead of a duplicate.

One writer at a time: SQLite takes ``BEGIN IMMEDIATE``, PostgreSQL a transaction-scoped advisory
lock, and each transaction re-reads the stored size, so two processes (CLI and service, or two
replicas) never fork the tree. :class:`SqlLogStore` is the storage interface; a tile or object-store
backend would implement the same methods.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from synthguard.errors import LedgerDamaged, LedgerError, ProofMismatch
from synthguard.ledger.merkle import (
    Hash,
    frontier_indexes,
    hashes_for_leaf,
    leaf_hash,
    new_hash_indexes,
    size_for_stored_count,
    stored_hash_index,
    tree_hash,
)
from synthguard.store.models import LedgerEntry, LedgerHash

LEAF_VERSION = 1
MAX_LEAF_BYTES = 16 * 1024
MAX_BATCH = 10_000
EVENT_TYPE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)*")
PG_LOCK_KEY = 0x5347_4C45_4447  # "SGLEDG": one sequencer per database
Clock = Callable[[], int]  # UTC microseconds

JsonScalar = str | int | float | bool | None


def now_us() -> int:
    return time.time_ns() // 1000


def iso_us(us: int) -> str:
    """ISO 8601 UTC with microseconds, fixed width (so string order is time order)."""
    seconds, micros = divmod(us, 1_000_000)
    global _last_second  # batches share seconds: format each second once
    if _last_second[0] != seconds:
        _last_second = (seconds, datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{_last_second[1]}.{micros:06d}Z"


_last_second: tuple[int, str] = (-1, "")
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: one text per value, so the leaf hash is reproducible."""
    return _CANONICAL.encode(value).encode()


@dataclass(frozen=True)
class Entry:
    """What a caller logs. ``refs`` are digests and IDs; ``user_id``/``personal`` are sealed apart."""

    event_type: str
    content_id: str | None = None
    refs: Mapping[str, Any] = field(default_factory=dict)
    user_id: str | None = None
    personal: Mapping[str, Any] | None = None
    idem_key: str | None = None


@dataclass(frozen=True)
class Appended:
    seq: int
    leaf_hash: Hash
    logged_at_us: int
    duplicate: bool = False  # the idempotency key was already logged: this is the first entry


@dataclass(frozen=True)
class StoredEntry:
    seq: int
    leaf: bytes
    event_type: str
    content_id: str | None
    logged_at_us: int
    user_ref: str | None


class PersonalSealer(Protocol):
    """Seals personal data inside the append transaction (see :mod:`synthguard.ledger.personal`)."""

    def pseudonym(self, user_id: str) -> str: ...

    def seal(
        self,
        conn: Connection,
        seq: int,
        logged_at_us: int,
        user_id: str | None,
        data: Mapping[str, Any] | None,
    ) -> tuple[str, tuple[int, str, bytes]]:
        """The commitment for the leaf and the ``ledger_personal`` row (seq, period, sealed)."""
        ...

    def end_transaction(self, committed: bool) -> None: ...


def check_entry(entry: Entry) -> None:
    if not EVENT_TYPE.fullmatch(entry.event_type) or len(entry.event_type) > 64:
        raise LedgerError(
            f"event type {entry.event_type[:70]!r} must be dotted lowercase words, e.g. 'label.issued'",
            message_zh=f"事件类型 {entry.event_type[:70]!r} 须为小写点分词，如 label.issued",
        )
    if entry.content_id is not None and not 0 < len(entry.content_id) <= 64:
        raise LedgerError("content_id must be 1..64 characters", message_zh="content_id 须为 1..64 个字符")
    if entry.idem_key is not None and not 0 < len(entry.idem_key) <= 128:
        raise LedgerError("idem_key must be 1..128 characters", message_zh="idem_key 须为 1..128 个字符")


# --- storage -------------------------------------------------------------------------------------------


def ledger_engine(url: str) -> Engine:
    """An engine for the ledger alone: on SQLite, FULL fsync and an explicit write lock per append."""
    from synthguard.store.session import make_engine

    engine = make_engine(url)
    if make_url(url).get_backend_name() == "sqlite":

        @event.listens_for(engine, "connect")
        def _durable(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (pysqlite would defer it)
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            write = conn.get_execution_options().get("ledger_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


class SqlLogStore:
    """The ledger tables through SQLAlchemy: SQLite by default, PostgreSQL with the same code."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._insert_entry = (
            "INSERT INTO ledger_entries "
            "(seq, leaf, event_type, content_id, logged_at_us, user_ref, idem_key) "
            f"VALUES ({', '.join([mark] * 7)})"
        )
        self._insert_hash = f"INSERT INTO ledger_hashes (id, hash) VALUES ({mark}, {mark})"
        self._insert_personal = (
            f"INSERT INTO ledger_personal (seq, period, sealed) VALUES ({mark}, {mark}, {mark})"
        )

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction holding the single-writer lock; commits on success."""
        with self.engine.connect() as conn:
            conn.execution_options(ledger_write=True)
            with conn.begin():
                if self.dialect == "postgresql":
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_LOCK_KEY})")
                yield conn

    @staticmethod
    def stored_count(conn: Connection) -> int:
        last = conn.execute(select(LedgerHash.id).order_by(LedgerHash.id.desc()).limit(1)).scalar()
        return 0 if last is None else int(last) + 1

    @staticmethod
    def read_hashes_in(conn: Connection, indexes: Sequence[int]) -> list[Hash]:
        if not indexes:
            return []
        wanted = sorted(set(indexes))
        rows = conn.execute(select(LedgerHash.id, LedgerHash.hash).where(LedgerHash.id.in_(wanted))).all()
        found = {int(i): bytes(h) for i, h in rows}
        try:
            return [Hash(found[i]) for i in indexes]
        except KeyError as exc:
            raise ProofMismatch(f"stored hash {exc.args[0]} is missing: the ledger is damaged") from None
        except ValueError:
            raise ProofMismatch("a stored hash is not 32 bytes: the ledger is damaged") from None

    def read_hashes(self, indexes: Sequence[int]) -> list[Hash]:
        with self.engine.connect() as conn:
            return self.read_hashes_in(conn, indexes)

    def size(self) -> int:
        with self.engine.connect() as conn:
            return size_for_stored_count(self.stored_count(conn))

    def insert(
        self,
        conn: Connection,
        entries: list[tuple[int, bytes, str, str | None, int, str | None, str | None]],
        hashes: list[tuple[int, bytes]],
        personal: list[tuple[int, str, bytes]],
    ) -> None:
        conn.exec_driver_sql(self._insert_entry, entries)
        conn.exec_driver_sql(self._insert_hash, hashes)
        if personal:
            conn.exec_driver_sql(self._insert_personal, personal)

    @staticmethod
    def find_idem(conn: Connection, keys: Sequence[str]) -> dict[str, tuple[int, bytes, int]]:
        if not keys:
            return {}
        rows = conn.execute(
            select(LedgerEntry.idem_key, LedgerEntry.seq, LedgerEntry.leaf, LedgerEntry.logged_at_us).where(
                LedgerEntry.idem_key.in_(sorted(set(keys)))
            )
        ).all()
        return {str(k): (int(s), bytes(leaf), int(t)) for k, s, leaf, t in rows}

    @staticmethod
    def last_time_us(conn: Connection) -> int:
        value = conn.execute(
            select(LedgerEntry.logged_at_us).order_by(LedgerEntry.seq.desc()).limit(1)
        ).scalar()
        return 0 if value is None else int(value)

    def entries(self, seqs: Sequence[int]) -> dict[int, StoredEntry]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(*LedgerEntry.__table__.c).where(LedgerEntry.seq.in_(sorted(set(seqs))))
            )
            return {r.seq: _stored(r) for r in rows}


def _stored(row: Any) -> StoredEntry:
    return StoredEntry(
        row.seq, bytes(row.leaf), row.event_type, row.content_id, row.logged_at_us, row.user_ref
    )


# --- the log -------------------------------------------------------------------------------------------


class _Reader:
    """Hashes of the current batch and the frontier from memory, the rest from the transaction."""

    def __init__(self, store: SqlLogStore, conn: Connection, cache: dict[int, Hash]) -> None:
        self.store, self.conn, self.cache = store, conn, cache

    def read_hashes(self, indexes: Sequence[int]) -> list[Hash]:
        missing = [i for i in indexes if i not in self.cache]
        if missing:
            self.cache.update(zip(missing, self.store.read_hashes_in(self.conn, missing), strict=True))
        return [self.cache[i] for i in indexes]


class MerkleLog:
    """Appends and reads; thread-safe; safe with other processes appending to the same database."""

    def __init__(
        self, store: SqlLogStore, sealer: PersonalSealer | None = None, clock: Clock = now_us
    ) -> None:
        self.store = store
        self.sealer = sealer
        self.clock = clock
        self._lock = threading.Lock()
        self._stored = -1  # stored hash count the frontier cache belongs to
        self._frontier: dict[int, Hash] = {}
        self._last_us = 0

    def size(self) -> int:
        return self.store.size()

    def read_hashes(self, indexes: Sequence[int]) -> list[Hash]:
        return self.store.read_hashes(indexes)

    def root(self, size: int | None = None) -> Hash:
        return tree_hash(self.size() if size is None else size, self.store)

    def append(self, entry: Entry) -> Appended:
        return self.append_many([entry])[0]

    def append_many(self, entries: Sequence[Entry]) -> list[Appended]:
        """Log ``entries`` in one transaction; returns after the commit (an acknowledgement)."""
        if not entries:
            return []
        if len(entries) > MAX_BATCH:
            out: list[Appended] = []
            for start in range(0, len(entries), MAX_BATCH):
                out.extend(self.append_many(entries[start : start + MAX_BATCH]))
            return out
        for entry in entries:
            check_entry(entry)
        with self._lock:
            try:
                results = self._append_locked(entries)
            except BaseException:
                self._stored = -1  # the transaction rolled back: re-read the frontier next time
                if self.sealer is not None:
                    self.sealer.end_transaction(False)
                raise
            if self.sealer is not None:
                self.sealer.end_transaction(True)
            return results

    def _append_locked(self, entries: Sequence[Entry]) -> list[Appended]:
        with self.store.write() as conn:
            stored = self.store.stored_count(conn)
            size = size_for_stored_count(stored)
            if stored != self._stored:  # first use, or another process appended since
                self._frontier = dict(
                    zip(
                        frontier_indexes(size),
                        self.store.read_hashes_in(conn, frontier_indexes(size)),
                        strict=True,
                    )
                )
                self._last_us = self.store.last_time_us(conn)
            keys = [e.idem_key for e in entries if e.idem_key is not None]
            seen = self.store.find_idem(conn, keys)
            cache = dict(self._frontier)
            reader = _Reader(self.store, conn, cache)
            entry_rows: list[tuple[int, bytes, str, str | None, int, str | None, str | None]] = []
            hash_rows: list[tuple[int, bytes]] = []
            personal_rows: list[tuple[int, str, bytes]] = []
            results: list[Appended] = []
            batch_keys: dict[str, Appended] = {}
            last_us = self._last_us
            for entry in entries:
                key = entry.idem_key
                if key is not None and key in seen:
                    seq, leaf, at = seen[key]
                    results.append(Appended(seq, leaf_hash(leaf), at, duplicate=True))
                    continue
                if key is not None and key in batch_keys:
                    first = batch_keys[key]
                    results.append(Appended(first.seq, first.leaf_hash, first.logged_at_us, duplicate=True))
                    continue
                # Time never goes backwards in the log, even if the wall clock does.
                last_us = at_us = max(self.clock(), last_us)
                leaf, user_ref = self._leaf(conn, size, at_us, entry, personal_rows)
                lh = leaf_hash(leaf)
                siblings = reader.read_hashes(new_hash_indexes(size))
                first_index = stored_hash_index(0, size)
                for offset, h in enumerate(hashes_for_leaf(size, lh, siblings)):
                    cache[first_index + offset] = h
                    hash_rows.append((first_index + offset, bytes(h)))
                entry_rows.append((size, leaf, entry.event_type, entry.content_id, at_us, user_ref, key))
                appended = Appended(size, lh, at_us)
                if key is not None:
                    batch_keys[key] = appended
                results.append(appended)
                size += 1
            if entry_rows:
                try:
                    self.store.insert(conn, entry_rows, hash_rows, personal_rows)
                except IntegrityError:
                    # We hold the only write lock and checked every idempotency key, so a clash
                    # means rows were written into the ledger tables by something else.
                    raise LedgerDamaged(
                        f"ledger tables hold rows at or beyond seq {entry_rows[0][0]} that the Merkle tree "
                        "does not cover: they were edited outside synthguard; export and verify to see what",
                        message_zh=f"账本表在位置 {entry_rows[0][0]} 及之后有不属于默克尔树的行："
                        "已被绕过 synthguard 修改，请导出并核验",
                    ) from None
        # Committed: only now does the in-memory state move forward.
        self._frontier = {i: cache[i] for i in frontier_indexes(size)}
        self._stored = stored + len(hash_rows)
        self._last_us = last_us
        return results

    def _leaf(
        self,
        conn: Connection,
        seq: int,
        at_us: int,
        entry: Entry,
        personal_rows: list[tuple[int, str, bytes]],
    ) -> tuple[bytes, str | None]:
        body: dict[str, Any] = {
            "v": LEAF_VERSION,
            "seq": seq,
            "time": iso_us(at_us),
            "type": entry.event_type,
        }
        if entry.content_id is not None:
            body["content_id"] = entry.content_id
        if entry.refs:
            body["refs"] = dict(entry.refs)
        if entry.idem_key is not None:
            body["idem"] = entry.idem_key
        user_ref = None
        if entry.user_id is not None or entry.personal:
            if self.sealer is None:
                raise LedgerError(
                    "this log has no personal-data vault", message_zh="该账本未配置个人信息保险库"
                )
            commitment, row = self.sealer.seal(conn, seq, at_us, entry.user_id, entry.personal)
            body["personal"] = commitment
            personal_rows.append(row)
            if entry.user_id is not None:
                user_ref = self.sealer.pseudonym(entry.user_id)
        try:
            leaf = canonical_json(body)
        except (TypeError, ValueError) as exc:
            raise LedgerError(
                f"entry refs must be JSON values: {exc}", message_zh=f"条目引用必须是 JSON 值：{exc}"
            ) from None
        if len(leaf) > MAX_LEAF_BYTES:
            raise LedgerError(
                f"entry is {len(leaf)} bytes, over {MAX_LEAF_BYTES}: log digests, not content",
                message_zh=f"条目 {len(leaf)} 字节，超过 {MAX_LEAF_BYTES}：请记录摘要而非内容",
            )
        return leaf, user_ref
