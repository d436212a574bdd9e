"""Gateway overhead: the same workload against the upstream directly and through synthguard, one run.

numbers.md (Gateway) targets, against the same upstream directly in the same run: added latency
p50 <= 3 ms and p99 <= 10 ms with review, labels and the ledger write on; >= 700 requests/s per
gateway core (non-stream); >= 5,000 streamed chunks/s per core; first content delayed <= 5 ms
beyond the hold-back window.

Both servers are real processes under uvicorn (one worker each, so the gateway uses one core): the
offline demo upstream (``python -m synthguard.gateway.demo``) and ``synthguard serve`` routing the
``demo`` model to it. The load generator is asyncio + httpx in this process (``wrk`` cannot read
SSE events). The peer is the upstream itself: "added" is gateway minus direct.

Run: ``.venv/bin/python benchmarks/gateway.py`` (``--requests 300 --concurrency 32``;
``--gateway-args "--loop asyncio --http h11"`` passes options to ``synthguard serve`` for an A/B).

Streams are measured twice: the short demo answer (~38 upstream chunks of 4 characters, which
the hold-back coalesces to ~9 content chunks to the client) and an LLM-length answer
(``SYNTHGUARD_DEMO_SENTENCES=20``: 539 characters in 135 upstream chunks of 4 characters), the
same answer for direct and gateway, from a second demo upstream process. For the long answer,
"CPU per upstream chunk" divides the gateway's CPU by the chunks it read from the upstream
(what it reviewed), since the gateway may coalesce held-back text into fewer client chunks.

Every answer waits for its ledger group commit (``synchronous=FULL``: an fsync of the WAL); the
table also times that commit alone on the same disk right after the one-at-a-time run, and shows
the added latency less one such commit (an estimate of what the gateway adds besides the disk).

The machine is shared: beside wall-clock numbers the table gives each server's own CPU time per
request (``/proc``), the load-independent form of "requests/s per gateway core".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PROVIDER = "001191110108MA01AB2C3T10001"
PROMPT = "请用三句话介绍一下深度合成内容的标识要求。"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux ``/proc``): the machine is shared and noisy, and
    CPU per request is what "requests/s per gateway core" means, whatever else runs beside it."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def synced_commits(folder: Path, n: int = 200) -> list[float]:
    """Milliseconds per one-row SQLite commit in WAL mode with ``synchronous=FULL`` (what each
    ledger group commit waits for: the fsync of the WAL) in ``folder``, on the gateway's disk."""
    import sqlite3

    path = folder / "fsync-probe.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE t (x TEXT)")
    times = []
    for _ in range(n):
        start = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t VALUES (?)", ("x" * 500,))
        db.execute("COMMIT")
        times.append((time.perf_counter() - start) * 1000)
    db.close()
    path.unlink()
    return times


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def one(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], stream: bool, model: str = "demo"
) -> tuple[float, float, int]:
    """(total seconds, seconds to first content, content chunks) for one chat completion."""
    body = {"model": model, "messages": [{"role": "user", "content": PROMPT}], "stream": stream}
    start = time.perf_counter()
    if not stream:
        r = await client.post(url, json=body, headers=headers)
        r.raise_for_status()
        elapsed = time.perf_counter() - start
        return elapsed, elapsed, 1
    first = 0.0
    chunks = 0
    async with client.stream("POST", url, json=body, headers=headers) as r:
        r.raise_for_status()
        async for line in r.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            choices = json.loads(line[6:]).get("choices") or [{}]
            if choices[0].get("delta", {}).get("content"):
                chunks += 1
                if not first:
                    first = time.perf_counter() - start
    return time.perf_counter() - start, first, chunks


async def run(
    url: str, headers: dict[str, str], n: int, concurrency: int, stream: bool, model: str = "demo"
) -> dict[str, float]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        await one(client, url, headers, stream, model)  # warm-up: connections, lazy loads
        sem = asyncio.Semaphore(concurrency)
        results: list[tuple[float, float, int]] = []

        async def task() -> None:
            async with sem:
                results.append(await one(client, url, headers, stream, model))

        start = time.perf_counter()
        await asyncio.gather(*(task() for _ in range(n)))
        wall = time.perf_counter() - start
    totals = [r[0] * 1000 for r in results]
    firsts = [r[1] * 1000 for r in results]
    return {
        "p50": statistics.median(totals),
        "p99": pct(totals, 0.99),
        "first_p50": statistics.median(firsts),
        "rps": n / wall,
        "chunks_s": sum(r[2] for r in results) / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--gateway-args", default="", help="extra `synthguard serve` options")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="sg-bench-gw-"))
    up_port, gw_port, long_port = free_port(), free_port(), free_port()
    upstream = f"http://127.0.0.1:{up_port}/v1"
    long_upstream = f"http://127.0.0.1:{long_port}/v1"
    env = {
        **os.environ,
        "SYNTHGUARD_DATA_DIR": str(data_dir),
        "SYNTHGUARD_PROVIDER_CODE": PROVIDER,
        "SYNTHGUARD_FILING_NUMBER": "Bench-0001",
        "SYNTHGUARD_GATEWAY_UPSTREAMS": json.dumps({"demo": upstream, "demo-long": long_upstream}),
        "SYNTHGUARD_APIKEY_RATE_PER_MIN": "0",
        "SYNTHGUARD_DEMO_CHUNK_CHARS": "4",
    }
    cli = [str(BIN / "synthguard")]
    subprocess.run([*cli, "library", "import", "--sample"], env=env, check=True, capture_output=True)
    subprocess.run(
        [*cli, "users", "add", "bench", "--id-number", "11010519491231002X"],
        env=env,
        check=True,
        capture_output=True,
    )
    created = subprocess.run(
        [*cli, "apikeys", "create", "--user", "bench", "--json"], env=env, check=True, capture_output=True
    )
    key = json.loads(created.stdout)["api_key"]
    procs = [
        subprocess.Popen([sys.executable, "-m", "synthguard.gateway.demo", "--port", str(up_port)], env=env),
        subprocess.Popen(
            [sys.executable, "-m", "synthguard.gateway.demo", "--port", str(long_port)],
            env={**env, "SYNTHGUARD_DEMO_SENTENCES": "20"},
        ),
        subprocess.Popen(
            [*cli, "serve", "--port", str(gw_port), *args.gateway_args.split()],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
    ]
    try:
        wait_up(f"{upstream}/models")
        wait_up(f"{long_upstream}/models")
        wait_up(f"http://127.0.0.1:{gw_port}/healthz")
        direct = f"{upstream}/chat/completions"
        via = f"http://127.0.0.1:{gw_port}/v1/chat/completions"
        auth = {"Authorization": f"Bearer {key}"}
        rows: list[tuple[str, str, str, str, str]] = []
        up_pid, long_pid, gw_pid = procs[0].pid, procs[1].pid, procs[2].pid

        def measure(
            label: str, n: int, conc: int, stream: bool, model: str = "demo"
        ) -> tuple[dict[str, float], dict[str, float]]:
            pid, target = (
                (long_pid, f"{long_upstream}/chat/completions") if model != "demo" else (up_pid, direct)
            )
            before = cpu_seconds(pid)
            d = asyncio.run(run(target, {}, n, conc, stream, model))
            d["cpu_s"] = cpu_seconds(pid) - before  # the upstream's own CPU for the direct run
            before = cpu_seconds(gw_pid)
            g = asyncio.run(run(via, auth, n, conc, stream, model))
            g["cpu_s"] = cpu_seconds(gw_pid) - before  # the gateway's CPU alone (not its upstream)
            d["n"] = g["n"] = n + 1  # the warm-up request counts too
            return d, g

        d, g = measure("sequential", max(50, args.requests // 3), 1, False)
        commits = synced_commits(data_dir)  # right after, on the same disk, for the row below
        rows.append(
            (
                "non-stream latency p50, one at a time (ms)",
                f"{d['p50']:.2f}",
                f"{g['p50']:.2f}",
                f"+{g['p50'] - d['p50']:.2f}",
                "added <= 3",
            )
        )
        rows.append(
            (
                "non-stream latency p99, one at a time (ms)",
                f"{d['p99']:.2f}",
                f"{g['p99']:.2f}",
                f"+{g['p99'] - d['p99']:.2f}",
                "added <= 10",
            )
        )
        commit_p50, commit_p99 = statistics.median(commits), pct(commits, 0.99)
        rows.append(
            (
                "  one synced SQLite commit on this disk p50 (p99) (ms)",
                "",
                f"{commit_p50:.2f} ({commit_p99:.2f})",
                "",
                "",
            )
        )
        rows.append(
            (
                "  added p50 less one synced commit (estimate, ms)",
                "",
                "",
                f"+{g['p50'] - d['p50'] - commit_p50:.2f}",
                "",
            )
        )
        d, g = measure("concurrent", args.requests, args.concurrency, False)
        rows.append(
            (
                f"requests/s at {args.concurrency} concurrent",
                f"{d['rps']:.0f}",
                f"{g['rps']:.0f}",
                f"{g['rps'] / d['rps']:.2f}x",
                ">= 700",
            )
        )
        d_ms, g_ms = 1000 * d["cpu_s"] / d["n"], 1000 * g["cpu_s"] / g["n"]
        rows.append(
            (
                "  CPU per request (ms; upstream | gateway)",
                f"{d_ms:.2f}",
                f"{g_ms:.2f}",
                "",
                "<= 1.43",
            )
        )
        rows.append(
            (
                "  = requests/s per core (1000 / CPU ms)",
                f"{1000 / d_ms:.0f}",
                f"{1000 / g_ms:.0f}",
                "",
                ">= 700",
            )
        )
        d, g = measure("stream sequential", max(30, args.requests // 5), 1, True)
        rows.append(
            (
                "stream: first content p50, one at a time (ms)",
                f"{d['first_p50']:.2f}",
                f"{g['first_p50']:.2f}",
                f"+{g['first_p50'] - d['first_p50']:.2f}",
                "added <= 5 + hold-back",
            )
        )
        rows.append(
            (
                "stream: whole answer p50, one at a time (ms)",
                f"{d['p50']:.2f}",
                f"{g['p50']:.2f}",
                f"+{g['p50'] - d['p50']:.2f}",
                "",
            )
        )
        d, g = measure("stream concurrent", max(40, args.requests // 3), 8, True)
        rows.append(
            (
                "stream: content chunks/s at 8 concurrent",
                f"{d['chunks_s']:.0f}",
                f"{g['chunks_s']:.0f}",
                f"{g['chunks_s'] / d['chunks_s']:.2f}x",
                ">= 5,000",
            )
        )
        d_chunks = d["chunks_s"] * d["n"] / d["rps"]  # content chunks each side sent in that run
        g_chunks = g["chunks_s"] * g["n"] / g["rps"]
        rows.append(
            (
                "  CPU per chunk, whole requests included (ms)",
                f"{1000 * d['cpu_s'] / d_chunks:.3f}",
                f"{1000 * g['cpu_s'] / g_chunks:.3f}",
                f"{g_chunks / g['n']:.1f} chunks/answer",
                "<= 0.2",
            )
        )
        d, g = measure("long stream concurrent", max(16, args.requests // 10), 8, True, "demo-long")
        d_per = d["chunks_s"] / d["rps"]  # upstream content chunks per answer (direct side)
        g_per = g["chunks_s"] / g["rps"]
        rows.append(
            (
                "long stream (135 chunks): upstream chunks/s at 8 conc.",
                f"{d['chunks_s']:.0f}",
                f"{g['rps'] * d_per:.0f}",
                f"{g['rps'] / d['rps']:.2f}x",
                ">= 5,000",
            )
        )
        rows.append(
            (
                "  CPU per upstream chunk, whole requests incl. (ms)",
                f"{1000 * d['cpu_s'] / (d_per * d['n']):.3f}",
                f"{1000 * g['cpu_s'] / (d_per * g['n']):.3f}",
                f"{g_per:.0f} client chunks/answer",
                "<= 0.2",
            )
        )
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)
    print(f"\nsynthguard gateway vs the same upstream directly (one uvicorn worker each; data {data_dir})")
    print("review on (sample keyword library + Chinese PII), explicit notice, signed text label, ledger")
    print(
        "records (input decision + answer) committed before each answer; "
        f"load average {os.getloadavg()[0]:.1f}\n"
    )
    widths = [
        max(len(r[i]) for r in [*rows, ("metric", "direct", "via synthguard", "added", "target")])
        for i in range(5)
    ]
    header = ("metric", "direct", "via synthguard", "added", "target")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
