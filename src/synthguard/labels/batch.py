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
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, TypeVar

from synthguard.errors import SynthguardError
from synthguard.ids import new_content_id
from synthguard.labels import implicit
from synthguard.labels.model import KEYS, AIGCLabel
from synthguard.labels.security_data import Sm2Signer
from synthguard.labels.sign import Ed25519Signer, Signer, sign_producer
from synthguard.results import FileError, LabelOutcome

Job = tuple[Path, Path | None, str | None]  # source, output (None: in place), given content ID
Mode = Literal["inline", "threads", "processes"]

# Metadata-only labeling threads, one per core (2 to 4): their time goes to the digest, file reads
# and writes, which release the GIL; more threads only queue on it for the Python parts.
LABEL_WORKERS = min(4, max(2, os.cpu_count() or 1))
# Worker processes are worth their fork from this many files on (~2 ms each against ~0.5 ms a file).
PROCESS_MIN_FILES = 32
PROCESS_MAX_WORKERS = 8
# How far the workers may run ahead while the calling thread commits a batch (see staged_in_order).
AHEAD_FILES = 128
AHEAD_BYTES = 64 << 20
# Files per task handed to a worker, within a byte budget. A hand-off to a worker process costs the
# calling process ~0.5 ms (pickling, two helper threads of ProcessPoolExecutor, pipes): with 8 files
# per task that was a fifth of its CPU per photo, and 2,000 files/s ran 18% slower than with 32.
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
ResultT = TypeVar("ResultT")


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

    source: Path
    target: Path
    format: str
    algorithm: str  # of ``digest``, the content digest the label's own signature holds
    digest: bytes
    label: AIGCLabel
    label_json: str
    staged: implicit.Staged

    def __reduce__(self) -> tuple[Callable[..., Produced], tuple[object, ...]]:
        # Plain strings on the wire: unpickling four Paths and a dataclass the generic way took the
        # calling process ~18 us per file, on the one core that also keeps the store.
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
    target_path = Path(target)
    staged = implicit.Staged(tmp, target_path, size)
    return Produced(Path(source), target_path, fmt, algorithm, digest, AIGCLabel(*fields), label_json, staged)


def produce(spec: ProducerSpec, job: Job) -> Produced:
    """Read, digest, sign and stage one file (any thread or worker process)."""
    path, out, given_id = job
    target = out or path
    with implicit.open_source(path) as src:
        plugin = implicit.files.open_plugin(src, path.name)
        digest = implicit.digest_opened(plugin, src, spec.digest)
        label = AIGCLabel.produce(spec.producer, given_id or new_content_id(), spec.label)
        aigc = sign_producer(label, digest, spec.signer, spec.digest)
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


def attempt(stage: Callable[[Job], StagedT], job: Job) -> StagedT | LabelOutcome:
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
    targets: set[str] = set()
    for index, (path, out, _) in enumerate(jobs):
        if os.path.abspath(path) in targets:
            yield jobs[start:index]
            start, targets = index, set()
        targets.add(os.path.abspath(out if out is not None else path))
    yield jobs[start:]


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


def _produce_chunk(chunk: list[Job]) -> list[Produced | LabelOutcome]:
    spec = _worker_spec
    assert spec is not None, "_start_worker runs first in every worker process"
    return stage_chunk(lambda job: produce(spec, job), chunk)


def process_pool(spec: ProducerSpec, workers: int) -> ProcessPoolExecutor:
    """Forked workers that run :func:`produce` with ``spec``; all started before this returns.

    ``gc.freeze`` first: the children's garbage collector then leaves the inherited objects alone,
    instead of touching (and so copying) every page of the parent's heap.
    """
    implicit.registry.preload()
    pool = ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("fork"), initializer=_start_worker, initargs=(spec,)
    )
    gc.freeze()
    try:
        # With "fork", the first submit starts every worker (no dynamic spawning).
        pool.submit(int).result()
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        gc.unfreeze()
    return pool


def submit_to_processes(pool: Executor, chunk: list[Job]) -> Future[list[Produced | LabelOutcome]]:
    return pool.submit(_produce_chunk, chunk)


# --- ordered staging ------------------------------------------------------------------------------


def stage_chunk(stage: Callable[[Job], StagedT], chunk: list[Job]) -> list[StagedT | LabelOutcome]:
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
    submit: Callable[[list[Job]], Future[list[ResultT]]],
    jobs: list[Job],
    workers: int,
    chunk_files: int = CHUNK_FILES,
) -> Generator[ResultT, None, None]:
    """Stage ``jobs`` through ``submit`` (a pool's chunk runner); results in input order.

    Jobs go out in chunks of up to ``chunk_files`` files, so the calling thread wakes once per
    chunk, not per file; a short batch is cut into at least two chunks per worker, so every
    worker gets a share. Workers run ahead of the consumer (which commits a batch now and then) by up to
    ``AHEAD_FILES`` files and ``AHEAD_BYTES`` of input, at least one chunk per worker: a batch of
    large videos never holds more than a few staged copies beyond the committed ones. If the
    consumer stops (an error, an interrupt), what was staged ahead is deleted once the chunks in
    flight finish.
    """
    queue: deque[tuple[Future[list[ResultT]], int, int]] = deque()
    chunk_files = max(1, min(chunk_files, -(-len(jobs) // (2 * workers))))
    rest = iter(jobs)
    ahead_files = ahead_bytes = 0
    done: deque[ResultT] = deque()  # a chunk's results not yet handed out

    def submit_more() -> None:
        nonlocal ahead_files, ahead_bytes
        while len(queue) < workers or (ahead_files < AHEAD_FILES and ahead_bytes < AHEAD_BYTES):
            chunk: list[Job] = []
            size = 0
            while len(chunk) < chunk_files and size < CHUNK_BYTES:
                job = next(rest, None)
                if job is None:
                    break
                chunk.append(job)
                size += _size_hint(job[0])
            if not chunk:
                return
            queue.append((submit(chunk), len(chunk), size))
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
        for future, _, _ in queue:
            future.cancel()
        for future, _, _ in queue:
            if not future.cancelled():
                with contextlib.suppress(BaseException):
                    done.extend(future.result())
        for ahead in done:
            staged = getattr(ahead, "staged", None)  # a failed file's outcome has nothing staged
            if isinstance(staged, implicit.Staged):
                staged.discard()
