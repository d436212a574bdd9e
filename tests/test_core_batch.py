"""``Synthguard.label_files`` on its parallel batch paths (metadata only: ``watermark=False``).

What a user relies on: results and ledger entries come in input order, every file verifies, a file
is renamed into place only after its record and ledger entry committed (so a failed commit leaves
the originals untouched and no temp files), and labeling the same file twice in one call behaves as
two calls one after the other.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from synthguard import core
from synthguard.config import Settings
from synthguard.core import Synthguard
from synthguard.labels import batch, implicit
from synthguard.labels.sign import Ed25519Signer
from synthguard.store import LabelRecord
from tests.conftest import make_jpeg, make_png


@pytest.fixture(
    params=[("inline", 1), ("threads", 3), ("processes", 2)],
    ids=["inline", "three-threads", "two-processes"],
)
def workers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Every path, whatever the machine's cores and load average would choose."""
    mode, count = request.param
    monkeypatch.setattr(batch, "plan", lambda jobs, signer: (mode, count))
    return int(count)


def _inputs(folder: Path, count: int) -> list[Path]:
    folder.mkdir()
    return [
        (make_png if i % 3 == 0 else make_jpeg)(folder / f"f{i:02d}.{'png' if i % 3 == 0 else 'jpg'}")
        for i in range(count)
    ]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".sgtmp"))


def test_batch_keeps_input_order_and_every_file_verifies(
    sg: Synthguard, tmp_path: Path, workers: int
) -> None:
    paths = _inputs(tmp_path / "in", 24)
    paths.insert(5, tmp_path / "in" / "missing.jpg")
    out = tmp_path / "out"
    out.mkdir()
    outcomes = sg.label_files(paths, out_paths=[out / p.name for p in paths], watermark=False)
    assert [o.source for o in outcomes] == [str(p) for p in paths]
    assert not outcomes[5].ok and outcomes[5].error is not None and outcomes[5].error.code == "os_error"
    labeled = [o for o in outcomes if o.ok]
    assert len(labeled) == 24
    entries = sg.ledger.select()
    assert [e.content_id for e in entries] == [o.content_id for o in labeled]
    # Each record's id (its ledger idempotency key) is the id of the row holding its content ID.
    with sg.sessions() as session:
        rows = session.execute(select(LabelRecord.id, LabelRecord.content_id).order_by(LabelRecord.id)).all()
    assert [content_id for _, content_id in rows] == [o.content_id for o in labeled]
    keys = [json.loads(e.leaf)["idem"] for e in entries]
    assert keys == [f"label-record-{record_id}" for record_id, _ in rows]
    for outcome in labeled:
        inspection = sg.inspect_file(Path(outcome.path))
        assert inspection.integrity == "intact"
        assert inspection.label is not None and inspection.label["ProduceID"] == outcome.content_id
    assert _leftovers(out) == []


def test_files_are_renamed_only_after_their_records_commit(
    sg: Synthguard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    paths = _inputs(tmp_path / "in", 6)
    out = tmp_path / "out"
    out.mkdir()
    seen_at_commit: list[list[str]] = []
    save = sg._save_records

    def watching(pending: list[Any]) -> None:
        seen_at_commit.append(sorted(p.name for p in out.iterdir() if not p.name.endswith(".sgtmp")))
        save(pending)

    monkeypatch.setattr(sg, "_save_records", watching)
    outcomes = sg.label_files(paths, out_paths=[out / p.name for p in paths], watermark=False)
    assert all(o.ok for o in outcomes)
    assert seen_at_commit == [[]]  # one batch; no labeled file was visible before its commit
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)


def test_a_failed_commit_leaves_originals_untouched_and_no_temp_files(
    sg: Synthguard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    paths = _inputs(tmp_path / "in", 30)
    monkeypatch.setattr(core, "RECORD_BATCH", 4)  # fail with files still staged ahead by the threads
    before = {p: p.read_bytes() for p in paths}

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(sg.ledger, "record_many", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        sg.label_files(paths, watermark=False)  # in place
    assert {p: p.read_bytes() for p in paths} == before
    assert _leftovers(tmp_path / "in") == []
    monkeypatch.undo()
    assert sg.ledger.select() == []
    assert all(implicit.read_label(p).label is None for p in paths)


def test_the_same_file_twice_in_place_is_labeled_twice_in_order(
    sg: Synthguard, tmp_path: Path, workers: int
) -> None:
    first, other = make_jpeg(tmp_path / "a.jpg"), make_png(tmp_path / "b.png")
    outcomes = sg.label_files([first, other, first], watermark=False)
    assert all(o.ok for o in outcomes)
    inspection = sg.inspect_file(first)
    assert inspection.integrity == "intact"
    assert inspection.label is not None and inspection.label["ProduceID"] == outcomes[2].content_id
    assert [e.content_id for e in sg.ledger.select()] == [o.content_id for o in outcomes]


def test_one_files_output_is_the_next_files_input(sg: Synthguard, tmp_path: Path, workers: int) -> None:
    source = make_jpeg(tmp_path / "a.jpg")
    middle = tmp_path / "b.jpg"
    outcomes = sg.label_files([source, middle], out_paths=[middle, tmp_path / "c.jpg"], watermark=False)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    final = sg.inspect_file(tmp_path / "c.jpg")
    assert final.integrity == "intact"
    assert final.label is not None and final.label["ProduceID"] == outcomes[1].content_id


def test_progress_counts_every_file_once(sg: Synthguard, tmp_path: Path, workers: int) -> None:
    paths = [*_inputs(tmp_path / "in", 9), tmp_path / "in" / "nope.png"]
    steps: list[int] = []
    sg.label_files(
        paths, out_paths=[tmp_path / p.name for p in paths], watermark=False, progress=steps.append
    )
    assert sum(steps) == len(paths)


def test_plan_follows_batch_size_signer_file_size_and_idle_cores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = [(make_jpeg(tmp_path / "s.jpg"), None, None)] * 3
    large_file = tmp_path / "l.bin"
    large_file.write_bytes(bytes(batch.THREADS_ALWAYS_BYTES))
    large = [(large_file, None, None)] * 3
    many = small * batch.PROCESS_MIN_FILES
    signer = Ed25519Signer.generate()
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(os, "getloadavg", lambda: (6.0, 6.0, 6.0))  # both cores busy
    assert batch.plan(many, signer) == ("processes", 2)
    assert batch.plan(many, object()) == ("inline", 1)  # type: ignore[arg-type]  # not known to survive fork
    assert batch.plan(small, signer) == ("inline", 1)
    assert batch.plan(large, signer) == ("threads", batch.LABEL_WORKERS)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.2, 0.5, 0.5))  # idle
    assert batch.plan(small, signer) == ("threads", min(2, batch.LABEL_WORKERS))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})  # one core: nothing to run beside
    assert batch.plan(many, signer)[0] != "processes"


def test_worker_processes_label_a_batch_like_one_process_does(sg: Synthguard, tmp_path: Path) -> None:
    """The default plan for a big batch forks workers; the results match the inline path's."""
    paths = _inputs(tmp_path / "in", batch.PROCESS_MIN_FILES)
    assert batch.plan([(p, None, None) for p in paths], sg.producer_signer)[0] == "processes"
    out = tmp_path / "out"
    out.mkdir()
    ids = [f"ID{i:04d}" for i in range(len(paths))]
    outcomes = sg.label_files(
        paths, out_paths=[out / p.name for p in paths], produce_ids=ids, watermark=False
    )
    assert [o.content_id for o in outcomes] == ids
    for path, outcome in zip(paths, outcomes, strict=True):
        labeled = Path(outcome.path)
        assert sg.inspect_file(labeled).integrity == "intact"
        assert implicit.content_digest(labeled) == implicit.content_digest(path)
        assert outcome.label is not None and outcome.label["ProduceID"] == outcome.content_id
    assert [e.content_id for e in sg.ledger.select()] == ids
    assert _leftovers(out) == []


def _child_alive(pid: int) -> bool:
    try:
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return False


def test_the_core_keeps_its_label_workers_between_batches_until_closed(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch, "plan", lambda jobs, signer: ("processes", 2))
    paths = _inputs(tmp_path / "in", batch.PROCESS_MIN_FILES)
    sg = Synthguard.open(settings)
    try:
        pids = []
        for round_ in range(2):
            out = tmp_path / f"out{round_}"
            out.mkdir()
            outcomes = sg.label_files(paths, out_paths=[out / p.name for p in paths], watermark=False)
            assert all(o.ok for o in outcomes)
            kept = sg._label_workers._idle
            assert kept is not None
            pids.append(list(kept._pids))
        assert pids[0] == pids[1] and all(_child_alive(pid) for pid in pids[0])
    finally:
        sg.close()
    assert not any(_child_alive(pid) for pid in pids[0])


@pytest.mark.parametrize(("mode", "count", "expected"), [("processes", 2, [32, 32, 16]), ("inline", 1, [80])])
def test_the_last_files_of_a_parallel_batch_commit_a_few_dozen_at_a_time(
    sg: Synthguard,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    count: int,
    expected: list[int],
) -> None:
    """While the workers finish, so what is left to commit after them is small; inline, one commit."""
    paths = _inputs(tmp_path / "in", 80)  # fewer than AHEAD_FILES: every file is in the tail
    monkeypatch.setattr(batch, "plan", lambda jobs, signer: (mode, count))
    sizes: list[int] = []
    finish = Synthguard._finish_batch

    def counting(self: Synthguard, pending: list[Any]) -> None:
        if pending:
            sizes.append(len(pending))
        finish(self, pending)

    monkeypatch.setattr(Synthguard, "_finish_batch", counting)
    out = tmp_path / "out"
    out.mkdir()
    outcomes = sg.label_files(paths, out_paths=[out / p.name for p in paths], watermark=False)
    assert all(o.ok for o in outcomes)
    assert sizes == expected


def test_interrupting_a_process_batch_leaves_no_temp_files(
    sg: Synthguard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C in the middle: the workers finish their chunk and everything staged ahead goes."""
    paths = _inputs(tmp_path / "in", 80)
    monkeypatch.setattr(batch, "plan", lambda jobs, signer: ("processes", 2))
    monkeypatch.setattr(core, "RECORD_BATCH", 8)
    out = tmp_path / "out"
    out.mkdir()
    calls = 0

    def interrupt(done: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sg.label_files(paths, out_paths=[out / p.name for p in paths], watermark=False, progress=interrupt)
    assert _leftovers(out) == []
    renamed = sorted(p.name for p in out.iterdir())
    assert len(renamed) == 16  # the two batches of 8 committed before the interrupt, nothing else
    assert len(sg.ledger.select()) == 16


@pytest.mark.parametrize(
    ("files", "workers", "chunk_files", "expected"),
    [
        # A big batch: full chunks, few hand-offs; smaller ones at the end, so the workers finish together.
        (1000, 2, 32, [32] * 28 + [26, 20, 15, 11, 8, 6, 5, 4, 4, 4, 1]),
        (40, 2, 32, [10, 8, 6, 4, 4, 4, 4]),  # a short one: every worker gets a share
        (3, 4, 32, [1, 1, 1]),
        (17, 3, 8, [3, 3, 2, 2, 2, 1, 1, 1, 1, 1]),
    ],
)
def test_chunks_are_large_but_every_worker_gets_a_share(
    files: int, workers: int, chunk_files: int, expected: list[int]
) -> None:
    from concurrent.futures import Future

    sizes: list[int] = []

    def submit(chunk: list[batch.Job]) -> Future[list[str]]:
        sizes.append(len(chunk))
        future: Future[list[str]] = Future()
        future.set_result([str(job[0]) for job in chunk])
        return future

    jobs: list[batch.Job] = [(Path(f"/nonexistent/{i}.jpg"), None, None) for i in range(files)]
    results = list(batch.staged_in_order(submit, jobs, workers, chunk_files))
    assert results == [str(job[0]) for job in jobs]
    assert sizes == expected


def test_segments_split_only_where_a_job_reads_an_earlier_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    same_name = [(tmp_path / f"d{i}" / "a.jpg", None, None) for i in range(50)]  # in place, all apart
    assert [len(s) for s in batch.segments(list(same_name))] == [50]
    relative_then_absolute: list[batch.Job] = [
        (Path("x.jpg"), Path("out/x.jpg"), None),
        (Path("y.jpg"), None, None),
        (tmp_path / "sub" / ".." / "out" / "x.jpg", None, None),  # reads what job 0 writes
        (Path("z.jpg"), None, None),
        (Path("./z.jpg"), Path("z2.jpg"), None),  # reads what job 3 wrote in place
    ]
    assert [len(s) for s in batch.segments(relative_then_absolute)] == [2, 2, 1]
