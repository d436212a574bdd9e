"""Label many files at once: stage them on threads or worker processes, hand results back in order.

Why worker processes: a metadata-only label is a file read, a parse, a content digest, an Ed25519
signature and a new file written. The digest and the I/O release the GIL, but the rest (parsing,
the label's JSON, the temp file's name) is Python that holds it for ~0.3 ms per photo, so two
threads on two cores labeled 370 KB JPEGs only ~1.3x faster than one and spent 0.2 ms more CPU per
file handing the GIL back and forth. Forked workers share nothing but their results: each stages
complete temp files, and the calling process keeps what must stay in one place (the store records,
the ledger order, the renames; see ``Synthguard._finish_batch``).

``fork`` rather than ``spawn``/``forkserver``: a worker needs the signer and the format plugins the
parent already holds, and starting one takes ~2 ms instead of importing synthguard again (~300 ms,
more than labeling a few hundred photos). A worker never touches the parent's store connection,
threads or event loop; it only reads source files, signs and writes temp files, and it leaves with
``os._exit`` (multiprocessing's rule for forked children), so nothing inherited is finalised twice.
Other signers (an HSM session, a remote KMS client) may not survive a fork: they keep to threads.
The core keeps its workers between batches (:class:`KeptWorkers`), for the same signer and label
value: what they know is fixed at the fork, so a different one gets new workers.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import pickle
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Literal, Protocol, TypeVar

from synthguard.errors import SynthguardError
from synthguard.ids import new_content_id
from synthguard.labels import implicit
from synthguard.labels.model import KEYS, AIGCLabel
from synthguard.labels.security_data import Sm2Signer
from synthguard.labels.sign import Ed25519Signer, Signer, produce_signed
from synthguard.results import FileError, LabelOutcome

Job = tuple[Path, Path | None, str | None]  # source, output (None: in place), given content ID
# A job as a worker process gets it: paths as plain strings. A pickled Path is rebuilt from its parts
# on the other side (~6 us per path, then ~1 us more for its string), a str costs nothing.
WireJob = tuple[str, str | None, str | None]
Mode = Literal["inline", "threads", "processes"]

# Metadata-only labeling threads, one per core (2 to 4): their time goes to the digest, file reads
# and writes, which release the GIL; more threads only queue on it for the Python parts.
LABEL_WORKERS = min(4, max(2, os.cpu_count() or 1))
# Worker processes are worth their fork from this many files on (~2 ms each against ~0.5 ms a file).
PROCESS_MIN_FILES = 32
PROCESS_MAX_WORKERS = 8
# How far the workers may run ahead while the calling thread commits a batch (see staged_in_order):
# a commit of 256 photos takes ~15 ms, and with 128 files ahead one of two workers ran dry in it
# (idle CPU 10% of a 1,000-photo batch; 5% with 256).
AHEAD_FILES = 256
AHEAD_BYTES = 128 << 20
# Files per task handed to a worker, within a byte budget. A hand-off to a worker process costs the
# calling process ~0.5 ms (it was a ProcessPoolExecutor's helper threads, pickling, pipes): with 8
# files per task that was a fifth of its CPU per photo, and 2,000 files/s ran 18% slower than 32.
# Threads hand off for a few microseconds; smaller tasks spread a small batch over all of them.
CHUNK_FILES = 8
PROCESS_CHUNK_FILES = 32
CHUNK_BYTES = 16 << 20
# Files from this size on are labeled on LABEL_WORKERS threads whatever the load (see plan).
THREADS_ALWAYS_BYTES = 1 << 20
# Signers known to work unchanged in a forked child (plain key material, no sessions or sockets).
FORK_SAFE_SIGNERS = (Ed25519Signer, Sm2Signer)


class HasStaged(Protocol):
    @property
    def staged(self) -> implicit.Staged: ...


StagedT = TypeVar("StagedT", bound=HasStaged)
JobT = TypeVar("JobT", Job, WireJob)
ResultT = TypeVar("ResultT")
T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True, slots=True)
class ProducerSpec:
    """What every file of a metadata-only batch shares: who signs, which Label value, durability."""

    producer: str
    label: str
    signer: Signer
    fsync: bool
    digest: str = "sha256"  # the content digest algorithm the signature holds (see signing_digest)


@dataclass(frozen=True, slots=True)
class Produced:
    """A producer label written into a temp file beside its target: no record, nothing renamed yet.

    Small and picklable on purpose: a worker process sends it back to the one that keeps the store.
    """

    source: str | Path
    target: str | Path
    format: str
    algorithm: str  # of ``digest``, the content digest the label's own signature holds
    digest: bytes
    label: AIGCLabel
    label_json: str
    staged: implicit.Staged

    def __reduce__(self) -> tuple[Callable[..., Produced], tuple[object, ...]]:
        # Plain strings on the wire, and kept as strings: unpickling four Paths and a dataclass the
        # generic way took the calling process ~18 us per file, on the one core that also keeps the
        # store, and it only ever needs their text.
        label = self.label
        fields = tuple(getattr(label, key) for key in KEYS)
        staged = self.staged
        return _rebuild_produced, (
            str(self.source),
            str(self.target),
            self.format,
            self.algorithm,
            self.digest,
            fields,
            self.label_json,
            staged.tmp,
            staged.size,
        )


def _rebuild_produced(
    source: str,
    target: str,
    fmt: str,
    algorithm: str,
    digest: bytes,
    fields: tuple[str, ...],
    label_json: str,
    tmp: str,
    size: int,
) -> Produced:
    staged = implicit.Staged(tmp, target, size)
    label = AIGCLabel.checked_before(fields)  # built and checked in the worker
    return Produced(source, target, fmt, algorithm, digest, label, label_json, staged)


def produce(spec: ProducerSpec, job: Job | WireJob) -> Produced:
    """Read, digest, sign and stage one file (any thread or worker process)."""
    path, out, given_id = job
    target = out or path
    with implicit.open_source(path) as src:
        plugin = implicit.files.open_plugin(src, os.path.basename(path))
        digest = implicit.digest_opened(plugin, src, spec.digest)
        produce_id = given_id or new_content_id()
        aigc = produce_signed(spec.producer, produce_id, spec.label, digest, spec.signer, spec.digest)
        mode = implicit.source_mode(src)
        staged = implicit.stage_opened(plugin, src, aigc, target, fsync=spec.fsync, mode=mode)
    return Produced(path, target, plugin.name, spec.digest, digest, aigc, aigc.to_json(), staged)


def file_error(exc: SynthguardError) -> FileError:
    return FileError(code=exc.code, message=exc.message, message_zh=exc.message_zh)


def os_error(exc: OSError) -> FileError:
    return FileError(
        code="os_error",
        message=f"{exc.filename or ''}: {exc.strerror or exc}",
        message_zh=f"无法读写文件：{exc.filename or ''}（{exc.strerror or exc}）",
    )


def attempt(stage: Callable[[JobT], StagedT], job: JobT) -> StagedT | LabelOutcome:
    """``stage(job)``, or the failed outcome of a bad file (a bug still raises)."""
    try:
        return stage(job)
    except SynthguardError as exc:
        return LabelOutcome(source=str(job[0]), ok=False, error=file_error(exc))
    except OSError as exc:
        return LabelOutcome(source=str(job[0]), ok=False, error=os_error(exc))


def segments(jobs: list[Job]) -> Iterator[list[Job]]:
    """Split the jobs where one reads a file an earlier one writes.

    Renames wait for their batch's commit, so a job that reads an earlier job's target (the same
    file twice in place, or one file's output as another's input) must start after that rename,
    as it would labeling one file at a time.
    """
    start = 0
    targets = _Targets()
    for index, (path, out, _) in enumerate(jobs):
        if targets.holds(path):
            yield jobs[start:index]
            start, targets = index, _Targets()
        targets.add(out if out is not None else path)
    yield jobs[start:]


class _Targets:
    """The files a segment writes, asked "is this one of them?" by name first.

    Two paths to one file end in the same name (a final ".." names a folder, never a file we
    label), and ``os.path.abspath`` costs ~5 us a path, a tenth of what the calling process spends
    per photo: only paths whose name an earlier target has are made absolute, each once.
    """

    def __init__(self) -> None:
        self._pending: dict[str, list[Path]] = {}  # by name, not yet made absolute
        self._absolute: set[str] = set()

    def add(self, target: Path) -> None:
        self._pending.setdefault(target.name, []).append(target)

    def holds(self, path: Path) -> bool:
        if path.name not in self._pending:
            return False
        for target in self._pending[path.name]:
            self._absolute.add(os.path.abspath(target))
        self._pending[path.name] = []
        return os.path.abspath(path) in self._absolute


def plan(jobs: Sequence[Job], signer: Signer | None) -> tuple[Mode, int]:
    """How to stage a metadata-only batch: where (inline, threads, processes) and on how many.

    ``signer`` is None when files are not labeled by :func:`produce` alone (a caller-side stage
    function): those can use threads but not processes. Processes when the batch is large enough
    to pay for the fork and the signer survives one; otherwise threads, which pay for themselves
    with the work that runs without the GIL (digest, I/O: grows with file size, while the Python
    per file does not). Measured on 2 shared cores: with 1.9 MB PNGs two threads label 1.3x faster
    than one even when other jobs keep both cores busy; with 370 KB JPEGs they are faster only on
    idle cores. So: large files (by the median of the first few) always get ``LABEL_WORKERS``
    threads; small ones one thread per idle core, as ``make -l`` judges it (load average).
    """
    cores = _usable_cores()
    if (
        isinstance(signer, FORK_SAFE_SIGNERS)
        and len(jobs) >= PROCESS_MIN_FILES
        and cores > 1
        and sys.platform == "linux"  # macOS has fork, but its system libraries are not fork-safe
    ):
        return "processes", min(cores, PROCESS_MAX_WORKERS)
    sizes = sorted(_size_hint(job[0]) for job in jobs[:16])
    if sizes and sizes[len(sizes) // 2] >= THREADS_ALWAYS_BYTES:
        return "threads", LABEL_WORKERS
    try:
        idle = (os.cpu_count() or 1) - os.getloadavg()[0]
    except OSError:  # no load average on this platform
        return "threads", LABEL_WORKERS
    count = max(1, min(LABEL_WORKERS, int(idle + 0.5)))
    return ("threads", count) if count > 1 else ("inline", 1)


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _size_hint(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0  # the job reports the problem itself


# --- worker processes -------------------------------------------------------------------------------

_worker_spec: ProducerSpec | None = None


def _start_worker(spec: ProducerSpec) -> None:
    global _worker_spec
    _worker_spec = spec
    # Ctrl-C reaches the whole process group: the parent stops the batch and deletes what was
    # staged ahead, which it can only do if the workers finish the chunk they are on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _produce_chunk(chunk: list[WireJob]) -> list[Produced | LabelOutcome]:
    spec = _worker_spec
    assert spec is not None, "_start_worker runs first in every worker process"
    return stage_chunk(lambda job: produce(spec, job), chunk)


class Reply(Protocol[T_co]):
    """What ``staged_in_order`` needs of a submitted chunk: a ``Future`` has it."""

    def result(self) -> T_co: ...

    def cancel(self) -> bool: ...


class WorkerDied(RuntimeError):
    """A label worker process ended without answering (killed, or crashed in native code)."""


_DIED = (
    "a label worker process ended without answering; files it had staged may remain as .sgtmp "
    "temp files beside their targets"
)


class ForkedWorkers:
    """Label worker processes, forked once and kept by the caller, each fed through its own socket pair.

    Why not ``ProcessPoolExecutor``: its hand-off runs through two helper threads in the calling
    process (one feeds the call queue, one collects results and completes futures), so every chunk
    woke three threads of the process that also keeps the store, on a machine whose cores the
    workers already fill. Here the calling thread sends a chunk and later reads its answer itself.

    A chunk goes to the worker with the fewest chunks still to do (answers that have arrived are
    collected first, without waiting), so a worker that falls behind (it shares its core with the
    calling process, or got a large video) is given less, and the workers finish a batch together:
    with chunk ``i`` always on worker ``i % n``, one of two workers idled for up to a tenth of a
    1,000-photo batch at its end. Each worker answers its chunks in the order it got them, so the
    next answer from a chunk's worker, once that worker's earlier chunks are answered, is that
    chunk's: callers take answers in submission order (``staged_in_order`` does).
    """

    def __init__(self, spec: ProducerSpec, workers: int) -> None:
        self.spec = spec
        self._conns: list[Connection] = []
        self._pids: list[int] = []
        self._sent: list[int] = []  # chunks sent to each worker
        self._arrived: list[deque[tuple[str, object]]] = []  # answers read, not yet taken
        self._read: list[int] = []  # answers read from each worker's socket
        self._broken = False
        self._owner = os.getpid()
        # Format plugins imported now, or each worker would import them again (~250 ms each).
        implicit.registry.preload()
        # The children's garbage collector then leaves the inherited objects alone, instead of
        # touching (and so copying) every page of the parent's heap.
        gc.freeze()
        try:
            for _ in range(workers):
                self._fork(spec)
        except BaseException:
            self.close()
            raise
        finally:
            gc.unfreeze()

    def _fork(self, spec: ProducerSpec) -> None:
        mine, theirs = multiprocessing.Pipe()
        pid = os.fork()
        if pid == 0:  # the worker: it leaves with os._exit, so nothing inherited is finalised twice
            status = 1
            try:
                mine.close()
                for other in self._conns:  # the parent's ends to earlier workers
                    other.close()
                _serve(spec, theirs)
                status = 0
            finally:
                os._exit(status)
        theirs.close()
        self._conns.append(mine)
        self._pids.append(pid)
        self._sent.append(0)
        self._read.append(0)
        self._arrived.append(deque())

    def submit(self, chunk: list[Job]) -> Reply[list[Produced | LabelOutcome]]:
        worker = self._least_busy()
        wire: list[WireJob] = [
            (os.fspath(path), None if out is None else os.fspath(out), given_id)
            for path, out, given_id in chunk
        ]
        try:
            self._conns[worker].send(wire)
        except OSError:  # its end of the socket is gone
            self._broken = True
            raise WorkerDied(_DIED) from None
        self._sent[worker] += 1
        return _Answer(self, worker)

    def _least_busy(self) -> int:
        """The worker with the fewest chunks not yet answered (the first of equals)."""
        for worker, conn in enumerate(self._conns):
            while self._read[worker] < self._sent[worker] and conn.poll(0):
                self._receive(worker)
        to_do = [sent - read for sent, read in zip(self._sent, self._read, strict=True)]
        return to_do.index(min(to_do))

    def _receive(self, worker: int) -> None:
        """Read one whole answer from ``worker`` (waiting for it) into its arrived answers."""
        conn = self._conns[worker]
        try:
            conn.poll(None)  # wait where Ctrl-C may interrupt: nothing is read yet
            with sigint_deferred():  # but not halfway through a message (the rest would be lost)
                answer = conn.recv()
        except (EOFError, OSError):
            self._broken = True
            raise WorkerDied(_DIED) from None
        self._read[worker] += 1
        self._arrived[worker].append(answer)

    def answer(self, worker: int) -> tuple[str, object]:
        """``worker``'s oldest answer not yet taken, waiting for it if it has not arrived."""
        if not self._arrived[worker]:
            self._receive(worker)
        return self._arrived[worker].popleft()

    @property
    def workers(self) -> int:
        """How many worker processes this set has (none once closed)."""
        return len(self._pids)

    @property
    def reusable(self) -> bool:
        """Every answer read and every worker alive: the next batch can use these workers as they are."""
        in_step = self._sent == self._read and not any(self._arrived)
        return bool(self._conns) and in_step and not self._broken and self._owner == os.getpid()

    def close(self) -> None:
        """Tell every worker to stop and wait for it (a worker on a chunk finishes it first)."""
        if self._owner != os.getpid():  # a forked copy of the object: the workers are not ours
            self._conns, self._pids = [], []
            return
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.send(None)
            conn.close()
        for pid in self._pids:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        self._conns, self._pids = [], []

    def __enter__(self) -> ForkedWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Answer:
    """A chunk's answer, taken from its worker when asked for (it cannot be cancelled)."""

    __slots__ = ("_pool", "_value", "_worker")

    def __init__(self, pool: ForkedWorkers, worker: int) -> None:
        self._pool = pool
        self._worker = worker
        self._value: tuple[str, object] | None = None

    def cancel(self) -> bool:
        return False  # the worker has it already

    def result(self) -> list[Produced | LabelOutcome]:
        if self._value is None:
            self._value = self._pool.answer(self._worker)
        kind, value = self._value
        if kind == "error":
            raise value  # type: ignore[misc]  # an exception the worker raised
        return value  # type: ignore[return-value]  # "ok": what _produce_chunk returned


class KeptWorkers:
    """One set of label workers kept between batches: a service or a script labeling batch after
    batch forks them once, like ``exiftool -stay_open`` keeps its process.

    Forking two workers, their first chunk (copy-on-write faults) and waiting for them to exit cost
    ~10 ms per batch: 4% of labeling 1,000 photos. Workers are kept only for the same
    :class:`ProducerSpec` (the signer and label value are fixed at the fork) and only when the batch
    read every answer (an interrupted batch may leave one in a socket: those workers are stopped).
    A second batch running meanwhile (another thread, or one started inside this one) gets workers
    of its own for its duration.
    """

    def __init__(self) -> None:
        # Reentrant: close() from a progress callback of a batch in this thread must not deadlock.
        self._lock = threading.RLock()
        self._idle: ForkedWorkers | None = None
        self._leased = False
        self._closed = False

    @contextlib.contextmanager
    def lease(self, spec: ProducerSpec, workers: int) -> Iterator[ForkedWorkers]:
        """Workers for one batch: the kept ones when they fit, else new ones (kept afterwards)."""
        # Closed, or another batch has them (another thread, or one this thread is inside of).
        if self._closed or self._leased or not self._lock.acquire(blocking=False):
            with ForkedWorkers(spec, workers) as own:
                yield own
            return
        self._leased = True
        try:
            pool, self._idle = self._idle, None
            if pool is not None and not (pool.reusable and pool.spec == spec and pool.workers == workers):
                pool.close()
                pool = None
            if pool is None:
                pool = ForkedWorkers(spec, workers)
            try:
                yield pool
            finally:
                if pool.reusable and not self._closed:
                    self._idle = pool
                else:
                    pool.close()
        finally:
            self._leased = False
            self._lock.release()

    def close(self) -> None:
        """Stop the kept workers, after a batch in progress in another thread ends; keep none from now."""
        with self._lock:
            self._closed = True
            pool, self._idle = self._idle, None
        if pool is not None:
            pool.close()


@contextlib.contextmanager
def sigint_deferred() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) back inside the block: one that came meanwhile is raised right after.

    The handler is swapped rather than the signal masked: a process-directed signal goes to any
    thread that does not mask it, and Python then runs the handler in the main thread anyway.
    Only the main thread can swap handlers, and only it gets KeyboardInterrupt, so elsewhere (and
    under a handler installed outside Python) the block runs as it is.
    """
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous is None:
        yield
        return
    caught: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:  # delivered again, now to whatever handled it before
            signal.raise_signal(signal.SIGINT)


def _serve(spec: ProducerSpec, conn: Connection) -> None:
    """A worker's life: stage each chunk it is sent and answer, until told to stop (None or EOF)."""
    _start_worker(spec)
    with implicit.digest_algorithm(spec.digest):  # once, not per file
        _answer_chunks(conn)


def _answer_chunks(conn: Connection) -> None:
    while True:
        try:
            chunk = conn.recv()
        except EOFError:
            return
        if chunk is None:
            return
        answer: tuple[str, object]
        try:
            answer = ("ok", _produce_chunk(chunk))
        except BaseException as exc:  # a bug: the caller raises it (the chunk's files are discarded)
            answer = ("error", exc)
        try:
            conn.send(answer)
        except (pickle.PicklingError, TypeError, AttributeError):  # an exception that cannot travel
            conn.send(("error", RuntimeError(f"label worker: {answer[1]!r}")))


# --- ordered staging ------------------------------------------------------------------------------


def stage_chunk(stage: Callable[[JobT], StagedT], chunk: list[JobT]) -> list[StagedT | LabelOutcome]:
    results: list[StagedT | LabelOutcome] = []
    try:
        for job in chunk:
            results.append(attempt(stage, job))
    except BaseException:  # a bug, not a bad file: nobody will commit what this chunk staged
        for result in results:
            if not isinstance(result, LabelOutcome):
                result.staged.discard()
        raise
    return results


def thread_pool(workers: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(workers, thread_name_prefix="synthguard-label")


def staged_in_order(
    submit: Callable[[list[Job]], Reply[list[ResultT]]],
    jobs: list[Job],
    workers: int,
    chunk_files: int = CHUNK_FILES,
) -> Generator[ResultT, None, None]:
    """Stage ``jobs`` through ``submit`` (a pool's chunk runner); results in input order.

    Jobs go out in chunks of up to ``chunk_files`` files, so the calling thread wakes once per
    chunk, not per file. Chunks shrink towards the end (guided self-scheduling: a chunk is at most
    the remaining jobs over twice the workers, and at least an eighth of ``chunk_files`` unless the
    batch is too short for that), so a short batch gives every worker a share and the workers of a
    long one finish together instead of one idling while another works through a last full chunk.
    Workers run ahead of the consumer (which commits a batch now and then) by up to
    ``AHEAD_FILES`` files and ``AHEAD_BYTES`` of input, at least one chunk per worker: a batch of
    large videos never holds more than a few staged copies beyond the committed ones. If the
    consumer stops (an error, an interrupt), what was staged ahead is deleted once the chunks in
    flight finish.
    """
    queue: deque[tuple[Reply[list[ResultT]], int, int]] = deque()
    smallest = max(1, min(chunk_files // 8, len(jobs) // (2 * workers)))
    rest = iter(jobs)
    unsent = len(jobs)
    ahead_files = ahead_bytes = 0
    done: deque[ResultT] = deque()  # a chunk's results not yet handed out

    def submit_more() -> None:
        nonlocal ahead_files, ahead_bytes, unsent
        while len(queue) < workers or (ahead_files < AHEAD_FILES and ahead_bytes < AHEAD_BYTES):
            chunk: list[Job] = []
            size = 0
            most = max(smallest, min(chunk_files, -(-unsent // (2 * workers))))
            while len(chunk) < most and size < CHUNK_BYTES:
                job = next(rest, None)
                if job is None:
                    break
                chunk.append(job)
                size += _size_hint(job[0])
            if not chunk:
                return
            queue.append((submit(chunk), len(chunk), size))
            unsent -= len(chunk)
            ahead_files += len(chunk)
            ahead_bytes += size

    try:
        submit_more()
        while queue:
            future, files, size = queue.popleft()
            done.extend(future.result())
            ahead_files -= files
            ahead_bytes -= size
            submit_more()
            while done:
                yield done.popleft()
    finally:
        # Cancel all first (a thread pool then starts none of them), then wait for the rest.
        cancelled = [future.cancel() for future, _, _ in queue]
        for (future, _, _), was_cancelled in zip(queue, cancelled, strict=True):
            if not was_cancelled:
                with contextlib.suppress(BaseException):
                    done.extend(future.result())
        for ahead in done:
            staged = getattr(ahead, "staged", None)  # a failed file's outcome has nothing staged
            if isinstance(staged, implicit.Staged):
                staged.discard()
