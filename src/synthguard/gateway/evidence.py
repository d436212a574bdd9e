"""The gateway's evidence writer: review decisions and ledger entries, group-committed (Art. 10, 16).

Each answer needs its records durable before it leaves: the input decision (a ``review_decisions``
row and its ``review_decision`` ledger entry, the row pointing back at the entry) and the answer's
own ``gateway.generated`` entry. Written one by one that was a row commit, a FULL-sync ledger
commit, a ``ledger_ref`` update and another ledger commit per request, each waiting for SQLite's
single write lock. Here they go into ONE ledger transaction (:meth:`Ledger.transaction`, the same
``synchronous=FULL`` commit as every ledger append), and requests that arrive while a commit is in
flight share the next one: group commit with no timer, so a lone request commits at once and a
busy gateway pays one fsync for many answers.

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
from synthguard.review import Context, ReviewDecision

if TYPE_CHECKING:
    from synthguard.core import Synthguard
    from synthguard.ledger import Appended, Entry


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
        self.commits = 0  # transactions written (tests and stats)

    async def commit(self, reviews: list[ReviewRecord], entries: list[Entry]) -> list[Appended]:
        """Store ``reviews`` and log them and ``entries`` durably; the entries' ``Appended`` back."""
        from synthguard.ledger.log import check_entry

        if not reviews and not entries:
            return []
        for entry in entries:
            check_entry(entry)  # a malformed entry is this caller's error, never its batch's
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # an app served again on a new loop (tests): a fresh queue
            self._loop, self._queue, self._writer = loop, [], None
        job = _Job(list(reviews), list(entries), loop.create_future())
        self._queue.append(job)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._drain())
        # shield: a cancelled caller must not cancel the future the writer resolves.
        return await asyncio.shield(job.done)

    async def aclose(self) -> None:
        """Wait until everything queued is committed (the app's shutdown, before the core closes)."""
        writer = self._writer
        if writer is not None and self._loop is asyncio.get_running_loop():
            await asyncio.gather(writer, return_exceptions=True)

    async def _drain(self) -> None:
        while self._queue:
            jobs, self._queue = self._queue, []
            try:
                await in_thread(self._write, jobs)
            except BaseException as exc:
                if len(jobs) == 1 or isinstance(exc, asyncio.CancelledError):
                    _fail(jobs, exc)
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                    continue
                # One job's failure rolled back the lot: write the others on their own.
                for job in jobs:
                    try:
                        await in_thread(self._write, [job])
                    except Exception as one:
                        _fail([job], one)
                    else:
                        _resolve(job)
                continue
            for job in jobs:
                _resolve(job)

    def _write(self, jobs: list[_Job]) -> None:
        """One transaction for every job: rows, entries, then each row's ``ledger_ref``."""
        inserted: list[ReviewRecord] = []
        try:
            self._write_once(jobs, inserted)
        except BaseException:
            for rec in inserted:  # rolled back: a retry must store the row again
                rec.decision.decision_id, rec.decision.ledger_ref = None, ""
            raise
        self.commits += 1

    def _write_once(self, jobs: list[_Job], inserted: list[ReviewRecord]) -> None:
        core = self.core
        ledger, reviewer = core.ledger, core.reviewer
        bind = core.sessions.kw.get("bind")
        shared = bind is not None and ledger.shares_database(bind)
        if not shared:  # a ledger in another database: rows first, then the entries
            self._write_apart(jobs)
            return
        with ledger.transaction() as conn:

            def store(rec: ReviewRecord) -> None:
                reviewer.record_decision(conn, *_row(rec))
                inserted.append(rec)

            entries, spans = self._entries(jobs, store)
            appended = ledger.record_many(entries, conn=conn)
            for job, start in zip(jobs, spans, strict=True):
                for i, rec in enumerate(job.reviews):
                    ref = str(appended[start + i].seq)
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
