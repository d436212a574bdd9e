"""Four-eyes approval: a ban, lifting a ban, publishing a refutation and reporting an incident wait
for a second staff member; the requester cannot approve their own request; the gateway refuses a
user only once the ban is approved; both people are in the audit trail and the ledger; the
setting turns the control off for a team of one."""

from __future__ import annotations

import json
import threading

import pytest
from fastapi.testclient import TestClient

from synthguard.config import Settings
from synthguard.core import Synthguard
from synthguard.errors import PermissionDenied, RecordConflict
from synthguard.governance import Actor
from synthguard.governance.approvals import ApprovalView
from synthguard.store.models import LedgerEntry
from tests.console.conftest import login, new_client

REVIEWER = Actor("reviewer", "reviewer")
SECOND = Actor("reviewer2", "reviewer")


def _gateway_code(client: TestClient, key: str) -> str:
    r = client.post(
        "/v1/chat/completions",
        json={"model": "demo", "messages": [{"role": "user", "content": "你好"}]},
        headers={"Authorization": f"Bearer {key}"},
    )
    body = r.json()
    return str(body.get("error", body).get("code", r.status_code))


def test_a_ban_reaches_the_gateway_only_once_a_second_reviewer_approves(
    settings: Settings, core: Synthguard, app_client: TestClient
) -> None:
    core.users.add_user("mallory")
    key, _ = core.apikeys.create("mallory")
    before = _gateway_code(app_client, key)
    assert before != "account_restricted"
    csrf = login(app_client, "reviewer")
    r = app_client.post(
        "/console/users/mallory/sanction", data={"csrf": csrf, "action": "ban", "reason": "多次违法"}
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/console/approvals")
    assert core.users.show("mallory").status == "unverified"
    assert _gateway_code(app_client, key) == before  # pending: the gateway still serves the user
    page = app_client.get("/console/approvals").text
    assert "data-own-request" in page and "/approve" not in page  # no approve button for the requester
    [pending] = core.governance.approvals.list(status="pending")
    r = app_client.post(f"/console/approvals/{pending.id}/approve", data={"csrf": csrf, "note": "self"})
    assert r.status_code == 403 and "另一名员工" in r.text
    assert core.users.show("mallory").status == "unverified"
    assert "待批准" in app_client.get("/console/users/mallory").text

    with new_client(settings, core) as other:
        other_csrf = login(other, "reviewer2")
        r = other.post(f"/console/approvals/{pending.id}/approve", data={"csrf": other_csrf, "note": "核实"})
        assert r.status_code == 303, r.text
    assert core.users.show("mallory").status == "banned"
    assert _gateway_code(app_client, key) == "account_restricted"

    done = core.governance.approvals.get(pending.id)
    assert (done.status, done.requested_by, done.decided_by) == ("approved", "reviewer", "reviewer2")
    trail = {a.action: a for a in core.governance.audit.list(limit=50)}
    assert trail["approval.request"].actor == "reviewer"
    assert trail["approval.approve"].actor == "reviewer2"
    assert trail["approval.approve"].detail["requested_by"] == "reviewer"
    ban = trail["user.ban"]
    assert ban.actor == "reviewer2" and ban.detail["requested_by"] == "reviewer"
    assert ban.detail["approval_id"] == pending.id
    with core.sessions() as session:  # each step is a ledger leaf naming its actor
        for name, who in (
            ("approval.request", "reviewer"),
            ("approval.approve", "reviewer2"),
            ("user.ban", "reviewer2"),
        ):
            seq = trail[name].ledger_seq
            assert seq is not None
            leaf = session.get(LedgerEntry, seq)
            assert leaf is not None
            body = json.loads(leaf.leaf)
            assert body["type"] == f"governance.{name}" and body["refs"]["actor"] == who, body


def test_requests_can_be_rejected_or_cancelled_and_never_run(core: Synthguard) -> None:
    gov = core.governance
    core.users.add_user("zed")
    request = gov.sanction(REVIEWER, "zed", "ban", "spam")
    assert isinstance(request, ApprovalView)
    with pytest.raises(RecordConflict, match="already awaits"):
        gov.sanction(SECOND, "zed", "ban", "again")
    with pytest.raises(PermissionDenied):
        gov.approvals.reject(REVIEWER, request.id, "own")
    rejected = gov.approvals.reject(SECOND, request.id, "证据不足")
    assert rejected.status == "rejected"
    with pytest.raises(RecordConflict, match="already rejected"):
        gov.approve(SECOND, request.id)
    assert core.users.show("zed").status == "unverified"
    again = gov.sanction(REVIEWER, "zed", "ban", "spam, with evidence")
    assert isinstance(again, ApprovalView)
    with pytest.raises(PermissionDenied, match="only reviewer"):
        gov.approvals.cancel(SECOND, again.id)
    assert gov.approvals.cancel(REVIEWER, again.id).status == "cancelled"
    assert core.users.show("zed").status == "unverified"


def test_warnings_need_no_approval_and_only_lifting_a_ban_does(core: Synthguard) -> None:
    gov = core.governance
    core.users.add_user("amy")
    assert gov.sanction(REVIEWER, "amy", "suspend", "cool off", duration_h=1).status == "suspended"  # type: ignore[union-attr]
    lifted = gov.sanction(REVIEWER, "amy", "unban", "appeal")
    assert not isinstance(lifted, ApprovalView) and lifted.status == "unverified"


def test_refutation_publish_and_incident_report_wait_for_a_second_person(core: Synthguard) -> None:
    gov = core.governance
    [draft] = gov.refutations.create(REVIEWER, ["sg-rumour-1"], "此为谣言")
    request = gov.publish_refutation(REVIEWER, draft.id, "核实完毕")
    assert isinstance(request, ApprovalView) and request.params["content_id"] == "sg-rumour-1"
    assert core.refutation_for("sg-rumour-1") is None  # not public before approval
    _, published = gov.approve(SECOND, request.id, "同意")
    assert published.status == "published" and published.published_by == "reviewer2"
    assert core.refutation_for("sg-rumour-1") is not None
    with pytest.raises(RecordConflict):
        gov.publish_refutation(REVIEWER, draft.id, "again")

    incident = gov.incidents.open(REVIEWER, "违法内容 illegal content")
    report = gov.set_incident_status(REVIEWER, incident.id, "reported", "报送网信办")
    assert isinstance(report, ApprovalView)
    assert gov.incidents.get(incident.id).status == "open"
    _, reported = gov.approve(SECOND, report.id)
    assert reported.status == "reported" and reported.reported_at is not None
    closed = gov.set_incident_status(REVIEWER, incident.id, "closed", "done")  # not four-eyes
    assert not isinstance(closed, ApprovalView) and closed.status == "closed"


def test_an_approval_whose_action_can_no_longer_run_is_marked_failed(core: Synthguard) -> None:
    gov = core.governance
    [draft] = gov.refutations.create(REVIEWER, ["sg-rumour-2"], "谣言")
    request = gov.publish_refutation(REVIEWER, draft.id, "publish")
    assert isinstance(request, ApprovalView)
    gov.refutations.withdraw(SECOND, draft.id, "source retracted")
    with pytest.raises(RecordConflict):
        gov.approve(SECOND, request.id)
    failed = gov.approvals.get(request.id)
    assert failed.status == "failed" and "withdrawn" in failed.note


def test_two_approvers_racing_run_the_action_once(core: Synthguard) -> None:
    gov = core.governance
    core.users.add_user("race")
    request = gov.sanction(REVIEWER, "race", "ban", "spam")
    assert isinstance(request, ApprovalView)
    outcomes: list[str] = []

    def approve(who: str) -> None:
        try:
            gov.approve(Actor(who, "admin"), request.id)
            outcomes.append("ok")
        except RecordConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=approve, args=(name,)) for name in ("admin", "reviewer2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "ok"]
    assert [a.action for a in gov.audit.list(limit=100)].count("user.ban") == 1


def test_four_eyes_off_runs_at_once_and_says_so(settings: Settings) -> None:
    settings.console_four_eyes = False
    settings.console_password_cost = 10
    with Synthguard.open(settings) as core:
        core.users.add_user("solo")
        done = core.governance.sanction(REVIEWER, "solo", "ban", "spam")
        assert not isinstance(done, ApprovalView) and done.status == "banned"
        [ban] = [a for a in core.governance.audit.list() if a.action == "user.ban"]
        assert ban.detail["four_eyes"] is False
        assert core.governance.approvals.list() == []


def test_the_dashboard_counts_pending_approvals(app_client: TestClient, core: Synthguard) -> None:
    core.users.add_user("dash")
    core.governance.sanction(REVIEWER, "dash", "ban", "spam")
    login(app_client, "auditor")
    assert "data-approvals-pending>1</b>" in app_client.get("/console").text
    page = app_client.get("/console/approvals").text
    assert "dash" in page and "/approve" not in page  # auditors read, never decide


def test_pages_show_what_awaits_approval(app_client: TestClient, core: Synthguard) -> None:
    gov = core.governance
    [draft] = gov.refutations.create(REVIEWER, ["sg-pending"], "谣言")
    publish = gov.publish_refutation(REVIEWER, draft.id, "publish")
    incident = gov.incidents.open(REVIEWER, "incident")
    report = gov.set_incident_status(REVIEWER, incident.id, "reported", "报送")
    assert isinstance(publish, ApprovalView) and isinstance(report, ApprovalView)
    csrf = login(app_client, "reviewer")
    refutations = app_client.get("/console/refutations").text
    assert f'data-pending-approval="{publish.id}"' in refutations
    assert f"/console/refutations/{draft.id}/publish" not in refutations  # no second request button
    assert f'data-pending-approval="{report.id}"' in app_client.get(f"/console/incidents/{incident.id}").text
    r = app_client.post(
        f"/console/incidents/{incident.id}/status",
        data={"csrf": csrf, "status": "reported", "reason": "again"},
    )
    assert r.status_code == 409  # one request per target at a time
