"""Failed console logins lock the account (and a client address trying many accounts) for a while,
with a bilingual message and the retry time; the state lives in the store, so a second console
replica sees the lockout; a successful login resets the count."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
from fastapi.testclient import TestClient

from synthguard.config import Settings
from synthguard.core import Synthguard
from synthguard.errors import LoginLocked, LoginRequired
from synthguard.governance.throttle import LoginThrottle
from tests.console.conftest import PASSWORD, login, new_client

_TOKEN = re.compile(r'name="csrf" value="([^"]+)"')


def _attempt(client: TestClient, user: str, password: str) -> httpx.Response:
    token = _TOKEN.search(client.get("/console/login").text)
    assert token
    return client.post(
        "/console/login", data={"username": user, "password": password, "csrf": token.group(1)}
    )


def test_five_failures_lock_the_account_with_a_bilingual_retry_time(
    settings: Settings, core: Synthguard, app_client: TestClient
) -> None:
    for _ in range(settings.console_login_max_failures):
        assert _attempt(app_client, "reviewer", "wrong-password").status_code == 401
    r = _attempt(app_client, "reviewer", PASSWORD)  # even the right password waits
    assert r.status_code == 429
    text = r.text
    assert "data-login-locked" in text and "登录失败次数过多" in text and "秒后）再试" in text
    app_client.headers["Accept-Language"] = "en"
    english = _attempt(app_client, "reviewer", PASSWORD).text
    del app_client.headers["Accept-Language"]
    assert "too many failed logins; try again after" in english and "登录失败" not in english
    assert 800 < int(r.headers["retry-after"]) <= 900
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", text)
    # A second console replica (another app on the same store) sees the same lockout.
    with new_client(settings, core) as replica:
        assert _attempt(replica, "reviewer", PASSWORD).status_code == 429
    # Another account from the same client is not locked by the first one's failures.
    login(app_client, "admin")


def test_a_client_trying_many_accounts_is_locked_by_address(core: Synthguard) -> None:
    staff = core.governance.staff
    limit = core.settings.console_login_max_failures * 4
    for i in range(limit):
        with pytest.raises(LoginRequired):
            staff.login(f"guess{i}", "wrong-password", client="203.0.113.9")
    with pytest.raises(LoginLocked):
        staff.login("admin", PASSWORD, client="203.0.113.9")
    token, session = staff.login("admin", PASSWORD, client="198.51.100.1")  # elsewhere: fine
    assert token and session.username == "admin"


def test_success_resets_the_count(core: Synthguard) -> None:
    staff = core.governance.staff
    limit = core.settings.console_login_max_failures
    for _ in range(limit - 1):
        with pytest.raises(LoginRequired):
            staff.login("reviewer", "wrong-password", client="10.0.0.1")
    staff.login("reviewer", PASSWORD, client="10.0.0.1")
    for _ in range(limit - 1):
        with pytest.raises(LoginRequired):
            staff.login("reviewer", "wrong-password", client="10.0.0.1")
    staff.login("reviewer", PASSWORD, client="10.0.0.1")  # would be locked without the reset


def test_the_lockout_ends_by_itself(core: Synthguard) -> None:
    throttle = LoginThrottle(core.sessions, max_failures=2, lockout_s=60)
    t0 = dt.datetime.now(dt.UTC)
    throttle.failed("Eve", "", now=t0)
    throttle.failed("eve", "", now=t0)  # names are case-folded: one counter
    with pytest.raises(LoginLocked) as err:
        throttle.check("EVE", "", now=t0 + dt.timedelta(seconds=30))
    assert err.value.retry_at == t0 + dt.timedelta(seconds=60)
    throttle.check("eve", "", now=t0 + dt.timedelta(seconds=61))
