"""The append-only Merkle log: entries, their leaf hashes and every tree node, in the store.

Implements the "keep logs" duty (Deep Synthesis Provisions Art. 10, 16; Cybersecurity Law Art. 21)
as a transparency log (RFC 9162): each entry is a canonical JSON leaf of digests and references
(never raw personal data: that is sealed apart by :mod:`synthguard.ledger.personal`), and the tree
nodes live in ``ledger_hashes`` keyed by Go tlog's stored hash index, written once, never updated.

Crash safety: one database transaction writes a batch's entries, hashes and sealed personal data
together, and :meth:`MerkleLog.append_many` returns only after the commit, so an acknowledged entry
survives SIGKILL; SQLite runs ``synchronous=FULL`` on the ledger's connections so it also survives
power loss. An optional idempotency key makes a retried append after a crash return the first
entry instead of a duplicate. :meth:`MerkleLog.transaction` lets another table's rows (a label
record, a purge's erasure) commit in the same transaction as their entries: both or neither.

Speed (``benchmarks/ledger.py``): appends run on the driver's cursor (``executemany``) inside the
write transaction, with one SQLite connection held open; the tree's right edge is kept in memory
(re-validated under the write lock) and a batch's new nodes are computed in one pass; leaves are
assembled from pre-built JSON pieces, byte-identical to :func:`canonical_json`.

One writer at a time: SQLite takes ``BEGIN IMMEDIATE``, PostgreSQL a transaction-scoped advisory
lock, and each transaction re-reads the stored size, so two processes (CLI and service, or two
replicas) never fork the tree. :class:`SqlLogStore` is the storage interface; a tile or object-store
backend would implement the same methods.
"""

from __future__ import annotations

import hashlib
import json
import os
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
    LEAF_PREFIX,
    NODE_PREFIX,
    Hash,
    frontier_indexes,
    leaf_hash,
    size_for_stored_count,
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


_json_str = json.encoder.encode_basestring  # the C escaper the encoder above uses (ensure_ascii=False)


def _refs_encoder() -> Callable[[dict[str, Any]], str]:
    """``_CANONICAL.encode`` for a dict without rebuilding the C encoder on every call (~1.5 us)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return _CANONICAL.encode
    try:
        chunks = make(
            None, _CANONICAL.default, _json_str, None, ":", ",", True, False, False
        )  # no circular check: a self-referencing dict ends in RecursionError, reported as bad refs
    except TypeError:  # another CPython's signature: the public path is just as correct
        return _CANONICAL.encode
    join = "".join

    def encode(refs: dict[str, Any]) -> str:
        return join(chunks(refs, 0))

    probe = {"b": [1, 2.5, None, True], "a": '\u00e9"', "c": {"z": 1, "y": "\n"}}
    return encode if encode(probe) == _CANONICAL.encode(probe) else _CANONICAL.encode


_json_refs = _refs_encoder()


def leaf_json(
    seq: int,
    time: str,
    event_type: str,
    content_id: str | None,
    refs: Mapping[str, Any],
    idem_key: str | None,
    personal: str | None,
) -> bytes:
    """``canonical_json`` of a leaf body, byte for byte, without sorting or walking the fixed keys.

    The body's keys are fixed and already in sorted order below; only ``refs`` (caller data) goes
    through the general encoder. ``event_type`` and ``time`` are checked/built without characters
    JSON escapes. A property test holds this equal to :func:`canonical_json`.
    """
    text = "{"
    if content_id is not None:
        text += '"content_id":' + _json_str(content_id) + ","
    if idem_key is not None:
        text += '"idem":' + _json_str(idem_key) + ","
    if personal is not None:
        text += '"personal":' + _json_str(personal) + ","
    if refs:
        text += '"refs":' + _json_refs(refs if type(refs) is dict else dict(refs)) + ","
    return f'{text}"seq":{seq},"time":"{time}","type":"{event_type}","v":{LEAF_VERSION}}}'.encode()


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
        tx: WriteTx,
        seq: int,
        logged_at_us: int,
        user_id: str | None,
        data: Mapping[str, Any] | None,
    ) -> tuple[str, tuple[int, str, bytes]]:
        """The commitment for the leaf and the ``ledger_personal`` row (seq, period, sealed)."""
        ...

    def end_transaction(self, committed: bool) -> None: ...


_KNOWN_TYPES: set[str] = set()  # event types already checked (there are few; capped below)


def check_entry(entry: Entry) -> None:
    event_type = entry.event_type
    if event_type not in _KNOWN_TYPES:
        if type(event_type) is not str or not EVENT_TYPE.fullmatch(event_type) or len(event_type) > 64:
            raise LedgerError(
                f"event type {str(event_type)[:70]!r} must be dotted lowercase words, e.g. 'label.issued'",
                message_zh=f"事件类型 {str(event_type)[:70]!r} 须为小写点分词，如 label.issued",
            )
        if len(_KNOWN_TYPES) < 4096:
            _KNOWN_TYPES.add(event_type)
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
            # Straight to the driver: SQLAlchemy has already marked the transaction begun, and its
            # statement machinery (exec_driver_sql) cost more than the BEGIN on every commit.
            driver = conn.connection.driver_connection
            assert driver is not None
            driver.execute("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


@dataclass
class WriteTx:
    """An open write transaction holding the ledger's write lock, seen through its DBAPI cursor.

    Appends speak to the driver directly (prepared statements, ``executemany``): SQLAlchemy's
    per-statement overhead was most of a durable append's cost. ``mark`` is the driver's
    placeholder (``?`` for sqlite3, ``%s`` for psycopg).
    """

    cur: Any
    mark: str

    def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        self.cur.execute(sql, params)
        return self.cur.fetchone()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        self.cur.execute(sql, params)
        return list(self.cur.fetchall())

    def marks(self, n: int) -> str:
        return ", ".join([self.mark] * n)


_INHERITED: list[Any] = []  # SQLite connections a forked child inherited (SQLite forbids using them)


class SqlLogStore:
    """The ledger tables through SQLAlchemy: SQLite by default, PostgreSQL with the same code."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        mark = self.mark
        self.insert_entry_sql = (
            "INSERT INTO ledger_entries "
            "(seq, leaf, event_type, content_id, logged_at_us, user_ref, idem_key) "
            f"VALUES ({', '.join([mark] * 7)})"
        )
        self.insert_hash_sql = f"INSERT INTO ledger_hashes (id, hash) VALUES ({mark}, {mark})"
        self.insert_personal_sql = (
            f"INSERT INTO ledger_personal (seq, period, sealed) VALUES ({mark}, {mark}, {mark})"
        )
        dbapi = engine.dialect.dbapi
        self.integrity_error: type[Exception] = getattr(dbapi, "IntegrityError", IntegrityError)
        self._held: Any = None  # the SQLite connection appends keep open (a pool proxy)
        self._held_pid = 0  # a forked child must not share its parent's SQLite connection
        self._writer: Connection | None = None  # the SQLite connection ``write`` keeps open
        self._writer_pid = 0

    def close(self) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            held.close()
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction holding the single-writer lock; commits on success.

        On SQLite the caller serialises threads (``MerkleLog``'s lock) and one connection stays
        open for the log's life, as for :meth:`append_tx`: a pool checkout, a Connection and a
        reset on return cost more CPU than the rest of a group commit's statements together.
        A transaction that fails drops that connection (the next one opens afresh).
        """
        if self.dialect != "sqlite":
            with self.engine.connect() as conn:
                conn.execution_options(ledger_write=True)
                with conn.begin():
                    if self.dialect == "postgresql":
                        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_LOCK_KEY})")
                    yield conn
            return
        if self._writer is None or self._writer_pid != os.getpid():
            if self._writer is not None:  # the parent's: never touch (or let GC close) it here
                _INHERITED.append(self._writer)
            self._writer = self.engine.connect().execution_options(ledger_write=True)
            self._writer_pid = os.getpid()
        conn = self._writer
        try:
            with conn.begin():
                yield conn
        except BaseException:
            self._writer = None
            if conn.in_transaction():  # the rollback itself failed: never reuse it
                conn.invalidate()
            else:
                conn.close()
            raise

    def tx_of(self, conn: Connection) -> WriteTx:
        """The DBAPI cursor of an SQLAlchemy connection's open transaction (same transaction)."""
        return WriteTx(conn.connection.driver_connection.cursor(), self.mark)  # type: ignore[union-attr]

    @contextmanager
    def append_tx(self) -> Iterator[WriteTx]:
        """A write transaction for an append; commits on success. The caller serialises threads.

        On SQLite one connection stays open for the log's life (no pool checkout, no reset per
        append), and ``BEGIN IMMEDIATE`` takes the database write lock before the size is read.
        """
        if self.dialect != "sqlite":
            with self.write() as conn:
                yield self.tx_of(conn)
            return
        if self._held is None or self._held_pid != os.getpid():
            if self._held is not None:  # the parent's: never touch (or let GC close) it here
                _INHERITED.append(self._held)
            self._held = self.engine.raw_connection()  # connect events: WAL, synchronous=FULL
            self._held_pid = os.getpid()
        dbapi = self._held.driver_connection
        cur = dbapi.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield WriteTx(cur, "?")
                cur.execute("COMMIT")
            except BaseException:
                if dbapi.in_transaction:
                    dbapi.rollback()
                raise
        except BaseException:
            if not dbapi.in_transaction:
                raise
            # Could not roll back: drop the connection rather than reuse one mid-transaction.
            held, self._held = self._held, None
            held.invalidate()
            raise
        finally:
            cur.close()

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
        return _in_order(found, indexes)

    def read_hashes(self, indexes: Sequence[int]) -> list[Hash]:
        with self.engine.connect() as conn:
            return self.read_hashes_in(conn, indexes)

    def size(self) -> int:
        with self.engine.connect() as conn:
            return size_for_stored_count(self.stored_count(conn))

    def entries(self, seqs: Sequence[int]) -> dict[int, StoredEntry]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(*LedgerEntry.__table__.c).where(LedgerEntry.seq.in_(sorted(set(seqs))))
            )
            return {r.seq: _stored(r) for r in rows}


def _in_order(found: Mapping[int, bytes], indexes: Sequence[int]) -> list[Hash]:
    try:
        return [Hash(found[i]) for i in indexes]
    except KeyError as exc:
        raise ProofMismatch(f"stored hash {exc.args[0]} is missing: the ledger is damaged") from None
    except ValueError:
        raise ProofMismatch("a stored hash is not 32 bytes: the ledger is damaged") from None


def _stored_count(tx: WriteTx) -> int:
    """How many hashes ``ledger_hashes`` holds (its ids are dense from 0): one index seek."""
    row = tx.one("SELECT max(id) FROM ledger_hashes")
    return 0 if row is None or row[0] is None else int(row[0]) + 1


def _stored(row: Any) -> StoredEntry:
    return StoredEntry(
        row.seq, bytes(row.leaf), row.event_type, row.content_id, row.logged_at_us, row.user_ref
    )


# --- the log -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Edge:
    """The right edge of the tree: all an appender needs (tlog keeps the same in memory).

    ``stack`` holds the roots of the perfect subtrees making up the tree, largest (left) first;
    appending leaf n pops one per trailing 1-bit of n and pushes the new subtree root, and the
    new hashes take the next ``stored`` ids in order (the table is dense).
    """

    stored: int
    size: int
    stack: tuple[bytes, ...]
    last_us: int


class MerkleLog:
    """Appends and reads; thread-safe; safe with other processes appending to the same database.

    The right edge is cached per process and re-validated under the write lock on every append by
    the stored hash count (one index seek): counts only grow and a committed edge is a function of
    the count, so an equal count means an unchanged tree, and any other process's append forces a
    re-read. Lock order is always this object's lock, then the database's, so an open
    :meth:`transaction` and the appender threads cannot deadlock.
    """

    def __init__(
        self, store: SqlLogStore, sealer: PersonalSealer | None = None, clock: Clock = now_us
    ) -> None:
        self.store = store
        self.sealer = sealer
        self.clock = clock
        self._lock = threading.RLock()
        self._edge: _Edge | None = None  # committed right edge (None: re-read it)
        self._tx_conn: Connection | None = None  # the open transaction() of the lock's owner
        self._tx_edge: _Edge | None = None  # right edge inside that transaction, uncommitted

    def close(self) -> None:
        with self._lock:
            self.store.close()

    def size(self) -> int:
        return self.store.size()

    def read_hashes(self, indexes: Sequence[int]) -> list[Hash]:
        return self.store.read_hashes(indexes)

    def root(self, size: int | None = None) -> Hash:
        return tree_hash(self.size() if size is None else size, self.store)

    def append(self, entry: Entry) -> Appended:
        return self.append_many([entry])[0]

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction other tables can share with ledger appends: both commit or neither.

        Appends from this thread inside it (``append_many`` with or without ``conn``) join it; the
        entries are acknowledged when the ``with`` block exits without an exception.
        """
        with self._lock:
            if self._tx_conn is not None:
                raise LedgerError(
                    "a ledger transaction is already open in this thread",
                    message_zh="本线程已打开一个账本事务",
                )
            try:
                with self.store.write() as conn:
                    self._tx_conn, self._tx_edge = conn, None
                    yield conn
            except BaseException:
                self._edge = None
                self._end_sealer(False)
                raise
            else:
                if self._tx_edge is not None:
                    self._edge = self._tx_edge
                # Data keys made inside it become trusted only now that it committed.
                self._end_sealer(True)
            finally:
                self._tx_conn = self._tx_edge = None

    def next_seq(self, conn: Connection) -> int:
        """The seq the next entry appended in the open :meth:`transaction` ``conn`` will get.

        For rows and entries that name each other (a review decision row keeps its entry's seq,
        the entry keeps the row's id): the caller writes the row already holding the seq, then
        the entry, in one transaction, instead of row, entry and an UPDATE of the row. The write
        lock is held, so no other writer can take that seq; only an entry whose idempotency key
        is already logged gets another (the first entry's), so compare with what
        :meth:`append_many` returns.
        """
        with self._lock:
            if conn is not self._tx_conn:
                raise LedgerError(
                    "conn must be the connection of the open Ledger.transaction() in this thread",
                    message_zh="conn 须为本线程已打开的 Ledger.transaction() 的连接",
                )
            tx = self.store.tx_of(conn)
            edge = self._tx_edge or self._edge
            stored = _stored_count(tx)
            if edge is None or edge.stored != stored:
                edge = self._load_edge(tx, stored)
            self._tx_edge = edge
            return edge.size

    def append_many(self, entries: Sequence[Entry], conn: Connection | None = None) -> list[Appended]:
        """Log ``entries`` in one transaction; returns after the commit (an acknowledgement).

        With ``conn`` (from :meth:`transaction`) the entries join that transaction instead and are
        acknowledged when it commits.
        """
        if not entries:
            return []
        if len(entries) > MAX_BATCH:
            out: list[Appended] = []
            for start in range(0, len(entries), MAX_BATCH):
                out.extend(self.append_many(entries[start : start + MAX_BATCH], conn))
            return out
        for entry in entries:
            check_entry(entry)
        with self._lock:
            if conn is not None and conn is not self._tx_conn:
                raise LedgerError(
                    "conn must be the connection of the open Ledger.transaction() in this thread",
                    message_zh="conn 须为本线程已打开的 Ledger.transaction() 的连接",
                )
            if self._tx_conn is not None:  # this thread's open transaction: join it
                # An edge read or moved earlier in this transaction is current: the lock is ours.
                trusted = self._tx_edge
                results, self._tx_edge = self._append(
                    self.store.tx_of(self._tx_conn), entries, trusted or self._edge, trusted is not None
                )
                return results
            try:
                with self.store.append_tx() as tx:
                    results, edge = self._append(tx, entries, self._edge)
            except BaseException:
                self._edge = None  # rolled back: re-read the edge next time
                self._end_sealer(False)
                raise
            # Committed: only now does the in-memory state move forward.
            self._edge = edge
            self._end_sealer(True)
            return results

    def _end_sealer(self, committed: bool) -> None:
        if self.sealer is not None:
            self.sealer.end_transaction(committed)

    def _load_edge(self, tx: WriteTx, stored: int) -> _Edge:
        try:
            size = size_for_stored_count(stored)
        except ValueError:
            raise LedgerDamaged(
                f"ledger_hashes holds {stored} hashes, which is no complete tree: it was edited "
                "outside synthguard; export and verify to see what",
                message_zh=f"ledger_hashes 有 {stored} 个哈希，不构成完整的树：已被绕过 synthguard 修改",
            ) from None
        wanted = frontier_indexes(size)
        found: dict[int, bytes] = {}
        if wanted:
            rows = tx.all(f"SELECT id, hash FROM ledger_hashes WHERE id IN ({tx.marks(len(wanted))})", wanted)
            found = {int(i): bytes(h) for i, h in rows}
        stack = tuple(bytes(h) for h in _in_order(found, wanted))
        row = tx.one("SELECT logged_at_us FROM ledger_entries ORDER BY seq DESC LIMIT 1")
        return _Edge(stored, size, stack, 0 if row is None else int(row[0]))

    def _append(
        self, tx: WriteTx, entries: Sequence[Entry], edge: _Edge | None, current: bool = False
    ) -> tuple[list[Appended], _Edge]:
        if not current or edge is None:
            stored = _stored_count(tx)
            if edge is None or edge.stored != stored:  # first use, or another process appended since
                edge = self._load_edge(tx, stored)
        stored = edge.stored
        keys = sorted({e.idem_key for e in entries if e.idem_key is not None})
        seen: dict[str, tuple[int, bytes, int]] = {}
        if keys:
            rows = tx.all(
                "SELECT idem_key, seq, leaf, logged_at_us FROM ledger_entries "
                f"WHERE idem_key IN ({tx.marks(len(keys))})",
                keys,
            )
            seen = {str(k): (int(s), bytes(leaf), int(t)) for k, s, leaf, t in rows}
        entry_rows: list[tuple[int, bytes, str, str | None, int, str | None, str | None]] = []
        hash_rows: list[tuple[int, bytes]] = []
        personal_rows: list[tuple[int, str, bytes]] = []
        results: list[Appended] = []
        batch_keys: dict[str, Appended] = {}
        size, stack, last_us, next_id = edge.size, list(edge.stack), edge.last_us, stored
        sha256, clock = hashlib.sha256, self.clock
        for entry in entries:
            key = entry.idem_key
            if key is not None:
                if key in seen:
                    seq, leaf, at = seen[key]
                    results.append(Appended(seq, leaf_hash(leaf), at, duplicate=True))
                    continue
                if key in batch_keys:
                    first = batch_keys[key]
                    results.append(Appended(first.seq, first.leaf_hash, first.logged_at_us, duplicate=True))
                    continue
            # Time never goes backwards in the log, even if the wall clock does.
            last_us = at_us = max(clock(), last_us)
            leaf, user_ref = self._leaf(tx, size, at_us, entry, personal_rows)
            # RFC 9162 2.1.1 hashing (merkle.leaf_hash/node_hash, inlined: this loop is the hot path).
            h = sha256(LEAF_PREFIX + leaf).digest()
            lh = Hash(h)
            hash_rows.append((next_id, h))
            next_id += 1
            n = size
            while n & 1:  # each trailing 1-bit of n completes a subtree with the stack's top
                h = sha256(NODE_PREFIX + stack.pop() + h).digest()
                hash_rows.append((next_id, h))
                next_id += 1
                n >>= 1
            stack.append(h)
            entry_rows.append((size, leaf, entry.event_type, entry.content_id, at_us, user_ref, key))
            appended = Appended(size, lh, at_us)
            if key is not None:
                batch_keys[key] = appended
            results.append(appended)
            size += 1
        if entry_rows:
            try:
                tx.cur.executemany(self.store.insert_entry_sql, entry_rows)
                tx.cur.executemany(self.store.insert_hash_sql, hash_rows)
                if personal_rows:
                    tx.cur.executemany(self.store.insert_personal_sql, personal_rows)
            except self.store.integrity_error:
                # We hold the only write lock and checked every idempotency key, so a clash
                # means rows were written into the ledger tables by something else.
                raise LedgerDamaged(
                    f"ledger tables hold rows at or beyond seq {entry_rows[0][0]} that the Merkle tree "
                    "does not cover: they were edited outside synthguard; export and verify to see what",
                    message_zh=f"账本表在位置 {entry_rows[0][0]} 及之后有不属于默克尔树的行："
                    "已被绕过 synthguard 修改，请导出并核验",
                ) from None
        return results, _Edge(next_id, size, tuple(stack), last_us)

    def _leaf(
        self,
        tx: WriteTx,
        seq: int,
        at_us: int,
        entry: Entry,
        personal_rows: list[tuple[int, str, bytes]],
    ) -> tuple[bytes, str | None]:
        user_ref = None
        commitment = None
        if entry.user_id is not None or entry.personal:
            if self.sealer is None:
                raise LedgerError(
                    "this log has no personal-data vault", message_zh="该账本未配置个人信息保险库"
                )
            commitment, row = self.sealer.seal(tx, seq, at_us, entry.user_id, entry.personal)
            personal_rows.append(row)
            if entry.user_id is not None:
                user_ref = self.sealer.pseudonym(entry.user_id)
        try:
            leaf = leaf_json(
                seq, iso_us(at_us), entry.event_type, entry.content_id, entry.refs, entry.idem_key, commitment
            )
        except (TypeError, ValueError, RecursionError) as exc:
            raise LedgerError(
                f"entry refs must be JSON values: {exc}", message_zh=f"条目引用必须是 JSON 值：{exc}"
            ) from None
        if len(leaf) > MAX_LEAF_BYTES:
            raise LedgerError(
                f"entry is {len(leaf)} bytes, over {MAX_LEAF_BYTES}: log digests, not content",
                message_zh=f"条目 {len(leaf)} 字节，超过 {MAX_LEAF_BYTES}：请记录摘要而非内容",
            )
        return leaf, user_ref
