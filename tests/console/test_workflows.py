"""Console workflows over HTTP: the review queue with highlighted spans, deciding "illegal" opens an
incident, concurrent decisions, sanctions reaching the user registry, complaints with timers,
consent with evidence files, refutations shown on the public page, filing in pages and headers,
escaping of every text field, oversized and wrong-type uploads, the dashboard charts."""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from synthguard.config import Settings
from synthguard.core import Synthguard
from synthguard.governance import Actor
from synthguard.review import read_library, sample_library
from tests.conftest import make_png
from tests.console.conftest import csrf_of, login, new_client, queued_item

RUMOUR = "演示谣言词"  # sample library: A.1.g, review
FILING = "网信算备110108823483901230031号"
XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def review_item(core: Synthguard, text: str = f"据说{RUMOUR}已经传开", user: str = "alice") -> int:
    entries, _ = read_library(sample_library(), "sample_library.csv")
    core.reviewer.library.import_entries(entries, source="tests")
    decision = core.review_text(text, user_id=user)
    assert decision.action == "review" and decision.queue_item_id is not None
    return decision.queue_item_id


def test_queue_item_highlights_the_matched_span(app_client: TestClient, core: Synthguard) -> None:
    item = review_item(core)
    login(app_client, "reviewer")
    page = app_client.get(f"/console/queue/{item}").text
    assert f'<mark title="A.1.g">{RUMOUR}</mark>' in page
    assert f'href="/console/queue/{item}"' in app_client.get("/console/queue").text


def test_claim_then_decide_illegal_opens_an_incident_with_user_and_digest(
    app_client: TestClient, core: Synthguard
) -> None:
    item = review_item(core)
    csrf = login(app_client, "reviewer")
    assert app_client.post(f"/console/queue/{item}/claim", data={"csrf": csrf}).status_code == 303
    r = app_client.post(
        f"/console/queue/{item}/decide", data={"csrf": csrf, "decision": "illegal", "reason": "谣言，A.1.g"}
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/console/incidents/")
    [incident] = core.governance.incidents.list()
    assert incident.queue_item_id == item and incident.user_ids == ["alice"] and incident.source == "review"
    assert incident.content_ids[0].startswith("sha256:") and incident.risk_code == "A.1.g"
    decided = core.reviewer.queue.get(item)
    assert (decided.status, decided.outcome, decided.decided_by) == ("decided", "block", "reviewer")
    actions = [a.action for a in core.governance.audit.list(target_kind="queue_item")]
    assert actions == ["queue.decide", "queue.claim"]


def test_deciding_without_a_reason_or_without_the_claim_is_refused(
    app_client: TestClient, core: Synthguard
) -> None:
    item = queued_item(core)
    csrf = login(app_client, "reviewer")
    r = app_client.post(
        f"/console/queue/{item}/decide", data={"csrf": csrf, "decision": "block", "reason": "x"}
    )
    assert r.status_code == 409 and "open" in r.text  # not claimed
    app_client.post(f"/console/queue/{item}/claim", data={"csrf": csrf})
    r = app_client.post(
        f"/console/queue/{item}/decide", data={"csrf": csrf, "decision": "block", "reason": ""}
    )
    assert r.status_code == 422 and "reason" in r.text


def test_two_reviewers_claiming_at_once_one_wins_the_other_is_told(
    settings: Settings, core: Synthguard
) -> None:
    item = queued_item(core)
    with new_client(settings, core) as a, new_client(settings, core) as b:
        tokens = {"a": login(a, "reviewer"), "b": login(b, "reviewer2")}
        barrier = threading.Barrier(2)
        results: dict[str, tuple[int, str]] = {}

        def claim(name: str, client: TestClient) -> None:
            barrier.wait()
            r = client.post(f"/console/queue/{item}/claim", data={"csrf": tokens[name]})
            results[name] = (r.status_code, r.text)

        threads = [threading.Thread(target=claim, args=x) for x in (("a", a), ("b", b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    codes = sorted(code for code, _ in results.values())
    assert codes == [303, 409]
    loser = next(text for code, text in results.values() if code == 409)
    winner = core.reviewer.queue.get(item).claimed_by
    assert f"claimed by {winner}" in loser or f"by {winner}" in loser


def test_two_concurrent_decisions_on_one_item_only_one_lands(settings: Settings, core: Synthguard) -> None:
    item = queued_item(core)
    with new_client(settings, core) as a, new_client(settings, core) as b:
        csrf_a = login(a, "reviewer")
        csrf_b = login(b, "reviewer")  # same reviewer, two tabs
        a.post(f"/console/queue/{item}/claim", data={"csrf": csrf_a})
        barrier = threading.Barrier(2)
        codes: dict[str, int] = {}

        def decide(name: str, client: TestClient, csrf: str, decision: str) -> None:
            barrier.wait()
            r = client.post(
                f"/console/queue/{item}/decide", data={"csrf": csrf, "decision": decision, "reason": name}
            )
            codes[name] = r.status_code

        threads = [
            threading.Thread(target=decide, args=("a", a, csrf_a, "pass")),
            threading.Thread(target=decide, args=("b", b, csrf_b, "block")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(codes.values()) == [303, 409]
    final = core.reviewer.queue.get(item)
    winner = "a" if codes["a"] == 303 else "b"
    assert final.outcome == {"a": "pass", "b": "block"}[winner]
    assert [n.kind for n in final.notes].count("decide") == 1


def test_escalate_hands_the_item_up_a_level(app_client: TestClient, core: Synthguard) -> None:
    item = queued_item(core)
    csrf = login(app_client, "reviewer")
    app_client.post(f"/console/queue/{item}/claim", data={"csrf": csrf})
    r = app_client.post(f"/console/queue/{item}/escalate", data={"csrf": csrf, "reason": "needs senior"})
    assert r.status_code == 303
    view = core.reviewer.queue.get(item)
    assert (view.status, view.level, view.claimed_by) == ("escalated", 2, "")


@pytest.mark.parametrize(
    ("action", "status"),
    [("warn", "warned"), ("restrict", "restricted"), ("suspend", "suspended"), ("ban", "banned")],
)
def test_sanctions_change_the_users_status_in_the_registry(
    app_client: TestClient, core: Synthguard, action: str, status: str
) -> None:
    core.users.add_user("alice")
    csrf = login(app_client, "reviewer")
    r = app_client.post(
        "/console/users/alice/sanction",
        data={"csrf": csrf, "action": action, "reason": "违规", "duration_h": "2"},
    )
    assert r.status_code == 303
    if action == "ban":  # four-eyes (on by default): nothing changes until a second person approves
        assert r.headers["location"].startswith("/console/approvals")
        assert core.users.show("alice").status == "unverified"
        [pending] = core.governance.approvals.list(status="pending")
        with new_client(core.settings, core) as other:
            other_csrf = login(other, "reviewer2")
            r = other.post(
                f"/console/approvals/{pending.id}/approve", data={"csrf": other_csrf, "note": "ok"}
            )
            assert r.status_code == 303, r.text
    view = core.users.show("alice")
    assert view.status == status and view.status_reason == "违规"
    if action in ("restrict", "suspend", "warn"):
        assert view.status_until is not None
    r = app_client.post(
        "/console/users/alice/sanction", data={"csrf": csrf, "action": "unban", "reason": "appeal"}
    )
    if action == "ban":  # lifting a ban is four-eyes too; lifting a warning is not
        [pending] = core.governance.approvals.list(status="pending")
        assert pending.kind == "user.unban"
        core.governance.approve(Actor("reviewer2", "reviewer"), pending.id)
    assert core.users.show("alice").status == "unverified"  # unban never verifies an unchecked identity
    page = app_client.get("/console/users/alice").text
    assert "appeal" in page and "违规" in page


def test_sanction_with_bad_duration_is_refused(app_client: TestClient, core: Synthguard) -> None:
    core.users.add_user("alice")
    csrf = login(app_client, "reviewer")
    for bad in ("-1", "abc", "999999999"):
        r = app_client.post(
            "/console/users/alice/sanction",
            data={"csrf": csrf, "action": "suspend", "reason": "x", "duration_h": bad},
        )
        assert r.status_code == 422, bad
    assert core.users.show("alice").status == "unverified"


def test_public_complaint_appears_in_the_console_with_its_timer_and_gets_feedback(
    app_client: TestClient, core: Synthguard
) -> None:
    r = app_client.post(
        "/public/complaint",
        data={"category": "rumour", "description": "这条视频是假的", "contact": "13812345678"},
    )
    assert r.status_code == 303
    ticket_url = r.headers["location"]
    assert "已受理" in app_client.get(ticket_url).text
    [c] = core.governance.complaints.list()
    login(app_client, "reviewer")
    listing = app_client.get("/console/complaints").text
    assert f'data-due="{c.due_at.isoformat()}"' in listing and "这条视频是假的" in listing
    csrf = csrf_of(app_client, f"/console/complaints/{c.id}")
    app_client.post(f"/console/complaints/{c.id}/take", data={"csrf": csrf})
    r = app_client.post(f"/console/complaints/{c.id}/answer", data={"csrf": csrf, "feedback": "已删除并辟谣"})
    assert r.status_code == 303
    public = TestClient(app_client.app).get(ticket_url).text
    assert "已删除并辟谣" in public and "13812345678" not in public  # feedback shown, contact never


def test_complaint_api_files_and_reports_status(
    app_client: TestClient, core: Synthguard, tmp_path: Path
) -> None:
    labeled = core.label_file(make_png(tmp_path / "x.png"))
    with open(labeled.path or "", "rb") as f:
        r = app_client.post(
            "/v1/complaints",
            data={"category": "unlabeled", "description": "no notice shown"},
            files={"file": ("x.png", f, "image/png")},
        )
    assert r.status_code == 201
    body = r.json()
    assert body["content_id"] == labeled.content_id  # taken from the file's own label
    status = app_client.get(f"/v1/complaints/{body['ticket']}").json()
    assert status["status"] == "open" and status["due_at"] == body["due_at"]
    assert app_client.get("/v1/complaints/c-unknown").status_code == 404
    r = app_client.post("/v1/complaints", data={"category": "nope", "description": "x"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_field"


def test_overdue_complaints_raise_an_alert_on_dashboard_and_list(
    app_client: TestClient, core: Synthguard
) -> None:
    import datetime as dt

    from sqlalchemy import update

    from synthguard.store.models import GovComplaint

    core.governance.complaints.file("other", "late one")
    with core.sessions.begin() as s:
        s.execute(update(GovComplaint).values(due_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)))
    login(app_client, "auditor")
    assert "data-overdue-alert" in app_client.get("/console/complaints").text
    dash = app_client.get("/console").text
    assert "data-complaints-overdue>1<" in dash and "<svg" in dash


def test_consent_recorded_in_the_console_gates_the_core_check(
    app_client: TestClient, core: Synthguard
) -> None:
    csrf = login(app_client, "reviewer")
    r = app_client.post(
        "/console/consent",
        data={
            "csrf": csrf,
            "user_id": "alice",
            "subject_name": "李四",
            "uses": ["voice_clone"],
            "method": "signed_form",
        },
        files={"evidence": ("form.pdf", b"%PDF-1.4\nsigned\n", "application/pdf")},
    )
    assert r.status_code == 303, r.text
    [c] = core.governance.consents.list()
    assert core.has_valid_consent(c.consent_id, "alice", "voice_clone")
    download = app_client.get(f"/console/evidence/{c.evidence_sha256}")
    assert download.content == b"%PDF-1.4\nsigned\n"
    app_client.post(f"/console/consent/{c.consent_id}/revoke", data={"csrf": csrf, "reason": "withdrawn"})
    assert not core.has_valid_consent(c.consent_id, "alice", "voice_clone")


def test_consent_evidence_of_the_wrong_type_or_too_large_is_refused(
    app_client: TestClient, core: Synthguard
) -> None:
    csrf = login(app_client, "reviewer")
    data = {"csrf": csrf, "user_id": "alice", "subject_name": "x", "uses": ["face_swap"], "method": "other"}
    r = app_client.post(
        "/console/consent",
        data=data,
        files={"evidence": ("a.pdf", b"#!/bin/sh\nrm -rf /", "application/pdf")},
    )
    assert r.status_code == 415
    big = b"%PDF-" + b"0" * (core.settings.public_upload_max_bytes + 10)
    r = app_client.post("/console/consent", data=data, files={"evidence": ("a.pdf", big, "application/pdf")})
    assert r.status_code == 413
    assert core.governance.consents.list() == []


def test_public_check_shows_verdict_ledger_and_published_refutation(
    app_client: TestClient, core: Synthguard, tmp_path: Path
) -> None:
    labeled = core.label_file(make_png(tmp_path / "photo.png"))
    content = Path(labeled.path or "").read_bytes()
    page = app_client.post("/public/check", files={"file": ("photo.png", content, "image/png")}).text
    assert 'data-verdict="compliant"' in page and 'data-integrity="intact"' in page
    assert 'data-art6="confirmed"' in page
    assert labeled.content_id in page and "data-refutation" not in page
    staff = Actor("r", "reviewer")
    [refutation] = core.governance.refutations.create(
        staff,
        [labeled.content_id],
        "该图片被用于传播谣言",
        notice_en="This image was used in a rumour",
    )
    core.governance.refutations.publish(staff, refutation.id)
    page = app_client.post("/public/check", files={"file": ("photo.png", content, "image/png")}).text
    assert "data-refutation" in page and "该图片被用于传播谣言" in page
    data = app_client.post("/v1/check", files={"file": ("photo.png", content, "image/png")}).json()
    assert data["refutations"][0]["notice_en"] == "This image was used in a rumour"
    assert data["ledger"][labeled.content_id]["checkpoint_size"] >= 1


def test_public_check_refuses_wrong_types_and_oversized_files(
    app_client: TestClient, core: Synthguard
) -> None:
    r = app_client.post(
        "/public/check", files={"file": ("x.exe", b"MZ\x90\x00" * 10, "application/octet-stream")}
    )
    assert r.status_code == 415 and "不支持" in r.text
    big = b"\x89PNG\r\n\x1a\n" + b"0" * (core.settings.public_upload_max_bytes + 1)
    r = app_client.post("/public/check", files={"file": ("big.png", big, "image/png")})
    assert r.status_code == 413
    huge = b"0" * (core.settings.public_upload_max_bytes + 512 * 1024)
    r = app_client.post("/public/check", files={"file": ("huge.png", huge, "image/png")})
    assert r.status_code == 413  # refused from Content-Length, before parsing
    assert list(core.settings.uploads_dir.iterdir()) == []  # nothing left behind


def test_filing_number_shows_on_every_page_and_in_api_headers(
    app_client: TestClient, core: Synthguard
) -> None:
    assert "X-Filing-Number" not in app_client.get("/healthz").headers
    core.governance.filing.set(Actor("a", "admin"), "setup", algorithm_number=FILING)
    for url in ("/", "/public", "/public/check", "/public/complaint", "/console/login"):
        assert FILING in app_client.get(url).text, url
    login(app_client, "auditor")
    assert FILING in app_client.get("/console/assessments").text
    headers = app_client.get("/healthz").headers
    assert unquote(headers["X-Filing-Number"]) == FILING and headers["X-Filing-Url"].startswith("https://")
    assert app_client.get("/v1/filing").json()["algorithm_number"] == FILING


def test_admin_sets_filing_through_the_console(app_client: TestClient, core: Synthguard) -> None:
    csrf = login(app_client, "admin")
    r = app_client.post(
        "/console/filing", data={"csrf": csrf, "algorithm_number": "网信算备1号", "reason": "x"}
    )
    assert r.status_code == 422
    r = app_client.post(
        "/console/filing", data={"csrf": csrf, "algorithm_number": FILING, "url": "", "reason": "filed"}
    )
    assert r.status_code == 303 and core.governance.filing.current(fresh=True).algorithm_number == FILING


def test_script_in_every_text_field_is_shown_escaped(app_client: TestClient, core: Synthguard) -> None:
    core.users.add_user("alice")
    item = queued_item(core, text=XSS)
    csrf = login(app_client, "admin")
    posts = [
        (
            "/console/incidents",
            {
                "title": XSS,
                "summary": XSS,
                "risk_code": XSS,
                "content_ids": XSS,
                "user_ids": XSS,
                "measure": XSS,
            },
        ),
        ("/console/refutations", {"content_ids": XSS, "notice_zh": XSS, "notice_en": XSS}),
        ("/console/users/alice/sanction", {"action": "warn", "reason": XSS}),
        ("/console/assessments", {"kind": "security_self", "title": XSS, "trigger": XSS}),
        ("/console/staff", {"username": "x<script>", "password": "0123456789ab", "role": "auditor"}),
    ]
    for url, data in posts:
        app_client.post(url, data={"csrf": csrf, **data})
    app_client.post(f"/console/queue/{item}/claim", data={"csrf": csrf})
    app_client.post(f"/console/queue/{item}/escalate", data={"csrf": csrf, "reason": XSS})
    app_client.post(
        "/public/complaint", data={"category": "other", "description": XSS, "contact": XSS, "content_id": XSS}
    )
    app_client.post(
        "/console/consent",
        data={
            "csrf": csrf,
            "user_id": XSS,
            "subject_name": XSS,
            "subject_ref": XSS,
            "uses": ["face_swap"],
            "method": "other",
        },
        files={"evidence": ("<script>.pdf", b"%PDF-1.4\n", "application/pdf")},
    )
    [assessment] = core.governance.assessments.list()
    app_client.post(
        f"/console/assessments/{assessment.id}/item",
        data={"csrf": csrf, "code": "SA-1", "status": "na", "note": XSS},
    )
    [complaint] = core.governance.complaints.list()
    app_client.post(f"/console/complaints/{complaint.id}/answer", data={"csrf": csrf, "feedback": XSS})
    pages = [
        "/console/incidents",
        f"/console/incidents/{core.governance.incidents.list()[0].id}",
        "/console/refutations",
        "/console/users/alice",
        "/console/assessments",
        f"/console/assessments/{assessment.id}",
        "/console/queue",
        f"/console/queue/{item}",
        "/console/complaints",
        f"/console/complaints/{complaint.id}",
        "/console/consent",
        "/console/audit",
        f"/public/complaint/{complaint.ticket}",
        "/public/complaint?content_id=" + XSS,
    ]
    for url in pages:
        text = app_client.get(url).text
        assert XSS not in text, url
    stored = sum(app_client.get(url).text.count(XSS_ESCAPED) for url in pages)
    assert stored >= 20  # the values were stored and shown, escaped
    assert "<script>" not in app_client.get("/console/staff").text.replace('<script src="/static/', "")


def test_dashboard_counts_reviews_and_block_rates(app_client: TestClient, core: Synthguard) -> None:
    entries, _ = read_library(sample_library(), "sample_library.csv")
    core.reviewer.library.import_entries(entries, source="tests")
    core.review_text("示例违禁词 in a prompt")
    core.review_text("你好")
    d = core.governance.dashboard()
    assert sum(d.reviews_per_day) == 2 and sum(d.blocks_per_day) == 1
    assert {r.risk: (r.blocked, r.total) for r in d.block_rates}["A.1.h"] == (1, 1)
    login(app_client, "auditor")
    page = app_client.get("/console").text
    assert page.count("<svg") == 3 and "A.1.h" in page and "1/1" in page


def test_incident_exports_are_logged_and_named_for_download(app_client: TestClient, core: Synthguard) -> None:
    inc = core.governance.incidents.open(Actor("r", "reviewer"), "事件", content_ids="sg-1")
    login(app_client, "auditor")
    pdf = app_client.get(f"/console/incidents/{inc.id}/report.pdf")
    assert pdf.content.startswith(b"%PDF") and "attachment" in pdf.headers["content-disposition"]
    js = app_client.get(f"/console/incidents/{inc.id}/report.json").json()
    assert js["incident"]["title"] == "事件" and js["schema"] == 1
    actions = [a.action for a in core.governance.audit.list(target_kind="incident")]
    assert actions[:2] == ["incident.export_json", "incident.export_pdf"]
