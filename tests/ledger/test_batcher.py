"""The background batcher (``Ledger.submit``): futures resolve once committed, in few transactions,
a bad entry fails alone, close drains the queue, and every entry is proven under a checkpoint."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future

import pytest

from synthguard.errors import LedgerError
from synthguard.ledger import Appended, Entry, Ledger, leaf_hash, verify_inclusion
from synthguard.ledger.batcher import Batcher
from tests.ledger.test_merkle import ref_mth


def test_submits_from_many_threads_commit_in_few_transactions_and_verify(ledger: Ledger) -> None:
    futures: list[Future[Appended]] = []
    lock = threading.Lock()

    def worker(t: int) -> None:
        for k in range(100):
            f = ledger.submit(Entry("gateway.request", f"T{t}-{k}", {"k": k}))
            with lock:
                futures.append(f)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done = [f.result(timeout=30) for f in futures]
    assert sorted(a.seq for a in done) == list(range(400))  # none lost, none twice
    assert ledger.batcher.batches < 400  # grouped: one fsync for many
    head = ledger.checkpoint()
    assert head.size == 400
    entries = ledger.select()
    assert bytes(head.root) == ref_mth([e.leaf for e in entries])
    for appended in done[::37]:
        verify_inclusion(ledger.inclusion(appended.seq, head.size), appended.leaf_hash, head.root)
        assert leaf_hash(entries[appended.seq].leaf) == appended.leaf_hash


def test_a_resolved_future_means_the_entry_is_already_in_the_database(ledger: Ledger) -> None:
    appended = ledger.submit(Entry("gateway.request", "R1")).result(timeout=10)
    other = Ledger(ledger.settings)  # a second process's view: only committed rows are visible
    try:
        assert [e.content_id for e in other.select()] == ["R1"]
        assert other.store.size() == appended.seq + 1
    finally:
        other.close()


def test_a_bad_entry_fails_only_its_own_future(ledger: Ledger) -> None:
    batcher = Batcher(ledger.log, max_entries=100, max_wait_ms=50)
    good = [batcher.submit(Entry("a.b", f"G{k}")) for k in range(3)]
    bad = batcher.submit(Entry("a.b", "BAD", {"x": float("nan")}))
    more = batcher.submit(Entry("a.b", "G3"))
    with pytest.raises(LedgerError, match="JSON"):
        bad.result(timeout=10)
    assert [f.result(timeout=10).seq for f in [*good, more]] == [0, 1, 2, 3]
    batcher.close()


def test_malformed_entries_are_refused_at_submit(ledger: Ledger) -> None:
    with pytest.raises(LedgerError):
        ledger.submit(Entry("Not A Type"))


def test_close_commits_what_is_queued_and_refuses_more(ledger: Ledger) -> None:
    batcher = Batcher(ledger.log, max_entries=1000, max_wait_ms=500)
    futures = [batcher.submit(Entry("a.b", f"Q{k}")) for k in range(50)]
    batcher.close()
    assert all(f.done() for f in futures)
    assert ledger.store.size() == 50
    with pytest.raises(LedgerError):
        batcher.submit(Entry("a.b"))


def test_idempotency_keys_hold_through_the_batcher(ledger: Ledger) -> None:
    first = ledger.submit(Entry("a.b", "I", idem_key="req-1"))
    again = ledger.submit(Entry("a.b", "I", idem_key="req-1"))
    a, b = first.result(timeout=10), again.result(timeout=10)
    assert a.seq == b.seq and b.duplicate and ledger.store.size() == 1


def test_asubmit_is_awaitable(ledger: Ledger) -> None:
    async def main() -> list[Appended]:
        return list(await asyncio.gather(*(ledger.asubmit(Entry("a.b", f"A{k}")) for k in range(20))))

    done = asyncio.run(main())
    assert sorted(a.seq for a in done) == list(range(20))
    assert ledger.batcher.flush(timeout=5)
