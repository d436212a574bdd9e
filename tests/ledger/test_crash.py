"""SIGKILL a child that appends in a loop, many times at random moments; after every restart no
acknowledged entry is lost or duplicated and the tree (recomputed from the leaves) verifies."""

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

from synthguard.ledger.merkle import size_for_stored_count
from tests.ledger.test_merkle import ref_mth

CHILD = Path(__file__).with_name("_crash_child.py")
ROUNDS = 25
BUDGET_S = 50.0


def _run_until_killed(data_dir: Path, start: int, rng: random.Random) -> list[tuple[int, int]]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(data_dir), str(start)], stdout=subprocess.PIPE, env=env
    )
    assert child.stdout is not None
    assert child.stdout.readline() == b"ready\n", "child did not start"
    time.sleep(rng.uniform(0.0, 0.25))  # anywhere: between appends, mid-transaction, mid-fsync
    child.send_signal(signal.SIGKILL)
    out = child.stdout.read()
    child.wait()
    assert child.returncode == -signal.SIGKILL
    acked = []
    for line in out.split(b"\n")[:-1]:  # the last piece may be a half-written line: not a promise
        seq, i = line.split()
        acked.append((int(seq), int(i)))
    return acked


def _audit(db: Path) -> tuple[dict[int, int], bytes, int]:
    """seq -> i of every row, the root recomputed from the leaves, the tree size from the hashes."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT seq, leaf FROM ledger_entries ORDER BY seq").fetchall()
        stored = conn.execute("SELECT count(*), max(id) FROM ledger_hashes").fetchone()
    finally:
        conn.close()
    assert stored[0] == (stored[1] + 1 if stored[1] is not None else 0), "hash ids are dense"
    leaves = [bytes(leaf) for _, leaf in rows]
    by_seq = {seq: json.loads(leaf)["refs"]["i"] for seq, leaf in rows}
    return by_seq, ref_mth(leaves), size_for_stored_count(stored[0])


def test_sigkill_mid_append_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    from synthguard.config import Settings
    from synthguard.ledger import Ledger

    rng = random.Random(20261125)
    data_dir = tmp_path / "var"
    promised: dict[int, int] = {}
    next_i, rounds, started = 0, 0, time.monotonic()
    while rounds < ROUNDS and time.monotonic() - started < BUDGET_S:
        acked = _run_until_killed(data_dir, next_i, rng)
        rounds += 1
        for seq, i in acked:
            assert promised.setdefault(seq, i) == i, f"seq {seq} acknowledged for two entries"
        by_seq, root, size = _audit(data_dir / "synthguard.db")
        # Nothing acknowledged is lost, and the row at its position is the one acknowledged.
        assert all(by_seq.get(seq) == i for seq, i in promised.items())
        # No duplicates (a retried, already-committed entry is found by its idempotency key) ...
        assert sorted(by_seq.values()) == sorted(set(by_seq.values()))
        # ... no holes, no rows outside the tree, and the stored tree is the tree of the leaves.
        assert sorted(by_seq) == list(range(size))
        ledger = Ledger(Settings(data_dir=data_dir, ledger_origin="crash.test/ledger"))
        try:
            assert bytes(ledger.checkpoint().root) == root
        finally:
            ledger.close()
        # Restart from the entry after the last acknowledged one: the unacknowledged tail is retried.
        next_i = max((i for _, i in acked), default=next_i - 1) + 1
    assert rounds >= 10, f"only {rounds} crash rounds fit in {BUDGET_S} s"
    assert len(promised) > 100
    print(f"{rounds} SIGKILL rounds, {len(promised)} acknowledged entries, all intact")
