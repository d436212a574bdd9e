"""Access control: each role reaches only its pages and actions; anonymous visitors only the public
pages; CSRF on every state change; no session fixation; logout ends the session everywhere."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from synthguard.config import Settings
from synthguard.console.auth import ACTIONS, PAGES, SESSION_COOKIE
from synthguard.core import Synthguard
from synthguard.governance import Actor
from tests.console.conftest import csrf_of, login, new_client, queued_item

PAGE_URLS = {
    "dashboard": "/console",
    "queue": "/console/queue",
    "users": "/console/users",
    "incidents": "/console/incidents",
    "refutations": "/console/refutations",
    "complaints": "/console/complaints",
    "consent": "/console/consent",
    "filing": "/console/filing",
    "assessments": "/console/assessments",
    "audit": "/console/audit",
    "staff": "/console/staff",
    "approvals": "/console/approvals",
}
# One POST per action, with data that would succeed for an allowed role.
ACTION_POSTS = {
    "queue.act": ("/console/queue/{item}/claim", {}),
    "users.sanction": ("/console/users/alice/sanction", {"action": "warn", "reason": "r"}),
    "incidents.write": ("/console/incidents", {"title": "t"}),
    "refutations.write": ("/console/refutations", {"content_ids": "sg-x", "notice_zh": "n"}),
    "complaints.answer": ("/console/complaints/{complaint}/answer", {"feedback": "f"}),
    "consent.write": ("/console/consent/cs-none/revoke", {"reason": "r"}),
    "filing.write": ("/console/filing", {"algorithm_number": "", "reason": "r"}),
    "assessments.write": ("/console/assessments", {"kind": "security_self", "title": "t"}),
    "staff.write": ("/console/staff", {"username": "newbie", "password": "0123456789ab", "role": "auditor"}),
    "approvals.decide": ("/console/approvals/{approval}/reject", {"note": "no"}),
}
PUBLIC_URLS = ["/", "/public", "/public/check", "/public/complaint", "/v1/complaints/procedure", "/v1/filing"]


def test_every_page_and_action_is_in_the_matrix() -> None:
    assert set(PAGE_URLS) == set(PAGES)
    assert set(ACTION_POSTS) - {"incidents.export", "evidence.upload"} == set(ACTIONS) - {
        "incidents.export",
        "evidence.upload",
    }


@pytest.mark.parametrize("role", ["admin", "reviewer", "auditor"])
def test_each_role_opens_exactly_its_pages(app_client: TestClient, role: str) -> None:
    login(app_client, role)
    for page, url in PAGE_URLS.items():
        r = app_client.get(url)
        expected = 200 if role in PAGES[page] else 403
        assert r.status_code == expected, (role, page, r.status_code)
        if expected == 403:
            assert "无权" in r.text and "Permission denied" not in r.text  # an HTML page, not JSON
            en = app_client.get(url, headers={"Accept-Language": "en-US,en;q=0.9"})
            assert "Permission denied" in en.text and "无权" not in en.text


@pytest.mark.parametrize("role", ["admin", "reviewer", "auditor"])
def test_each_role_takes_exactly_its_actions(app_client: TestClient, core: Synthguard, role: str) -> None:
    core.users.add_user("alice")
    item = queued_item(core)
    complaint = core.governance.complaints.file("other", "x").id
    approval = core.governance.approvals.request(Actor("reviewer2", "reviewer"), "user.ban", "alice", "r").id
    csrf = login(app_client, role)
    for action, (url, data) in ACTION_POSTS.items():
        target = url.format(item=item, complaint=complaint, approval=approval)
        r = app_client.post(target, data={"csrf": csrf, **data})
        allowed = role in ACTIONS[action]
        if action == "consent.write" and allowed:
            assert r.status_code == 404, (role, action)  # got past the role check to the missing record
        else:
            assert (r.status_code == 303) == allowed, (role, action, r.status_code, r.text[:300])
            if not allowed:
                assert r.status_code == 403


# Endpoints under a page that are not pages themselves: each follows its page's roles.
EXTRA_GETS = {"/console/queue/{item}/media": "queue"}
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8cfc0f01f0005000201a2dd7b4e0000000049454e44ae426082"
)


@pytest.mark.parametrize("role", ["admin", "reviewer", "auditor"])
def test_each_role_reaches_exactly_the_endpoints_of_its_pages(
    app_client: TestClient, core: Synthguard, role: str
) -> None:
    item = core.reviewer.queue.enqueue("x", media=PNG_1PX, service="image_edit", direction="in")
    login(app_client, role)
    for url, page in EXTRA_GETS.items():
        r = app_client.get(url.format(item=item))
        assert r.status_code == (200 if role in PAGES[page] else 403), (role, url, r.status_code)


def test_nav_shows_only_reachable_pages(app_client: TestClient) -> None:
    login(app_client, "auditor")
    page = app_client.get("/console").text
    assert 'href="/console/audit"' in page and 'href="/console/staff"' not in page
    assert 'href="/console/queue"' not in page


def test_anonymous_gets_public_pages_and_is_sent_to_login_elsewhere(app_client: TestClient) -> None:
    for url in PUBLIC_URLS:
        assert app_client.get(url).status_code == 200, url
    for url in PAGE_URLS.values():
        r = app_client.get(url)
        assert r.status_code == 303 and r.headers["location"].startswith("/console/login?next=/console"), url
    for url, data in ACTION_POSTS.values():
        r = app_client.post(url.format(item=1, complaint=1, approval=1), data=data)
        assert r.status_code == 401, url
    assert app_client.get("/console/incidents/1/report.pdf").status_code == 303
    for url in EXTRA_GETS:
        r = app_client.get(url.format(item=1))
        assert r.status_code == 303 and r.headers["location"].startswith("/console/login"), url


def test_post_without_csrf_or_with_another_sessions_token_is_rejected(
    settings: Settings, core: Synthguard, app_client: TestClient
) -> None:
    login(app_client, "admin")
    with new_client(settings, core) as other:
        other_csrf = login(other, "admin")
    data = {"title": "should not exist"}
    assert app_client.post("/console/incidents", data=data).status_code == 403
    assert app_client.post("/console/incidents", data={**data, "csrf": other_csrf}).status_code == 403
    assert app_client.post("/console/incidents", data={**data, "csrf": ""}).status_code == 403
    assert core.governance.incidents.list() == []
    r = app_client.post("/console/incidents", data=data, headers={"X-CSRF-Token": csrf_of(app_client)})
    assert r.status_code == 303  # the header form (HTMX) is accepted too


def test_login_form_needs_its_own_csrf_cookie(app_client: TestClient) -> None:
    app_client.get("/console/login")
    r = app_client.post(
        "/console/login", data={"username": "admin", "password": "correct-horse-battery", "csrf": "forged"}
    )
    assert r.status_code == 403 and SESSION_COOKIE not in r.cookies


def test_a_session_id_planted_before_login_is_never_used(app_client: TestClient, core: Synthguard) -> None:
    planted = "attacker-chosen-session-token"
    app_client.cookies.set(SESSION_COOKIE, planted, domain="testserver.local")
    login(app_client, "reviewer")
    issued = app_client.cookies.get(SESSION_COOKIE)
    assert issued and issued != planted
    assert core.governance.staff.session(planted) is None
    attacker = TestClient(app_client.app, follow_redirects=False)
    attacker.cookies.set(SESSION_COOKIE, planted)
    assert attacker.get("/console").status_code == 303


def test_each_login_issues_a_new_token_and_logout_kills_it(app_client: TestClient, core: Synthguard) -> None:
    csrf = login(app_client, "reviewer")
    first = app_client.cookies.get(SESSION_COOKIE)
    login(app_client, "reviewer")
    second = app_client.cookies.get(SESSION_COOKIE)
    assert first != second and core.governance.staff.session(first) is None  # re-login drops the old one
    csrf = csrf_of(app_client)
    r = app_client.post("/console/logout", data={"csrf": csrf})
    assert r.status_code == 303
    assert core.governance.staff.session(second) is None
    app_client.cookies.set(SESSION_COOKIE, second or "", domain="testserver.local")
    assert app_client.get("/console").status_code == 303


def test_wrong_password_shows_the_same_message_for_unknown_users(app_client: TestClient) -> None:
    texts = []
    for user in ("admin", "nobody"):
        page = app_client.get("/console/login").text
        import re

        token = re.search(r'name="csrf" value="([^"]+)"', page)
        assert token
        r = app_client.post(
            "/console/login", data={"username": user, "password": "wrong-password", "csrf": token.group(1)}
        )
        assert r.status_code == 401
        texts.append("data-login-failed" in r.text)
    assert texts == [True, True]


def test_session_cookie_is_httponly_and_samesite_strict(app_client: TestClient) -> None:
    page = app_client.get("/console/login")
    import re

    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    r = app_client.post(
        "/console/login",
        data={
            "username": "admin",
            "password": "correct-horse-battery",
            "csrf": token.group(1),
            "next": "//evil",
        },
    )
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert r.headers["location"] == "/console"  # no open redirect after login
