"""``ForkedWorkers``: label worker processes fed through their own sockets, answers in order.

What the batch path relies on: chunk ``i``'s answer is chunk ``i``'s whatever the worker count, a
bad file is an outcome (not an error), a bug in a worker is raised in the caller, a worker that
dies is a clear error rather than a hang, and closing leaves no process behind.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from synthguard.labels import batch
from synthguard.labels.batch import ForkedWorkers, ProducerSpec, WorkerDied
from synthguard.labels.sign import Ed25519Signer
from synthguard.results import LabelOutcome
from tests.conftest import PRODUCER, make_jpeg

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="worker processes are forked")


@pytest.fixture
def spec() -> ProducerSpec:
    return ProducerSpec(PRODUCER, "1", Ed25519Signer.generate(), fsync=False, digest="blake3")


def _jobs(folder: Path, count: int) -> list[batch.Job]:
    folder.mkdir()
    out = folder / "out"
    out.mkdir()
    jobs: list[batch.Job] = []
    for index in range(count):
        path = make_jpeg(folder / f"f{index:02d}.jpg")
        jobs.append((path, out / path.name, f"ID{index:02d}"))
    return jobs


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return os.waitpid(pid, os.WNOHANG) == (0, 0)


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_answers_come_back_in_submission_order(spec: ProducerSpec, tmp_path: Path, workers: int) -> None:
    jobs = _jobs(tmp_path / "in", 11)
    with ForkedWorkers(spec, workers) as pool:
        answers = [pool.submit(jobs[i : i + 2]) for i in range(0, len(jobs), 2)]
        results = [result for answer in answers for result in answer.result()]
    ids = [result.label.ProduceID for result in results if isinstance(result, batch.Produced)]
    assert ids == [job[2] for job in jobs]
    for result in results:
        assert isinstance(result, batch.Produced)
        assert os.path.exists(result.staged.tmp)  # staged, not renamed: the caller commits
        result.staged.discard()


def test_a_chunk_goes_to_the_worker_with_the_least_left_to_do(spec: ProducerSpec, tmp_path: Path) -> None:
    """A worker that falls behind gets no more until it catches up; answers still come in order."""
    jobs = _jobs(tmp_path / "in", 4)
    with ForkedWorkers(spec, 2) as pool:
        slow = pool._pids[0]
        os.kill(slow, signal.SIGSTOP)
        try:
            answers = [pool.submit(jobs[:1]), pool.submit(jobs[1:2])]  # one each
            for job in jobs[2:]:
                assert pool._conns[1].poll(30)  # the running worker has answered its last chunk
                answers.append(pool.submit([job]))
            assert [answer._worker for answer in answers] == [0, 1, 1, 1]
        finally:
            os.kill(slow, signal.SIGCONT)
        results = [result for answer in answers for result in answer.result()]
        assert pool.reusable
    assert [r.label.ProduceID for r in results if isinstance(r, batch.Produced)] == [j[2] for j in jobs]
    for result in results:
        assert isinstance(result, batch.Produced)
        result.staged.discard()


def test_a_bad_file_is_an_outcome_and_the_worker_goes_on(spec: ProducerSpec, tmp_path: Path) -> None:
    jobs = _jobs(tmp_path / "in", 2)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really")
    with ForkedWorkers(spec, 1) as pool:
        first = pool.submit([jobs[0], (broken, None, None), jobs[1]]).result()
    assert isinstance(first[1], LabelOutcome) and not first[1].ok
    assert first[1].error is not None and first[1].error.code == "corrupt_file"
    assert all(isinstance(result, batch.Produced) for result in (first[0], first[2]))


def test_a_bug_in_a_worker_is_raised_in_the_caller(
    spec: ProducerSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = _jobs(tmp_path / "in", 1)

    def broken_produce(spec: ProducerSpec, job: batch.Job) -> batch.Produced:
        raise ZeroDivisionError("a bug, not a bad file")

    monkeypatch.setattr(batch, "produce", broken_produce)  # inherited by the forked workers
    with ForkedWorkers(spec, 1) as pool, pytest.raises(ZeroDivisionError, match="a bug"):
        pool.submit(jobs).result()
    assert not list((tmp_path / "in" / "out").iterdir())


def test_a_worker_that_dies_is_an_error_not_a_hang(spec: ProducerSpec, tmp_path: Path) -> None:
    jobs = _jobs(tmp_path / "in", 1)
    pool = ForkedWorkers(spec, 2)
    try:
        victim = pool._pids[0]
        os.kill(victim, signal.SIGKILL)
        with pytest.raises(WorkerDied, match="ended without answering"):
            pool.submit(jobs).result()
    finally:
        pool.close()


def test_close_stops_every_worker(spec: ProducerSpec) -> None:
    pool = ForkedWorkers(spec, 2)
    pids = list(pool._pids)
    assert all(_alive(pid) for pid in pids)
    pool.close()
    pool.close()  # twice is harmless
    assert not any(_alive(pid) for pid in pids)


def test_sending_to_a_dead_worker_is_the_same_error(spec: ProducerSpec, tmp_path: Path) -> None:
    jobs = _jobs(tmp_path / "in", 1)
    pool = ForkedWorkers(spec, 1)
    try:
        os.kill(pool._pids[0], signal.SIGKILL)
        os.waitpid(pool._pids[0], 0)
        with pytest.raises(WorkerDied):
            for _ in range(200):  # the socket buffer takes a few chunks before the send fails
                pool.submit(jobs * 30)
    finally:
        pool.close()


def test_ctrl_c_waits_until_an_answer_is_read_whole() -> None:
    """A SIGINT while an answer is being read is raised after it, never halfway through it."""
    import time

    original = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        reached = False
        with pytest.raises(KeyboardInterrupt), batch.sigint_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            reached = True
        assert reached
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back
        with batch.sigint_deferred():  # nothing came: nothing raised after
            time.sleep(0.01)
    finally:
        signal.signal(signal.SIGINT, original)


# --- workers kept between batches ------------------------------------------------------------------


def test_kept_workers_serve_the_next_batch_with_the_same_spec(spec: ProducerSpec, tmp_path: Path) -> None:
    jobs = _jobs(tmp_path / "in", 2)
    keeper = batch.KeptWorkers()
    try:
        with keeper.lease(spec, 2) as pool:
            first = list(pool._pids)
            for result in pool.submit(jobs).result():
                assert isinstance(result, batch.Produced)
                result.staged.discard()
        assert all(_alive(pid) for pid in first)  # kept, idle
        with keeper.lease(spec, 2) as pool:
            assert pool._pids == first
        other = ProducerSpec(PRODUCER, "2", spec.signer, fsync=False, digest="blake3")
        with keeper.lease(other, 2) as pool:  # another Label value: workers forked for it
            assert not set(pool._pids) & set(first)
            second = list(pool._pids)
        assert not any(_alive(pid) for pid in first)
    finally:
        keeper.close()
    assert not any(_alive(pid) for pid in second)


def test_workers_with_an_unread_answer_are_not_kept(spec: ProducerSpec, tmp_path: Path) -> None:
    jobs = _jobs(tmp_path / "in", 1)
    keeper = batch.KeptWorkers()
    try:
        with keeper.lease(spec, 1) as pool:
            pool.submit(jobs)  # never read: the socket still holds the answer
            pids = list(pool._pids)
        assert not any(_alive(pid) for pid in pids)
        with keeper.lease(spec, 1) as pool:  # a fresh worker, in step with its socket
            assert pool._pids != pids
            (result,) = pool.submit(jobs).result()
            assert isinstance(result, batch.Produced)
            assert result.label.ProduceID == jobs[0][2]
    finally:
        keeper.close()


def test_workers_after_a_death_are_replaced(spec: ProducerSpec, tmp_path: Path) -> None:
    jobs = _jobs(tmp_path / "in", 1)
    keeper = batch.KeptWorkers()
    try:
        with pytest.raises(WorkerDied), keeper.lease(spec, 1) as pool:
            os.kill(pool._pids[0], signal.SIGKILL)
            pool.submit(jobs).result()
        with keeper.lease(spec, 1) as pool:
            (result,) = pool.submit(jobs).result()
            assert isinstance(result, batch.Produced)
    finally:
        keeper.close()


def test_a_second_batch_meanwhile_gets_workers_of_its_own(spec: ProducerSpec) -> None:
    keeper = batch.KeptWorkers()
    try:
        with keeper.lease(spec, 1) as shared, keeper.lease(spec, 1) as own:
            assert own is not shared
            own_pids = list(own._pids)
            shared_pids = list(shared._pids)
        assert not any(_alive(pid) for pid in own_pids)  # stopped with its batch
        assert all(_alive(pid) for pid in shared_pids)
    finally:
        keeper.close()
    assert not any(_alive(pid) for pid in shared_pids)


def test_closing_during_a_batch_stops_its_workers_when_it_ends(spec: ProducerSpec) -> None:
    """close() from the batch's own thread (a progress callback) neither deadlocks nor keeps them."""
    keeper = batch.KeptWorkers()
    with keeper.lease(spec, 1) as pool:
        pids = list(pool._pids)
        keeper.close()
        assert all(_alive(pid) for pid in pids)  # the batch still has them
    assert not any(_alive(pid) for pid in pids)
    with keeper.lease(spec, 1) as pool:  # closed: workers for this batch only
        late = list(pool._pids)
    assert not any(_alive(pid) for pid in late)
