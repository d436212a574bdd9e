"""``Ledger``: the evidence ledger as one object: log, checkpoints, proofs, retention, stats.

Every other part of synthguard writes through :meth:`Ledger.record` / :meth:`Ledger.record_many`
(via ``Synthguard.record``), so there is one way in. Checkpoints (C2SP tlog-checkpoint) are signed
on demand when the tree has grown and all are kept; proofs are always against a signed checkpoint.

Retention (Cybersecurity Law Art. 21: >= 6 months): :meth:`Ledger.purge` erases sealed personal
data older than ``ledger_retention_days`` (never fewer than :data:`MIN_RETENTION_DAYS`), unlinks
the user pseudonyms, destroys the data keys of whole past months, and logs an entry saying so.
Leaves and hashes are never touched, so every proof stays valid. Run it from cron or a timer
(``synthguard ledger purge``); it is idempotent. The erasure and its own ``ledger.purge`` entry
commit in one transaction: a crash leaves both or neither.

Three ways to write, one guarantee (an acknowledged entry is committed with ``synchronous=FULL``):
:meth:`Ledger.record`/:meth:`Ledger.record_many` return after the commit; :meth:`Ledger.submit`
returns a future at once and a background thread commits in batches (for the gateway's hot path,
see :mod:`synthguard.ledger.batcher`); ``record_many(..., conn=)`` inside
:meth:`Ledger.transaction` commits with the caller's own rows (the label records in ``core``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from synthguard.config import Settings
from synthguard.errors import ConfigError, LedgerError, NotFound
from synthguard.ledger.batcher import Batcher
from synthguard.ledger.checkpoint import Checkpoint, CheckpointSigner, CheckpointVerifier, SignedCheckpoint
from synthguard.ledger.log import (
    Appended,
    Clock,
    Entry,
    MerkleLog,
    SqlLogStore,
    StoredEntry,
    iso_us,
    ledger_engine,
    now_us,
)
from synthguard.ledger.merkle import (
    ConsistencyProof,
    Hash,
    InclusionProof,
    prove_consistency,
    prove_inclusion,
    stored_hash_count,
    tree_hash,
)
from synthguard.ledger.personal import PersonalVault, load_master_key, period_of
from synthguard.ledger.results import (
    AppendResult,
    CheckpointResult,
    ConsistencyResult,
    EntryProof,
    LedgerStats,
    ProofResult,
    PurgeResult,
)
from synthguard.store.models import LedgerCheckpoint, LedgerEntry, LedgerPersonal

MIN_RETENTION_DAYS = 184  # six calendar months at their longest (Jul-Dec)
DAY_US = 86_400 * 1_000_000
CHECKPOINT_KEY_FILE = "ledger-checkpoint-ed25519.pem"
MAX_PROOF_ENTRIES = 1_000


def check_retention(days: int) -> int:
    if days < MIN_RETENTION_DAYS:
        raise ConfigError(
            f"ledger retention of {days} days is below the legal minimum of 6 months "
            f"({MIN_RETENTION_DAYS} days, Cybersecurity Law Art. 21)",
            message_zh=f"账本保存期限 {days} 天低于法定最少 6 个月"
            f"（{MIN_RETENTION_DAYS} 天，《网络安全法》第二十一条）",
        )
    return days


@dataclass(frozen=True)
class SignedHead:
    signed: SignedCheckpoint
    text: str

    @property
    def size(self) -> int:
        return self.signed.checkpoint.size

    @property
    def root(self) -> Hash:
        return self.signed.checkpoint.root


class Ledger:
    def __init__(self, settings: Settings, clock: Clock = now_us) -> None:
        self.settings = settings
        self.retention_days = check_retention(settings.ledger_retention_days)
        self.engine = ledger_engine(settings.resolved_database_url)
        self.store = SqlLogStore(self.engine)
        self.vault = PersonalVault(
            self.engine, load_master_key(settings.ledger_master_key, settings.keys_dir)
        )
        self.log = MerkleLog(self.store, self.vault, clock)
        self.clock = clock
        self.signer = CheckpointSigner.load_or_create(
            settings.ledger_origin, settings.keys_dir / CHECKPOINT_KEY_FILE
        )
        self._batcher: Batcher | None = None

    @classmethod
    def open(cls, settings: Settings, clock: Clock = now_us) -> Ledger:
        """Open (and migrate) the store named by ``settings``; the CLI and tests use this directly."""
        from synthguard.store.session import make_engine, upgrade

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.resolved_database_url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        return cls(settings, clock)

    def close(self) -> None:
        """Commit what :meth:`submit` queued, then release the connections."""
        if self._batcher is not None:
            self._batcher.close()
        self.log.close()
        self.engine.dispose()

    def shares_database(self, engine: Engine) -> bool:
        """Whether ``engine`` is this ledger's database, so one transaction can span both."""
        return engine.url.render_as_string(hide_password=False) == self.engine.url.render_as_string(
            hide_password=False
        )

    @property
    def verifier(self) -> CheckpointVerifier:
        return self.signer.verifier

    # --- writing -----------------------------------------------------------------------------------

    def record(
        self,
        event_type: str,
        content_id: str | None = None,
        *,
        user_id: str | None = None,
        personal: dict[str, Any] | None = None,
        idem_key: str | None = None,
        **refs: Any,
    ) -> AppendResult:
        """Log one event durably; returns once it is committed."""
        entry = Entry(event_type, content_id, refs, user_id, personal, idem_key)
        return _append_result(self.log.append(entry))

    def record_many(self, entries: Sequence[Entry], *, conn: Connection | None = None) -> list[Appended]:
        """Log a batch in one transaction (one fsync); returns once it is committed.

        With ``conn`` from :meth:`transaction` the batch joins that transaction instead and is
        committed (acknowledged) when the ``with`` block ends without an exception.
        """
        return self.log.append_many(entries, conn)

    def next_seq(self, conn: Connection) -> int:
        """The seq the next entry logged in the open :meth:`transaction` gets (see
        :meth:`MerkleLog.next_seq`: a row can hold its entry's seq before the entry is written)."""
        return self.log.next_seq(conn)

    def transaction(self) -> AbstractContextManager[Connection]:
        """``with ledger.transaction() as conn:`` a write transaction on the ledger's database.

        Rows the caller writes through ``conn`` (Core, or ``Session(bind=conn)`` + ``flush``) and
        entries logged with ``record_many(..., conn=conn)`` commit together or not at all, with
        ``synchronous=FULL``. It holds the ledger's write lock: keep it short.
        """
        return self.log.transaction()

    @property
    def batcher(self) -> Batcher:
        if self._batcher is None:
            self._batcher = Batcher(
                self.log,
                max_entries=self.settings.ledger_batch_max,
                max_wait_ms=self.settings.ledger_batch_wait_ms,
            )
        return self._batcher

    def submit(self, entry: Entry) -> Future[Appended]:
        """Queue ``entry`` for the background writer; the future resolves once it is committed.

        For hot paths (the gateway): returns at once; a resolved future is an acknowledgement as
        durable as :meth:`record`'s return (see :mod:`synthguard.ledger.batcher`). In async code:
        ``await ledger.asubmit(entry)`` or ``await asyncio.wrap_future(ledger.submit(entry))``.
        """
        return self.batcher.submit(entry)

    async def asubmit(self, entry: Entry) -> Appended:
        """Awaitable :meth:`submit`: returns the committed entry without blocking the event loop."""
        return await self.batcher.asubmit(entry)

    # --- checkpoints and proofs --------------------------------------------------------------------

    def checkpoint(self) -> SignedHead:
        """The newest signed checkpoint, signing one first if the tree has grown since."""
        size = self.store.size()
        with self.engine.connect() as conn:
            row = conn.execute(
                select(*LedgerCheckpoint.__table__.c).order_by(LedgerCheckpoint.size.desc()).limit(1)
            ).one_or_none()
        if row is not None and row.size >= size:
            stored = SignedCheckpoint.from_text(row.note)
            mine = self.verifier.key_id
            # A replica with another log key (it should share ours) re-signs rather than hand out
            # a checkpoint its own published key cannot verify.
            if any(sig.key_id == mine for sig in stored.signatures):
                return SignedHead(stored, row.note)
            size = row.size
        root = tree_hash(size, self.store)
        signed = self.signer.sign(Checkpoint(self.settings.ledger_origin, size, root))
        text = signed.to_text()
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(LedgerCheckpoint).values(
                        size=size, root=bytes(root), note=text, created_at_us=self.clock()
                    )
                )
        except IntegrityError:
            pass  # another process signed the same size at the same moment; ours is equally valid
        return SignedHead(signed, text)

    def checkpoint_result(self, head: SignedHead | None = None) -> CheckpointResult:
        head = head or self.checkpoint()
        return CheckpointResult(
            origin=head.signed.checkpoint.origin,
            size=head.size,
            root=str(head.root),
            note=head.text,
            verifier_key=self.verifier.to_vkey(),
        )

    def inclusion(self, seq: int, size: int) -> InclusionProof:
        return prove_inclusion(size, seq, self.store)

    def proofs_for(self, content_id: str) -> ProofResult:
        with self.engine.connect() as conn:
            seqs = list(
                conn.execute(
                    select(LedgerEntry.seq)
                    .where(LedgerEntry.content_id == content_id)
                    .order_by(LedgerEntry.seq)
                    .limit(MAX_PROOF_ENTRIES)
                ).scalars()
            )
        if not seqs:
            raise NotFound(
                f"no ledger entry for content ID {content_id!r}",
                message_zh=f"证据账本中没有内容标识 {content_id!r} 的记录",
            )
        head = self.checkpoint()
        entries = self.store.entries(seqs)
        proofs = []
        for seq in seqs:
            stored = entries[seq]
            if seq >= head.size:
                continue  # appended after this checkpoint was read; the next one covers it
            proof = self.inclusion(seq, head.size)
            proofs.append(
                EntryProof(
                    seq=seq,
                    leaf=stored.leaf.decode("utf-8"),
                    leaf_hash=str(_leaf_hash(stored)),
                    proof=[str(h) for h in proof.hashes],
                )
            )
        return ProofResult(content_id=content_id, checkpoint=self.checkpoint_result(head), entries=proofs)

    def consistency(self, first: int, second: int | None = None) -> ConsistencyResult:
        size = self.store.size()
        second = size if second is None else second
        if not 1 <= first <= second <= size:
            raise LedgerError(
                f"need 1 <= first <= second <= {size} (the tree size), got first={first} second={second}",
                message_zh=f"须满足 1 <= first <= second <= {size}（当前树大小），"
                f"收到 first={first} second={second}",
            )
        proof: ConsistencyProof = prove_consistency(first, second, self.store)
        return ConsistencyResult(
            first=first,
            second=second,
            first_root=str(tree_hash(first, self.store)),
            second_root=str(tree_hash(second, self.store)),
            proof=[str(h) for h in proof.hashes],
        )

    # --- reading -----------------------------------------------------------------------------------

    def select(
        self,
        *,
        from_us: int | None = None,
        to_us: int | None = None,
        content_id: str | None = None,
        user_id: str | None = None,
        limit: int | None = None,
    ) -> list[StoredEntry]:
        query = select(*LedgerEntry.__table__.c).order_by(LedgerEntry.seq)
        if content_id is not None:
            query = query.where(LedgerEntry.content_id == content_id)
        if user_id is not None:
            query = query.where(LedgerEntry.user_ref == self.vault.pseudonym(user_id))
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            # Time never decreases along seq, so a time range is a seq range (no time index).
            if from_us is not None:
                query = query.where(LedgerEntry.seq >= _first_seq_at(conn, from_us))
            if to_us is not None:
                query = query.where(LedgerEntry.seq < _first_seq_at(conn, to_us + 1))
            return [
                StoredEntry(r.seq, bytes(r.leaf), r.event_type, r.content_id, r.logged_at_us, r.user_ref)
                for r in conn.execute(query)
            ]

    def neighbours(self, first_seq: int, last_seq: int) -> tuple[StoredEntry | None, StoredEntry | None]:
        found = self.store.entries([first_seq - 1, last_seq + 1])
        return found.get(first_seq - 1), found.get(last_seq + 1)

    def stats(self) -> LedgerStats:
        size = self.store.size()
        with self.engine.connect() as conn:
            counts = dict(
                conn.execute(
                    select(LedgerEntry.event_type, func.count()).group_by(LedgerEntry.event_type)
                ).all()
            )
            first, last = conn.execute(
                select(func.min(LedgerEntry.logged_at_us), func.max(LedgerEntry.logged_at_us))
            ).one()
            personal = conn.execute(select(func.count()).select_from(LedgerPersonal)).scalar_one()
            latest = conn.execute(select(func.max(LedgerCheckpoint.size))).scalar()
            purge_leaf = conn.execute(
                select(LedgerEntry.leaf)
                .where(LedgerEntry.event_type == "ledger.purge")
                .order_by(LedgerEntry.seq.desc())
                .limit(1)
            ).scalar()
        last_purge = None
        if purge_leaf is not None:
            body = json.loads(purge_leaf)
            last_purge = {"seq": body["seq"], "time": body["time"], **body.get("refs", {})}
        return LedgerStats(
            origin=self.settings.ledger_origin,
            size=size,
            root=str(tree_hash(size, self.store)),
            stored_hashes=stored_hash_count(size),
            personal_records=int(personal),
            latest_checkpoint_size=latest,
            first_logged_at=iso_us(first) if first is not None else None,
            last_logged_at=iso_us(last) if last is not None else None,
            last_purge=last_purge,
            retention_days=self.retention_days,
            event_types={str(k): int(v) for k, v in counts.items()},
        )

    # --- retention ---------------------------------------------------------------------------------

    def purge(self, *, now: int | None = None) -> PurgeResult:
        """Erase personal data past retention and log that it ran (see the module docstring)."""
        at = self.clock() if now is None else now
        cutoff = at - self.retention_days * DAY_US
        # Erasure and its ledger entry in one transaction: a crash leaves both or neither.
        with self.log.transaction() as conn:
            doomed = select(LedgerEntry.seq).where(LedgerEntry.logged_at_us < cutoff)
            erased = conn.execute(delete(LedgerPersonal).where(LedgerPersonal.seq.in_(doomed))).rowcount
            unlinked = conn.execute(
                update(LedgerEntry)
                .where(LedgerEntry.logged_at_us < cutoff, LedgerEntry.user_ref.is_not(None))
                .values(user_ref=None)
            ).rowcount
            # A month's key goes only when the whole month is past the cutoff.
            months = self.vault.destroy_keys_before(conn, period_of(cutoff), at)
            last_seq = conn.execute(
                select(func.max(LedgerEntry.seq)).where(LedgerEntry.logged_at_us < cutoff)
            ).scalar()
            refs = {
                "retention_days": self.retention_days,
                "cutoff": iso_us(cutoff),
                "erased_through_seq": last_seq,
                "personal_records_erased": int(erased or 0),
                "entries_unlinked": int(unlinked or 0),
                "keys_destroyed": months,
            }
            (appended,) = self.log.append_many([Entry("ledger.purge", None, refs)], conn)
        return PurgeResult(
            ran_at=iso_us(at),
            retention_days=self.retention_days,
            cutoff=iso_us(cutoff),
            personal_records_erased=int(erased or 0),
            entries_unlinked=int(unlinked or 0),
            keys_destroyed=months,
            purge_entry_seq=appended.seq,
        )


def _first_seq_at(conn: Connection, at_us: int) -> int:
    """The first seq logged at or after ``at_us`` (one past the last entry if none), by bisection."""
    last = conn.execute(select(func.max(LedgerEntry.seq))).scalar()
    lo, hi = 0, (-1 if last is None else int(last)) + 1
    probe = (
        select(LedgerEntry.logged_at_us)
        .where(LedgerEntry.seq >= bindparam("s"))
        .order_by(LedgerEntry.seq)
        .limit(1)
    )
    while lo < hi:
        mid = (lo + hi) // 2
        value = conn.execute(probe, {"s": mid}).scalar()
        if value is not None and value < at_us:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _leaf_hash(entry: StoredEntry) -> Hash:
    from synthguard.ledger.merkle import leaf_hash

    return leaf_hash(entry.leaf)


def _append_result(a: Appended) -> AppendResult:
    return AppendResult(
        seq=a.seq, leaf_hash=str(a.leaf_hash), logged_at=iso_us(a.logged_at_us), duplicate=a.duplicate
    )
