"""A real gateway under uvicorn on a real port, in front of the demo upstream in its own process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from synthguard.config import Settings
from synthguard.core import Synthguard
from synthguard.identity import resident_id_check_char
from synthguard.review import Entry, read_library, sample_library
from tests.conftest import PLATFORM, PRODUCER

UPSTREAM_SECRET = "sk-upstream-TOP-SECRET-do-not-leak"
FILING = "网信算备110108823483901230011号"  # Chinese, as real numbers are: travels percent-encoded
MASKED_TERM = "样例遮蔽词"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def id_number(body17: str) -> str:
    return body17 + resident_id_check_char(body17)


@pytest.fixture(scope="session")
def demo_upstream() -> Iterator[str]:
    """``python -m synthguard.gateway.demo`` as a separate process, like any model server."""
    port = free_port()
    env = {**os.environ, "SYNTHGUARD_DEMO_CHUNK_CHARS": "2"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "synthguard.gateway.demo", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/v1/models")
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(10)


@dataclass
class Running:
    url: str
    core: Synthguard
    settings: Settings
    keys: dict[str, str]


def serve(settings: Settings, core: Synthguard) -> Iterator[str]:
    import uvicorn

    from synthguard.gateway import create_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, core), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def make_settings(data_dir: Path, upstream: str, **extra: object) -> Settings:
    return Settings(
        data_dir=data_dir,
        provider_code=PRODUCER,
        propagator_code=PLATFORM,
        fsync=False,
        filing_number=FILING,
        gateway_upstreams={"demo": upstream, "demo-image": upstream, "demo-tts": upstream},
        gateway_upstream_keys={"demo": UPSTREAM_SECRET},
        gateway_keepalive_s=0.0,
        apikey_rate_per_min=0,
        **extra,  # type: ignore[arg-type]
    )


def populate(core: Synthguard) -> dict[str, str]:
    entries, problems = read_library(sample_library(), "sample_library.csv")
    assert not problems
    entries.append(Entry(term=MASKED_TERM, category="A.2.g", action="mask"))
    core.reviewer.library.import_entries(entries, source="tests")
    users = core.users
    users.add_user("alice", id_number=id_number("11010519900307851"), mobile="13812345678")
    users.add_user("bob", mobile="13912345678")  # no ID: unverified
    users.add_user("carol", id_number=id_number("31010419851112002"))
    users.set_status("carol", "suspended", reason="three violating prompts")
    users.add_user("dave", id_number=id_number("44030519920229001"))
    users.add_user("frank", id_number=id_number("32010619880808001"))
    keys = {name: core.apikeys.create(name)[0] for name in ("alice", "bob", "carol", "dave", "frank")}
    keys["limited"] = core.apikeys.create("dave", rate_per_min=2)[0]
    keys["quota"] = core.apikeys.create("dave", quota=1)[0]
    keys["chat_only"] = core.apikeys.create("dave", scopes=["chat"])[0]
    keys["admin"] = core.apikeys.create("alice", role="admin")[0]
    keys["revoked"] = core.apikeys.create("dave")[0]
    core.apikeys.revoke(keys["revoked"])
    return keys


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, demo_upstream: str) -> Iterator[Running]:
    settings = make_settings(tmp_path_factory.mktemp("gw") / "var", demo_upstream)
    with Synthguard.open(settings) as core:
        keys = populate(core)
        for url in serve(settings, core):
            yield Running(url, core, settings, keys)
