"""Bad input and bad upstreams: OpenAI-shaped 4xx/5xx, nothing leaked, each response logged once."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from synthguard.core import Synthguard
from tests.gateway.bad_upstream import LEAKY, Seen, create_bad_app
from tests.gateway.conftest import UPSTREAM_SECRET, Running, free_port, make_settings, populate, serve

BAD_MODELS = ("err500", "err400", "slow", "garbage", "halfclose", "slowstream", "midstream_error", "stall")


@pytest.fixture(scope="module")
def seen() -> Seen:
    return Seen()


@pytest.fixture(scope="module")
def bad_upstream(seen: Seen) -> Iterator[str]:
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_bad_app(seen), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/v1"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def bad_gateway(
    tmp_path_factory: pytest.TempPathFactory, bad_upstream: str, demo_upstream: str
) -> Iterator[Running]:
    settings = make_settings(
        tmp_path_factory.mktemp("bad") / "var",
        demo_upstream,
        gateway_upstream_timeout_s=1.0,
        gateway_max_body_bytes=64 * 1024,
    )
    settings.gateway_upstreams.update({m: bad_upstream for m in BAD_MODELS})
    settings.gateway_upstreams["down"] = f"http://127.0.0.1:{free_port()}/v1"
    settings.gateway_upstream_keys.update({m: UPSTREAM_SECRET for m in settings.gateway_upstreams})
    with Synthguard.open(settings) as core:
        keys = populate(core)
        for url in serve(settings, core):
            yield Running(url, core, settings, keys)


def post(gw: Running, body: bytes | dict[str, object], path: str = "/v1/chat/completions") -> httpx.Response:
    headers = {"Authorization": f"Bearer {gw.keys['alice']}", "Content-Type": "application/json"}
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(gw.url + path, content=data, headers=headers, timeout=15)


def assert_openai_error(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code and error["message"] and error["type"] and error["message_zh"]
    assert UPSTREAM_SECRET not in r.text and "10.1.2.3" not in r.text and "127.0.0.1" not in r.text


def chat(model: str, content: str = "hi", **extra: object) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "invalid_request"),
        (b"[1, 2]", "invalid_request"),
        (json.dumps({"model": "demo", "messages": "hi"}).encode(), "invalid_request"),
        (json.dumps({"model": "demo", "messages": [{"content": "x"}]}).encode(), "invalid_request"),
        (
            json.dumps({"model": "demo", "messages": [{"role": "user", "content": 5}]}).encode(),
            "invalid_request",
        ),
        (json.dumps(chat("demo", stream="yes")).encode(), "invalid_request"),
        (json.dumps(chat("demo", n=0)).encode(), "invalid_request"),
        (json.dumps({"messages": [{"role": "user", "content": "x"}]}).encode(), "invalid_request"),
    ],
)
def test_malformed_requests_get_400_with_openai_error_bodies(
    bad_gateway: Running, body: bytes, code: str
) -> None:
    assert_openai_error(post(bad_gateway, body), 400, code)


def test_unknown_model_is_404_and_huge_body_is_413(bad_gateway: Running) -> None:
    assert_openai_error(post(bad_gateway, chat("gpt-unknown")), 404, "model_not_found")
    huge = chat("demo", "字" * 40_000)
    assert_openai_error(post(bad_gateway, huge), 413, "request_too_large")


@pytest.mark.parametrize(
    ("model", "status", "code"),
    [
        ("down", 502, "upstream_unavailable"),
        ("err500", 502, "upstream_error"),
        ("err400", 400, "invalid_request"),
        ("slow", 504, "upstream_timeout"),
        ("garbage", 502, "upstream_error"),
    ],
)
def test_upstream_failures_map_to_gateway_errors_without_leaks(
    bad_gateway: Running, model: str, status: int, code: str
) -> None:
    assert_openai_error(post(bad_gateway, chat(model)), status, code)
    assert_openai_error(
        post(bad_gateway, chat(model, stream=True)), status, code
    ) if model != "garbage" else None


@pytest.mark.parametrize("model", ["halfclose", "midstream_error"])
def test_broken_streams_end_with_an_error_event_the_official_client_raises(
    bad_gateway: Running, model: str
) -> None:
    c = openai.OpenAI(base_url=bad_gateway.url + "/v1", api_key=bad_gateway.keys["alice"], max_retries=0)
    received: list[str] = []
    with pytest.raises(openai.APIError) as err:
        for chunk in c.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "hi"}], stream=True
        ):
            received.extend(ch.delta.content or "" for ch in chunk.choices)
    assert LEAKY not in str(err.value) and UPSTREAM_SECRET not in str(err.value.body)
    assert "半截回答" not in "".join(received) or model == "halfclose"


def test_an_upstream_that_goes_silent_mid_stream_ends_with_a_timeout_event(bad_gateway: Running) -> None:
    """The read timeout applies to each wait for upstream bytes: a stream that stalls past it ends
    with an in-band ``upstream_timeout`` error event (never a cut connection, never a hang)."""
    headers = {"Authorization": f"Bearer {bad_gateway.keys['alice']}"}
    events: list[dict[str, Any]] = []
    started = time.monotonic()
    with httpx.stream(
        "POST", bad_gateway.url + "/v1/chat/completions", json=chat("stall", stream=True), headers=headers
    ) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                events.append(json.loads(line[6:]))
    assert time.monotonic() - started < 2.9  # gave up at the 1 s timeout, not at the upstream's 3 s
    assert events and events[-1]["error"]["code"] == "upstream_timeout"
    assert events[-1]["error"]["message_zh"]


def test_client_disconnect_cancels_the_upstream_and_is_logged_once(bad_gateway: Running, seen: Seen) -> None:
    seen.cancelled.clear()
    seen.sent = 0
    headers = {"Authorization": f"Bearer {bad_gateway.keys['alice']}"}
    with httpx.stream(
        "POST",
        bad_gateway.url + "/v1/chat/completions",
        json=chat("slowstream", stream=True),
        headers=headers,
    ) as r:
        content_id = r.headers["X-Synthguard-Content-Id"]
        for line in r.iter_lines():
            if line.startswith("data: ") and "慢" in line:
                break
    assert seen.cancelled.wait(5), "the upstream kept generating after the client left"
    assert seen.sent < 50
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not bad_gateway.core.ledger.select(content_id=content_id):
        time.sleep(0.05)
    (entry,) = bad_gateway.core.ledger.select(content_id=content_id)
    assert b"client_disconnected" in entry.leaf


def test_nothing_is_logged_twice(bad_gateway: Running, tmp_path: Path) -> None:
    ids = [e.content_id for e in bad_gateway.core.ledger.select() if e.event_type == "gateway.generated"]
    assert len(ids) == len(set(ids))


def test_an_unreachable_model_server_still_leaves_the_input_decision_stored_and_logged(
    bad_gateway: Running,
) -> None:
    prompt = "上游不可达时的输入审核记录"
    r = post(bad_gateway, chat("down", prompt))
    assert r.status_code >= 500
    digest = hashlib.sha256(prompt.encode("utf-8")).hexdigest()
    (row,) = [
        r for r in bad_gateway.core.reviewer.decisions(user_id="alice", limit=1000) if r.text_sha256 == digest
    ]
    seq = int(row.ledger_ref)
    leaf = json.loads(bad_gateway.core.ledger.store.entries([seq])[seq].leaf)
    assert leaf["type"] == "review_decision" and leaf["refs"]["decision_id"] == row.id
