"""Both or neither: a label record and its ledger entry, a purge's erasure and its own entry.

Issue #7 crash gaps: these were two transactions each; now, with the ledger in the store's
database (the default), each pair commits in one (``Ledger.transaction``). Shown two ways: a
failure injected after the first statement rolls back both, and SIGKILL at random moments never
leaves one without the other.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synthguard.config import Settings
from synthguard.core import Synthguard, _LabelRow, _Pending
from synthguard.labels.implicit import Staged
from synthguard.ledger import Ledger
from synthguard.ledger.log import MerkleLog
from synthguard.results import LabelOutcome
from tests.conftest import make_png
from tests.ledger.conftest import FakeClock
from tests.ledger.test_merkle import ref_mth

CHILD = Path(__file__).with_name("_label_crash_child.py")


class Injected(RuntimeError):
    pass


def _labels_and_entries(db: Path) -> tuple[set[int], set[int]]:
    conn = sqlite3.connect(db)
    try:
        labels = {int(r[0]) for r in conn.execute("SELECT id FROM label_records")}
        keys = conn.execute(
            "SELECT idem_key FROM ledger_entries WHERE idem_key LIKE 'label-record-%'"
        ).fetchall()
    finally:
        conn.close()
    return labels, {int(k.removeprefix("label-record-")) for (k,) in keys}


def _fail_after_first_statement(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make the ledger append raise after the store rows went in (inside the same transaction)."""
    calls: list[int] = []

    def boom(self: MerkleLog, *args: object, **kwargs: object) -> object:
        calls.append(1)
        raise Injected("disk unplugged between the two writes")

    monkeypatch.setattr(MerkleLog, "_append", boom)
    return calls


def test_label_record_and_its_entry_commit_together(sg: Synthguard, tmp_path: Path) -> None:
    sg.label_file(make_png(tmp_path / "a.png"), tmp_path / "b.png")
    labels, logged = _labels_and_entries(sg.settings.data_dir / "synthguard.db")
    assert len(labels) == 1 and labels == logged
    assert [e.event_type for e in sg.ledger.select()] == ["label.issued"]


def test_failure_after_the_label_insert_leaves_neither(
    sg: Synthguard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_png(tmp_path / "a.png")
    calls = _fail_after_first_statement(monkeypatch)
    with pytest.raises(Injected):
        sg.label_file(source, tmp_path / "b.png")
    assert calls, "the ledger append ran after the record insert"
    assert _labels_and_entries(sg.settings.data_dir / "synthguard.db") == (set(), set())
    monkeypatch.undo()
    sg.label_file(source, tmp_path / "c.png")  # the ledger's cached state is still right
    labels, logged = _labels_and_entries(sg.settings.data_dir / "synthguard.db")
    assert len(labels) == 1 and labels == logged
    assert sg.ledger.store.size() == 1


def test_failure_after_the_erasure_leaves_personal_data_and_no_purge_entry(
    ledger: Ledger, ledger_settings: Settings, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger.record("generation.input", "OLD", user_id="alice", personal={"ip": "198.51.100.1"})
    clock.advance(230)
    _fail_after_first_statement(monkeypatch)
    with pytest.raises(Injected):
        ledger.purge()
    monkeypatch.undo()
    assert ledger.vault.open([0]).keys() == {0}  # not erased ...
    assert [e.event_type for e in ledger.select()] == ["generation.input"]  # ... and not logged
    assert [e.content_id for e in ledger.select(user_id="alice")] == ["OLD"]
    result = ledger.purge()  # the retry does both
    assert result.personal_records_erased == 1 and result.purge_entry_seq == 1
    assert ledger.vault.open([0]) == {}


def test_an_append_inside_a_rolled_back_transaction_is_forgotten(ledger: Ledger) -> None:
    from synthguard.ledger import Entry

    ledger.record("a.b", "X")
    with pytest.raises(Injected), ledger.transaction() as conn:
        ledger.record_many([Entry("a.b", "ROLLED-BACK")], conn=conn)
        raise Injected("caller failed after logging")
    ledger.record("a.b", "Y")
    assert [e.content_id for e in ledger.select()] == ["X", "Y"]
    leaves = [e.leaf for e in ledger.select()]
    assert bytes(ledger.checkpoint().root) == ref_mth(leaves)


def test_transactions_after_a_failed_one_commit_on_a_fresh_connection(ledger: Ledger) -> None:
    """SQLite keeps one write connection open across transactions; a failed one drops it, and
    the next transactions commit (and chain) as before."""
    from synthguard.ledger import Entry

    with pytest.raises(Injected), ledger.transaction() as conn:
        ledger.record_many([Entry("a.b", "ROLLED-BACK")], conn=conn)
        raise Injected("caller failed after logging")
    for content_id in ("X", "Y"):
        with ledger.transaction() as conn:
            ledger.record_many([Entry("a.b", content_id)], conn=conn)
    assert [e.content_id for e in ledger.select()] == ["X", "Y"]
    assert bytes(ledger.checkpoint().root) == ref_mth([e.leaf for e in ledger.select()])


def test_a_foreign_connection_cannot_join_the_ledger(ledger: Ledger) -> None:
    from synthguard.errors import LedgerError
    from synthguard.ledger import Entry

    with ledger.engine.connect() as conn, pytest.raises(LedgerError):
        ledger.record_many([Entry("a.b")], conn=conn)


def _run_until_killed(data_dir: Path, rng: random.Random) -> list[int]:
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    child = subprocess.Popen([sys.executable, str(CHILD), str(data_dir)], stdout=subprocess.PIPE, env=env)
    assert child.stdout is not None
    assert child.stdout.readline() == b"ready\n", "child did not start"
    time.sleep(rng.uniform(0.02, 0.3))
    child.send_signal(signal.SIGKILL)
    out = child.stdout.read()
    child.wait()
    assert child.returncode == -signal.SIGKILL
    return [int(line) for line in out.split(b"\n")[:-1]]  # the last piece may be half a line


def test_sigkill_never_leaves_a_label_record_without_its_entry(tmp_path: Path) -> None:
    rng = random.Random(7)
    data_dir = tmp_path / "var"
    acked: set[int] = set()
    for _ in range(8):
        acked.update(_run_until_killed(data_dir, rng))
        labels, logged = _labels_and_entries(data_dir / "synthguard.db")
        assert labels == logged, f"one without the other: {sorted(labels ^ logged)[:5]}"
        assert acked <= labels
        conn = sqlite3.connect(data_dir / "synthguard.db")
        leaves = [bytes(r[0]) for r in conn.execute("SELECT leaf FROM ledger_entries ORDER BY seq")]
        conn.close()
        assert [json.loads(leaf)["seq"] for leaf in leaves] == list(range(len(leaves)))
        ledger = Ledger(Settings(data_dir=data_dir))
        try:
            assert bytes(ledger.checkpoint().root) == ref_mth(leaves)
        finally:
            ledger.close()
    assert len(acked) > 20


def test_label_records_in_another_database_still_get_their_entries(tmp_path: Path) -> None:
    from tests.conftest import PLATFORM, PRODUCER

    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    settings = Settings(
        data_dir=tmp_path / "var", database_url=store_url, provider_code=PRODUCER, propagator_code=PLATFORM
    )
    with Synthguard.open(settings) as sg:
        # A separate ledger database: two transactions, the idempotency key keeps retries single.
        sg.__dict__["ledger"] = Ledger.open(Settings(data_dir=tmp_path / "ledger"))
        record = _LabelRow(
            content_id="C",
            role="produce",
            file_name="a",
            format="png",
            content_digest="0" * 64,
            label_json="{}",
            key_id="k",
        )
        unstaged = Staged(str(tmp_path / "none"), tmp_path / "none", 0)
        sg._save_records([_Pending(LabelOutcome(source="a"), record, unstaged, "sha256")])
        assert [e.content_id for e in sg.ledger.select()] == ["C"]


def test_next_seq_names_the_seq_an_entry_of_the_open_transaction_gets(ledger: Ledger) -> None:
    """A row can hold its entry's seq before the entry is written (the gateway's decision rows):
    the seq ``next_seq`` names is the one ``record_many`` gives, batch after batch, unless the
    entry's idempotency key is already logged (then the first entry's seq comes back)."""
    from synthguard.ledger import Entry

    ledger.record("label.issued", "cid-first", idem_key="first")
    with ledger.transaction() as conn:
        first = ledger.next_seq(conn)
        appended = ledger.record_many(
            [Entry("label.issued", "cid-a"), Entry("label.issued", "cid-b")], conn=conn
        )
        assert [a.seq for a in appended] == [first, first + 1]
        assert ledger.next_seq(conn) == first + 2
        (again,) = ledger.record_many([Entry("label.issued", "cid-first", idem_key="first")], conn=conn)
        assert again.duplicate and again.seq == 0 != ledger.next_seq(conn) - 1
        (last,) = ledger.record_many([Entry("label.issued", "cid-c")], conn=conn)
        assert last.seq == first + 2
    assert ledger.record("label.issued", "cid-d").seq == first + 3
