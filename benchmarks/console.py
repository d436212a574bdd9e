"""Console costs beside the peer, in one run: password hashing and page latency under load.

* Login: our scrypt (``cryptography``, N=2^15 r=8 p=1, ~32 MiB) beside argon2-cffi's
  ``PasswordHasher()`` defaults (argon2id, t=3, m=64 MiB, p=4), hash and verify, median of runs.
* Pages: median latency of the dashboard, the review queue and the complaint list with a loaded
  store (``--decisions`` review decisions, ``--items`` open queue items, ``--complaints``), through
  FastAPI's TestClient (no network), logged in as admin.

Run: ``.venv/bin/python benchmarks/console.py`` (peer from the ``bench`` extra; a missing peer is
reported, not fatal).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PRODUCER = "001191110102MACQD9K64010000"


def median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def hashing(runs: int) -> list[tuple[str, str, str]]:
    from synthguard.governance import check_password, hash_password

    stored = hash_password("a long enough password")
    rows = [
        (
            "synthguard scrypt N=2^15 r=8 p=1",
            f"{median_ms(lambda: hash_password('a long enough password'), runs):.1f}",
            f"{median_ms(lambda: check_password('a long enough password', stored), runs):.1f}",
        )
    ]
    try:
        from argon2 import PasswordHasher
    except ImportError:
        rows.append(("argon2-cffi (not installed: pip install -e '.[bench]')", "-", "-"))
        return rows
    ph = PasswordHasher()
    h = ph.hash("a long enough password")
    rows.append(
        (
            "argon2-cffi PasswordHasher() (argon2id t=3 m=64MiB p=4)",
            f"{median_ms(lambda: ph.hash('a long enough password'), runs):.1f}",
            f"{median_ms(lambda: ph.verify(h, 'a long enough password'), runs):.1f}",
        )
    )
    return rows


def pages(decisions: int, items: int, complaints: int, runs: int) -> list[tuple[str, str]]:
    import datetime as dt

    from fastapi.testclient import TestClient

    from synthguard.config import Settings
    from synthguard.core import Synthguard
    from synthguard.gateway import create_app
    from synthguard.governance import Actor
    from synthguard.store.models import ReviewDecision

    data = Path(tempfile.mkdtemp(prefix="sg-bench-console-"))
    settings = Settings(data_dir=data, provider_code=PRODUCER, fsync=False)
    rows: list[tuple[str, str]] = []
    with Synthguard.open(settings) as core:
        now = dt.datetime.now(dt.UTC)
        with core.sessions.begin() as s:
            s.add_all(
                ReviewDecision(
                    created_at=now - dt.timedelta(minutes=i % 20000),
                    service="chat",
                    direction="in",
                    user_id=f"u{i % 500}",
                    action="block" if i % 7 == 0 else "pass",
                    categories=["A.1.g"] if i % 7 == 0 else [],
                    reasons=[],
                    spans=[],
                    text_sha256="0" * 64,
                )
                for i in range(decisions)
            )
        for i in range(items):
            core.reviewer.queue.enqueue(f"item {i}", user_id=f"u{i}", categories=["A.1.g"])
        for i in range(complaints):
            core.governance.complaints.file("other", f"complaint {i}")
        core.governance.staff.create_user(Actor("bench"), "admin", "benchmark-password", "admin")
        with TestClient(create_app(settings, core)) as client:
            page = client.get("/console/login").text
            token = re.search(r'name="csrf" value="([^"]+)"', page)
            assert token
            client.post(
                "/console/login",
                data={"username": "admin", "password": "benchmark-password", "csrf": token.group(1)},
            )
            for url in ("/console", "/console/queue", "/console/complaints", "/public/complaint"):
                assert client.get(url).status_code == 200
                rows.append((url, f"{median_ms(lambda u=url: client.get(u), runs):.1f}"))  # type: ignore[misc]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--items", type=int, default=1_000)
    parser.add_argument("--complaints", type=int, default=500)
    args = parser.parse_args()
    print("Password hashing (median ms)")
    print(f"{'implementation':<58} {'hash':>8} {'verify':>8}")
    for name, h, v in hashing(args.runs):
        print(f"{name:<58} {h:>8} {v:>8}")
    print(
        f"\nPage latency, median of {args.runs} (ms): {args.decisions:,} review decisions, "
        f"{args.items:,} open queue items (queue page shows 200), {args.complaints:,} complaints"
    )
    print(f"{'page':<28} {'ms':>8}")
    for url, ms in pages(args.decisions, args.items, args.complaints, args.runs):
        print(f"{url:<28} {ms:>8}")


if __name__ == "__main__":
    main()
