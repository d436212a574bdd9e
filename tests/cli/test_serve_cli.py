"""`synthguard serve` in a subprocess: no per-request access log by default, one with --access-log."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import PRODUCER


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def served_log(tmp_path: Path, *flags: str) -> str:
    """Start the server, make one request, stop it; everything it logged."""
    port = free_port()
    env = {**os.environ, "SYNTHGUARD_DATA_DIR": str(tmp_path / "var"), "SYNTHGUARD_PROVIDER_CODE": PRODUCER}
    log = tmp_path / f"serve{len(flags)}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "synthguard", "serve", "--port", str(port), *flags],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    r = httpx.get(f"http://127.0.0.1:{port}/healthz?probe=serve-test", timeout=1)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        pytest.fail(f"serve did not start: {log.read_text(errors='replace')}")
                    time.sleep(0.1)
            assert r.status_code == 200
        finally:
            proc.terminate()
            proc.wait(20)
    return log.read_text(errors="replace")


def test_serve_keeps_no_access_log_unless_asked(tmp_path: Path) -> None:
    quiet = served_log(tmp_path)
    assert "Uvicorn running" in quiet or "Application startup complete" in quiet
    assert "probe=serve-test" not in quiet
    assert "probe=serve-test" in served_log(tmp_path, "--access-log")
