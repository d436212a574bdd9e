"""Background batching of ledger appends for hot paths (the gateway): enqueue, return, be told later.

Issue #7 point 7 ("entries are batched for speed"): a request handler calls
:meth:`Batcher.submit` and gets a :class:`concurrent.futures.Future` at once; one writer thread
gathers whatever is queued, up to ``max_entries`` or ``max_wait_ms`` after the first arrival, and
appends it in one transaction (one fsync for the lot). ``asyncio.wrap_future`` (or
:meth:`Batcher.asubmit`) makes the future awaitable.

What the caller gets back, and when:

* The future resolves to an :class:`~synthguard.ledger.log.Appended` (seq, leaf hash, time) only
  after the batch's transaction committed with ``synchronous=FULL``: a resolved future is an
  acknowledgement, exactly as a return from ``Ledger.record``, and survives SIGKILL and power loss.
* Until then nothing is promised: a crash loses queued entries. A caller that must not lose one
  waits for the future (or, if it cannot, retries with the same ``idem_key`` after a restart: the
  retry then resolves to the first entry with ``duplicate=True``, never a second one).
* A bad entry (wrong event type, refs that are not JSON, too large) fails at ``submit`` or fails
  only its own future; a database failure fails every future of that batch.

Why hand-written: the standard library has the queue, the thread and the future; the policy
(size/time flush, per-entry failure isolation over one transaction) is ~100 lines.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import deque
from concurrent.futures import Future

from synthguard.errors import LedgerError
from synthguard.ledger.log import Appended, Entry, MerkleLog, check_entry


class Batcher:
    """One writer thread per ledger; started on the first :meth:`submit`, stopped by :meth:`close`."""

    def __init__(self, log: MerkleLog, *, max_entries: int = 1_000, max_wait_ms: float = 2.0) -> None:
        if max_entries < 1 or max_wait_ms < 0:
            raise LedgerError(
                "batch size must be >= 1 and the wait >= 0 ms", message_zh="批量须 >= 1，等待须 >= 0 毫秒"
            )
        self.log = log
        self.max_entries = max_entries
        self.max_wait_s = max_wait_ms / 1000
        self._queue: deque[tuple[Entry, Future[Appended]]] = deque()
        self._cond = threading.Condition()
        self._busy = 0  # entries taken from the queue and not yet resolved
        self._closed = False
        self._thread: threading.Thread | None = None
        self.batches = 0  # transactions written (for tests and stats)
        self._pid = os.getpid()

    def submit(self, entry: Entry) -> Future[Appended]:
        """Queue ``entry``; the future resolves once it is committed (see the module docstring)."""
        check_entry(entry)  # a malformed entry is the caller's error, raised here, not later
        future: Future[Appended] = Future()
        with self._cond:
            if self._closed:
                raise LedgerError("the ledger batcher is closed", message_zh="账本批量写入器已关闭")
            if self._pid != os.getpid():  # forked: the parent's thread and queue are not ours
                self._queue.clear()
                self._thread, self._busy, self._pid = None, 0, os.getpid()
            self._queue.append((entry, future))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ledger-batcher", daemon=True)
                self._thread.start()
            self._cond.notify_all()
        return future

    async def asubmit(self, entry: Entry) -> Appended:
        """``await`` form of :meth:`submit` for async handlers: returns once committed."""
        return await asyncio.wrap_future(self.submit(entry))

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted so far is resolved; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    def close(self) -> None:
        """Write what is queued, then stop the thread. Later submits raise."""
        with self._cond:
            self._closed = True
            thread = self._thread
            self._cond.notify_all()
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._closed)
                if not self._queue:
                    return  # closed and drained
                # Wait a little for company: one transaction (one fsync) for many entries.
                deadline = time.monotonic() + self.max_wait_s
                while len(self._queue) < self.max_entries and not self._closed:
                    left = deadline - time.monotonic()
                    if left <= 0 or not self._cond.wait(left):
                        break
                take = min(len(self._queue), self.max_entries)
                batch = [self._queue.popleft() for _ in range(take)]
                self._busy = take
            try:
                self._write(batch)
            finally:
                with self._cond:
                    self._busy = 0
                    self._cond.notify_all()

    def _write(self, batch: list[tuple[Entry, Future[Appended]]]) -> None:
        live = [(e, f) for e, f in batch if f.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            done = self.log.append_many([e for e, _ in live])
        except LedgerError as exc:
            if len(live) == 1 or exc.code != "ledger_error":
                for _, future in live:
                    future.set_exception(exc)
                return
            # One bad entry rolled back the whole batch: write the rest without it.
            for entry, future in live:
                try:
                    future.set_result(self.log.append_many([entry])[0])
                except BaseException as one:  # handed to the waiting caller
                    future.set_exception(one)
                self.batches += 1
            return
        except BaseException as exc:  # every waiter learns the batch failed
            for _, future in live:
                future.set_exception(exc)
            return
        self.batches += 1
        for (_, future), appended in zip(live, done, strict=True):
            future.set_result(appended)
