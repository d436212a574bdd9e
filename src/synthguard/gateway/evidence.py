"""The gateway's evidence writer: review decisions and ledger entries, group-committed (Art. 10, 16).

Each answer needs its records durable before it leaves: the input decision (a ``review_decisions``
row and its ``review_decision`` ledger entry, the row pointing back at the entry) and the answer's
own ``gateway.generated`` entry. Written one by one that was a row commit, a FULL-sync ledger
commit, a ``ledger_ref`` update and another ledger commit per request, each waiting for SQLite's
single write lock. Here they go into ONE ledger transaction (:meth:`Ledger.transaction`, the same
``synchronous=FULL`` commit as every ledger append), and requests that arrive while a commit is in
flight share the next one: group commit with no timer, so a lone request commits at once and a
busy gateway pays one fsync for many answers. Inside it each new decision row is written already
holding the seq its entry will get (``Ledger.next_seq``: the write lock is held and the entries go
in a known order), so the row-to-entry link costs no UPDATE. The admission charges of requests
admitted since the last commit (``ChargeBook``) are written in the same transaction.

What a caller gets: :meth:`EvidenceWriter.commit` returns only after the transaction committed
(an acknowledgement, as durable as ``Ledger.record``); a job is queued before the first ``await``,
so a request cancelled while waiting (client gone) is still written. Decisions that open a review
item or count a strike (review, block, sanction) are stored by ``ReviewEngine.review_text`` as
before; only their ledger entry and ``ledger_ref`` come through here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from synthguard.gateway.threads import in_thread
from synthguard.identity.keys import Charge, ChargeBook, KeyInfo
from synthguard.review import Context, ReviewDecision

if TYPE_CHECKING:
    from synthguard.core import Synthguard
    from synthguard.ledger import Appended, Entry

# Longest an admission charge waits for an evidence commit to ride along with before it is
# committed on its own (an idle gateway, or answers slower than this): how late another replica
# may see it (see ChargeBook).
CHARGE_FLUSH_S = 0.02


@dataclass
class ReviewRecord:
    """A decision to keep: stored now if ``decision.decision_id`` is None, then logged and linked."""

    decision: ReviewDecision
    ctx: Context
    text_chars: int


@dataclass
class _Job:
    reviews: list[ReviewRecord]
    entries: list[Entry]
    done: asyncio.Future[list[Appended]]
    results: list[Appended] = field(default_factory=list)


def decision_entry(decision: ReviewDecision) -> Entry:
    """The decision's ledger entry, exactly as ``Synthguard.review_text`` writes it (event, refs and
    idempotency key), so an export cannot tell which path logged it."""
    from synthguard.ledger import Entry

    refs = {
        "decision_id": decision.decision_id,
        "action": decision.action,
        "categories": decision.categories,
        "service": decision.service,
        "direction": decision.direction,
        "text_sha256": decision.text_sha256,
        "library_version": decision.library_version,
    }
    return Entry(
        "review_decision",
        None,
        refs,
        decision.user_id or None,
        None,
        f"review-decision-{decision.decision_id}",
    )


class EvidenceWriter:
    """One per gateway (event loop); see the module docstring."""

    def __init__(self, core: Synthguard) -> None:
        self.core = core
        self._queue: list[_Job] = []
        self._writer: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.charges = ChargeBook()  # admission charges, written with the next commit
        self._flush: asyncio.TimerHandle | None = None
        self.commits = 0  # transactions written (tests and stats)

    def charge(self, key: KeyInfo, window_count: int, minute: int) -> None:
        """Count one admitted request of ``key`` (or raise its 429, see ``ChargeBook.take``); the
        charge is written with the next commit, at the latest ``CHARGE_FLUSH_S`` from now."""
        loop = self._bind_loop()
        self.charges.take(key, window_count, minute)
        if self._flush is None and (self._writer is None or self._writer.done()):
            self._flush = loop.call_later(CHARGE_FLUSH_S, self._flush_charges)

    def _flush_charges(self) -> None:
        self._flush = None
        if self.charges.pending() and (self._writer is None or self._writer.done()):
            self._writer = asyncio.ensure_future(self._drain())

    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # an app served again on a new loop (tests): a fresh queue
            self._loop, self._queue, self._writer, self._flush = loop, [], None, None
            self.charges = ChargeBook()
        return loop

    async def commit(self, reviews: list[ReviewRecord], entries: list[Entry]) -> list[Appended]:
        """Store ``reviews`` and log them and ``entries`` durably; the entries' ``Appended`` back."""
        from synthguard.ledger.log import check_entry

        if not reviews and not entries:
            return []
        for entry in entries:
            check_entry(entry)  # a malformed entry is this caller's error, never its batch's
        loop = self._bind_loop()
        job = _Job(list(reviews), list(entries), loop.create_future())
        self._queue.append(job)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._drain())
        # shield: a cancelled caller must not cancel the future the writer resolves.
        return await asyncio.shield(job.done)

    async def aclose(self) -> None:
        """Wait until everything queued (admission charges too) is committed: the app's shutdown,
        before the core closes."""
        if self._loop is not asyncio.get_running_loop():
            return
        if self._flush is not None:  # admission charges not yet written go now, not in 20 ms
            self._flush.cancel()
            self._flush_charges()
        writer = self._writer
        if writer is not None:
            await asyncio.gather(writer, return_exceptions=True)

    async def _drain(self) -> None:
        while self._queue or self.charges.pending():
            jobs, self._queue = self._queue, []
            charges = self.charges.drain()
            try:
                await in_thread(self._write, jobs, charges)
            except BaseException as exc:
                self.charges.settle(charges, committed=False)  # they go with the next commit
                if len(jobs) <= 1 or isinstance(exc, asyncio.CancelledError):
                    _fail(jobs, exc)
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                    if not jobs:  # charges alone failed (store down): the next request retries
                        return
                    continue
                # One job's failure rolled back the lot: write the others on their own.
                for job in jobs:
                    try:
                        await in_thread(self._write, [job], [])
                    except Exception as one:
                        _fail([job], one)
                    else:
                        _resolve(job)
                continue
            self.charges.settle(charges, committed=True)
            for job in jobs:
                _resolve(job)

    def _write(self, jobs: list[_Job], charges: list[Charge]) -> None:
        """One transaction for every job and the admission charges: the charges, the rows
        (holding their entries' seqs), then the entries."""
        inserted: list[ReviewRecord] = []
        try:
            self._write_once(jobs, charges, inserted)
        except BaseException:
            for rec in inserted:  # rolled back: a retry must store the row again
                rec.decision.decision_id, rec.decision.ledger_ref = None, ""
            raise
        self.commits += 1

    def _write_once(self, jobs: list[_Job], charges: list[Charge], inserted: list[ReviewRecord]) -> None:
        core = self.core
        ledger, reviewer = core.ledger, core.reviewer
        bind = core.sessions.kw.get("bind")
        shared = bind is not None and ledger.shares_database(bind)
        if not shared:  # a ledger in another database: charges and rows first, then the entries
            if charges:
                with core.sessions.begin() as session:
                    core.apikeys.apply_charges(session.connection(), charges)
            self._write_apart(jobs)
            return
        with ledger.transaction() as conn:
            if charges:
                core.apikeys.apply_charges(conn, charges)
            # Each new row is written already holding the seq its entry will get (the write
            # lock is held, entries go in the order below), so no ledger_ref UPDATE follows.
            seq = ledger.next_seq(conn)
            fresh: list[tuple[ReviewDecision, Context, int, str]] = []
            for job in jobs:
                for rec in job.reviews:
                    if rec.decision.decision_id is None:
                        fresh.append((rec.decision, rec.ctx, rec.text_chars, str(seq)))
                        inserted.append(rec)
                    seq += 1
                seq += len(job.entries)
            if fresh:
                reviewer.record_decisions(conn, fresh)
            entries, spans = self._entries(jobs, _stored_already)
            appended = ledger.record_many(entries, conn=conn)
            for job, start in zip(jobs, spans, strict=True):
                for i, rec in enumerate(job.reviews):
                    ref = str(appended[start + i].seq)
                    if rec.decision.ledger_ref != ref:  # stored by review_text, or a logged idem key
                        rec.decision.ledger_ref = ref
                        assert rec.decision.decision_id is not None
                        reviewer.set_ledger_ref(rec.decision.decision_id, ref, conn=conn)
                job.results = appended[start + len(job.reviews) : start + len(job.reviews) + len(job.entries)]

    def _write_apart(self, jobs: list[_Job]) -> None:
        core = self.core
        reviewer = core.reviewer

        def store(rec: ReviewRecord) -> None:
            # Committed on its own: the row stands (as with review_text) even if the entry fails.
            with core.sessions.begin() as session:
                reviewer.record_decision(session.connection(), *_row(rec))

        entries, spans = self._entries(jobs, store)
        appended = core.ledger.record_many(entries)
        for job, start in zip(jobs, spans, strict=True):
            for i, rec in enumerate(job.reviews):
                rec.decision.ledger_ref = str(appended[start + i].seq)
                assert rec.decision.decision_id is not None
                reviewer.set_ledger_ref(rec.decision.decision_id, rec.decision.ledger_ref)
            job.results = appended[start + len(job.reviews) : start + len(job.reviews) + len(job.entries)]

    @staticmethod
    def _entries(jobs: list[_Job], store: Callable[[ReviewRecord], None]) -> tuple[list[Entry], list[int]]:
        entries: list[Entry] = []
        spans: list[int] = []
        for job in jobs:
            spans.append(len(entries))
            for rec in job.reviews:
                if rec.decision.decision_id is None:
                    store(rec)
                entries.append(decision_entry(rec.decision))
            entries.extend(job.entries)
        return entries, spans


def _stored_already(rec: ReviewRecord) -> None:
    raise AssertionError("every decision row of the batch was inserted before its entry")


def _row(rec: ReviewRecord) -> tuple[ReviewDecision, Context, int]:
    return rec.decision, rec.ctx, rec.text_chars


def _resolve(job: _Job) -> None:
    if not job.done.done():
        job.done.set_result(job.results)


def _fail(jobs: list[_Job], exc: BaseException) -> None:
    for job in jobs:
        if job.done.done():
            continue
        if isinstance(exc, asyncio.CancelledError):  # shutting down: the callers are cancelled too
            job.done.cancel()
            continue
        job.done.set_exception(exc)
        job.done.exception()  # retrieved: a caller that went away leaves no "never retrieved" log
