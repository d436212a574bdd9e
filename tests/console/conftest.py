"""A console app on a scratch store with one account per role, and a login helper."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from synthguard.config import Settings
from synthguard.core import Synthguard
from synthguard.governance import Actor

PASSWORD = "correct-horse-battery"
ROOT = Actor("setup", "cli")
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_LOGIN_CSRF = re.compile(r'action="/console/login"[^>]*>\s*<input type="hidden" name="csrf" value="([^"]+)"')


@pytest.fixture
def core(settings: Settings) -> Iterator[Synthguard]:
    settings.public_upload_max_bytes = 64 * 1024
    settings.console_password_cost = 10  # scrypt N=2^10: the tests exercise logic, not the KDF's cost
    with Synthguard.open(settings) as sg:
        for name in ("admin", "reviewer", "reviewer2", "auditor"):
            sg.governance.staff.create_user(ROOT, name, PASSWORD, name.rstrip("2"))
        yield sg


@pytest.fixture
def app_client(settings: Settings, core: Synthguard) -> Iterator[TestClient]:
    from synthguard.gateway import create_app

    with TestClient(create_app(settings, core), follow_redirects=False) as client:
        yield client


def new_client(settings: Settings, core: Synthguard) -> TestClient:
    from synthguard.gateway import create_app

    return TestClient(create_app(settings, core), follow_redirects=False)


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token (read from a console page)."""
    page = client.get("/console/login")
    token = _LOGIN_CSRF.search(page.text)
    assert token is not None
    r = client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf": token.group(1), "next": "/console"},
    )
    assert r.status_code == 303, r.text
    return csrf_of(client)


def csrf_of(client: TestClient, path: str = "/console") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    token = _CSRF.search(page.text)
    assert token is not None
    return token.group(1)


def queued_item(core: Synthguard, text: str = "请审核这段文字：样例词 and more", user: str = "alice") -> int:
    return core.reviewer.queue.enqueue(
        text, user_id=user, categories=["A.1.g"], service="chat", direction="in"
    )
