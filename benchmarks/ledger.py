"""Evidence ledger benchmark: synthguard.ledger beside pymerkle 7 (SqliteTree), same machine, same run.

Measures (targets from shared/spec/numbers.md):
- batched appends/s (>= 50,000) and single durable appends/s with SQLite synchronous=FULL (>= 3,000;
  the raw SQLite FULL commit rate of this disk is printed as the physical ceiling);
- inclusion proof time at 10^6 entries (real ledger) and 10^7 (a hash-only tree in the same
  ledger_hashes layout: proofs read only that table), target <= 1 ms;
- consistency proof time; offline verification of a 1,000-entry export (<= 100 ms).

    .venv/bin/python benchmarks/ledger.py                 # 10^6 ledger + 10^7 hash tree
    .venv/bin/python benchmarks/ledger.py --entries 100000 --big 0   # quick

pymerkle (the `bench` extra) stores only leaves and recomputes subtrees per proof, so its proof
time grows with the tree; it is built with the same leaves for the 10^6 comparison.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from synthguard.config import Settings
from synthguard.ledger import Entry, Ledger, check_bundle, export_bundle, prove_inclusion
from synthguard.ledger.merkle import (
    Hash,
    hashes_for_leaf,
    leaf_hash,
    new_hash_indexes,
    prove_consistency,
    stored_hash_index,
    tree_hash,
)

BATCH = 1_000


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def entry(i: int) -> Entry:
    # ~330-byte leaves, like a generation record: digests, model, label and mark IDs.
    return Entry(
        "generation.output",
        f"01J{i:023d}",
        {
            "input_sha256": f"{i:064x}",
            "output_sha256": f"{i * 7:064x}",
            "model": "demo-model-v1",
            "label": "1",
            "mark_id": f"{i:016x}",
        },
    )


def raw_full_commits(folder: Path, seconds: float = 2.0) -> float:
    conn = sqlite3.connect(folder / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)")
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t VALUES (?, ?)", (n, b"x" * 330))
        conn.execute("COMMIT")
        n += 1
    conn.close()
    return n / (time.perf_counter() - start)


def build_hash_tree(path: Path, size: int) -> sqlite3.Connection:
    """A ledger_hashes table for ``size`` leaves, written with the same primitives as log.py."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("CREATE TABLE ledger_hashes (id INTEGER PRIMARY KEY, hash BLOB NOT NULL)")
    cache: dict[int, Hash] = {}
    rows: list[tuple[int, bytes]] = []
    conn.execute("BEGIN")
    for n in range(size):
        siblings = [cache.pop(i) for i in new_hash_indexes(n)]
        base = stored_hash_index(0, n)
        new = hashes_for_leaf(n, leaf_hash(n.to_bytes(8, "big")), siblings)
        rows.extend((base + k, bytes(h)) for k, h in enumerate(new))
        cache[base + len(new) - 1] = new[-1]  # only the top of the new subtree stays a sibling
        if len(rows) >= 200_000:
            conn.executemany("INSERT INTO ledger_hashes VALUES (?, ?)", rows)
            rows.clear()
    conn.executemany("INSERT INTO ledger_hashes VALUES (?, ?)", rows)
    conn.execute("COMMIT")
    return conn


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000, help="size of the real ledger")
    parser.add_argument("--big", type=int, default=10_000_000, help="size of the hash-only tree (0: skip)")
    parser.add_argument("--pymerkle-entries", type=int, default=1_000_000)
    args = parser.parse_args()
    rng = random.Random(1)
    rows: list[tuple[str, str, str, str]] = []
    work = Path(tempfile.mkdtemp(prefix="sg-ledger-bench-"))
    print(f"work folder {work}; {os.cpu_count()} CPUs; python {sys.version.split()[0]}", flush=True)

    # --- synthguard: batched appends into a real ledger ---------------------------------------
    ledger = Ledger.open(Settings(data_dir=work / "sg", ledger_origin="bench.example/ledger"))
    # CPU time beside wall time: on a shared machine the wall rate measures the neighbours too.
    start, cpu = time.perf_counter(), time.process_time()
    for base in range(0, args.entries, BATCH):
        ledger.record_many([entry(i) for i in range(base, min(base + BATCH, args.entries))])
    batched = args.entries / (time.perf_counter() - start)
    batched_cpu = args.entries / (time.process_time() - cpu)
    size = ledger.store.size()
    print(f"built {size:,} entries at {batched:,.0f}/s", flush=True)

    # --- single durable appends (synchronous=FULL) ---------------------------------------------
    n, start, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < 3.0:
        ledger.record("admin.action", f"S{n}", action="bench")
        n += 1
    single = n / (time.perf_counter() - start)
    single_cpu_us = (time.process_time() - cpu) / n * 1e6
    raw = raw_full_commits(work)
    size = ledger.store.size()

    # --- proofs at 10^6 --------------------------------------------------------------------------
    seqs = [rng.randrange(size) for _ in range(300)]
    it = iter(seqs * 3)
    proof_ms = median_ms(lambda: ledger.inclusion(next(it), size), 300)
    cons_ms = median_ms(lambda: prove_consistency(rng.randrange(1, size), size, ledger.store), 200)
    sign_ms = median_ms(lambda: ledger.signer.sign(ledger.checkpoint().signed.checkpoint), 200)

    # --- offline verification of a 1,000-entry export -------------------------------------------
    first = ledger.select(limit=1)[0].logged_at_us
    window = ledger.select(from_us=first, limit=1000)
    bundle = work / "export.zip"
    start = time.perf_counter()
    export_bundle(ledger, bundle, from_us=window[0].logged_at_us, to_us=window[-1].logged_at_us)
    export_ms = (time.perf_counter() - start) * 1000
    key = ledger.verifier.to_vkey()
    report = check_bundle(bundle, key)
    assert report.ok and report.entries_checked >= 1000, report.findings
    verify_ms = median_ms(lambda: check_bundle(bundle, key), 7)
    rows += [
        ("batched appends/s (1,000 per txn)", f"{batched:,.0f}", ">= 50,000", f"{batched_cpu:,.0f}/CPU-s"),
        (
            "single durable appends/s (FULL)",
            f"{single:,.0f}",
            ">= 3,000",
            f"disk: raw SQLite FULL {raw:,.0f}/s; {single_cpu_us:.0f} us CPU each",
        ),
        (f"inclusion proof, {size:,} entries", f"{proof_ms:.3f} ms", "<= 1 ms", ""),
        (f"consistency proof, {size:,} entries", f"{cons_ms:.3f} ms", "", ""),
        ("checkpoint (root + Ed25519 sign)", f"{sign_ms:.3f} ms", "", ""),
        (f"export {report.entries_checked} entries", f"{export_ms:.0f} ms", "", ""),
        (f"offline verify, {report.entries_checked}-entry export", f"{verify_ms:.1f} ms", "<= 100 ms", ""),
    ]
    ledger.close()

    # --- 10^7: a hash-only tree (proofs read only ledger_hashes) --------------------------------
    if args.big:
        start = time.perf_counter()
        conn = build_hash_tree(work / "big.db", args.big)
        built = time.perf_counter() - start
        conn.close()
        # Read it through the ledger's own store code (SQLAlchemy), as a proof request would.
        from sqlalchemy import create_engine

        from synthguard.ledger.log import SqlLogStore

        engine = create_engine(f"sqlite:///{work / 'big.db'}")
        reader = SqlLogStore(engine)
        it = iter([rng.randrange(args.big) for _ in range(600)])
        big_ms = median_ms(lambda: prove_inclusion(args.big, next(it), reader), 500)
        big_cons = median_ms(lambda: prove_consistency(rng.randrange(1, args.big), args.big, reader), 200)
        root = tree_hash(args.big, reader)
        check = prove_inclusion(args.big, 12345, reader)
        from synthguard.ledger import verify_inclusion

        verify_inclusion(check, leaf_hash((12345).to_bytes(8, "big")), root)
        rows += [
            (
                f"inclusion proof, {args.big:,} entries",
                f"{big_ms:.3f} ms",
                "<= 1 ms",
                f"ledger_hashes table built in {built:.0f} s",
            ),
            (f"consistency proof, {args.big:,} entries", f"{big_cons:.3f} ms", "", ""),
        ]
        engine.dispose()

    # --- pymerkle 7 (SqliteTree), same leaves ----------------------------------------------------
    try:
        import pymerkle
    except ImportError:
        rows.append(("pymerkle", "not installed", "", "pip install '.[bench]'"))
    else:
        tree = pymerkle.SqliteTree(str(work / "pymerkle.db"))
        leaves = [str(entry(i).refs).encode() for i in range(args.pymerkle_entries)]
        start = time.perf_counter()
        for base in range(0, len(leaves), BATCH):
            tree.append_entries(leaves[base : base + BATCH])
        pm_batched = len(leaves) / (time.perf_counter() - start)
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < 3.0:
            tree.append_entry(f"single {n}".encode())
            n += 1
        pm_single = n / (time.perf_counter() - start)
        pm_size = tree.get_size()
        pm_proof = median_ms(lambda: tree.prove_inclusion(rng.randrange(1, pm_size + 1), pm_size), 15)
        state = tree.get_root(pm_size)
        proofs = [(i, tree.prove_inclusion(i, pm_size)) for i in rng.sample(range(1, pm_size + 1), 50)]
        per = median_ms(
            lambda: [pymerkle.verify_inclusion(tree.get_leaf(i), state, p) for i, p in proofs], 5
        ) / len(proofs)
        rows += [
            ("pymerkle batched appends/s", f"{pm_batched:,.0f}", "", "stores leaves only"),
            ("pymerkle single appends/s", f"{pm_single:,.0f}", "", "sqlite default (DELETE journal, FULL)"),
            (f"pymerkle inclusion proof, {pm_size:,}", f"{pm_proof:.1f} ms", "", "recomputes subtrees"),
            ("pymerkle 1,000 proofs verified (est.)", f"{per * 1000:.1f} ms", "", "verify only, no bundle"),
        ]
        tree.con.close()

    width = [max(len(r[c]) for r in rows) for c in range(4)]
    head = ("measure", "value", "target", "note")
    width = [max(w, len(h)) for w, h in zip(width, head, strict=True)]
    line = "  ".join("{:<" + str(w) + "}" for w in width)
    print(line.format(*head))
    print(line.format(*("-" * w for w in width)))
    for row in rows:
        print(line.format(*row))


if __name__ == "__main__":
    main()
