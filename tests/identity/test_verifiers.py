"""The HTTP verifier against a real provider-style real-name API served by uvicorn on a real port."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from synthguard.config import Settings
from synthguard.core import Synthguard
from synthguard.errors import VerificationUnavailable
from synthguard.identity import HttpVerifier, IdentityClaim, resident_id_check_char
from tests.gateway.conftest import free_port

TOKEN = "vendor-token-123"
MATCH = "11010519900307851" + resident_id_check_char("11010519900307851")
MISMATCH = "31010419851112002" + resident_id_check_char("31010419851112002")
DOWN = "44030519920229001" + resident_id_check_char("44030519920229001")


def vendor_app(calls: list[dict[str, Any]]) -> FastAPI:
    app = FastAPI()

    @app.post("/idcard/check")
    async def check(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"message": "bad token"}, status_code=401)
        body = await request.json()
        calls.append(body)
        if body["number"] == MATCH and body["name"] == "张三":
            return JSONResponse({"result": "match", "level": "2e", "request_id": "req-1", "billed": True})
        if body["number"] == DOWN:
            return JSONResponse({"result": "unavailable"})
        return JSONResponse({"result": "mismatch", "request_id": "req-2", "billed": True})

    return app


@pytest.fixture(scope="module")
def vendor() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    import uvicorn

    calls: list[dict[str, Any]] = []
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(vendor_app(calls), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/idcard/check", calls
    server.should_exit = True
    thread.join(10)


def test_vendor_match_mismatch_and_outage_map_onto_verdicts(vendor: tuple[str, list[dict[str, Any]]]) -> None:
    url, calls = vendor
    verifier = HttpVerifier(url, token=TOKEN)
    good = verifier.verify(IdentityClaim(MATCH, name="张三"))
    assert good.ok and good.level == "2e" and good.request_id == "req-1" and good.billed
    bad = verifier.verify(IdentityClaim(MISMATCH, name="李四", mobile="13812345678"))
    assert bad.result == "mismatch" and not bad.ok
    with pytest.raises(VerificationUnavailable):
        verifier.verify(IdentityClaim(DOWN, name="王五"))
    before = len(calls)
    broken = MATCH[:17] + ("1" if MATCH[17] != "1" else "2")
    assert verifier.verify(IdentityClaim(broken, name="张三")).result == "invalid_input"
    assert len(calls) == before  # a malformed number never costs a paid call


def test_wrong_token_and_closed_port_are_unavailable_not_crashes(
    vendor: tuple[str, list[dict[str, Any]]],
) -> None:
    url, _ = vendor
    with pytest.raises(VerificationUnavailable) as err:
        HttpVerifier(url, token="wrong").verify(IdentityClaim(MATCH, name="张三"))
    assert "wrong" not in err.value.message
    with pytest.raises(VerificationUnavailable):
        HttpVerifier(f"http://127.0.0.1:{free_port()}/x", timeout_s=1).verify(
            IdentityClaim(MATCH, name="张三")
        )


def test_configured_http_verifier_decides_the_users_status(
    vendor: tuple[str, list[dict[str, Any]]], settings: Settings
) -> None:
    url, _ = vendor
    configured = settings.model_copy(
        update={"identity_verifier": "http", "identity_verifier_url": url, "identity_verifier_token": TOKEN}
    )
    with Synthguard.open(configured) as core:
        view, verdict = core.users.add_user("zhang", id_number=MATCH, real_name="张三")
        assert (
            view.status == "verified"
            and view.verification_level == "2e"
            and verdict
            and verdict.provider == "http"
        )
        other, _ = core.users.add_user("li", id_number=MISMATCH, real_name="李四")
        assert other.status == "unverified"
