"""Governance records through the core: complaints, consent, refutation, incidents, filing,
assessments and staff accounts, each checked against the article it implements."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import update

from synthguard.core import Synthguard
from synthguard.errors import InvalidField, LoginRequired, NotFound, RecordConflict, UnsupportedFormat
from synthguard.governance import Actor, check_filing, check_password, hash_password, report_pdf
from synthguard.governance._common import id_list
from synthguard.store.models import GovComplaint
from tests.governance.conftest import STAFF

PDF = b"%PDF-1.4\n% consent form\n"


def test_complaint_gets_published_deadline_and_goes_overdue_in_the_store(sg: Synthguard) -> None:
    gov = sg.governance
    c = gov.complaints.file("rumour", "假消息", content_id="sg-1")
    assert c.ticket.startswith("c-") and not c.overdue
    assert abs((c.due_at - c.created_at).total_seconds() - sg.settings.complaint_sla_h * 3600) < 1
    with sg.sessions.begin() as s:  # the deadline passes
        s.execute(update(GovComplaint).values(due_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
    assert gov.complaints.overdue_count() == 1
    assert [x.id for x in gov.complaints.list(overdue=True)] == [c.id]
    answered = gov.complaints.answer(STAFF, c.id, "已核实并删除")
    assert answered.status == "answered" and answered.overdue  # answered late stays on record
    assert gov.complaints.overdue_count() == 0
    public = gov.complaints.public_status(c.ticket)
    assert public.feedback == "已核实并删除" and "contact" not in public.model_dump()


def test_second_answer_is_refused_and_names_who_answered(sg: Synthguard) -> None:
    gov = sg.governance
    c = gov.complaints.file("other", "x")
    gov.complaints.answer(STAFF, c.id, "first")
    with pytest.raises(RecordConflict, match="already answered by rev"):
        gov.complaints.answer(Actor("other", "reviewer"), c.id, "second")


@pytest.mark.parametrize("category", ["", "spam", "<script>"])
def test_unknown_complaint_category_is_invalid(sg: Synthguard, category: str) -> None:
    with pytest.raises(InvalidField, match="category"):
        sg.governance.complaints.file(category, "x")


def test_unknown_ticket_is_not_found(sg: Synthguard) -> None:
    with pytest.raises(NotFound):
        sg.governance.complaints.public_status("c-nope")


def _consent(sg: Synthguard, **kw: object) -> str:
    digest = sg.governance.evidence.put(STAFF, PDF, "form.pdf")
    args: dict[str, object] = {
        "user_id": "alice",
        "subject_name": "张三",
        "uses": ["face_swap"],
        "method": "signed_form",
        "evidence_sha256": digest,
    }
    args.update(kw)
    return sg.governance.consents.record(STAFF, **args).consent_id  # type: ignore[arg-type]


def test_consent_is_valid_only_for_its_user_and_use(sg: Synthguard) -> None:
    cid = _consent(sg)
    assert sg.has_valid_consent(cid, "alice", "face_swap")
    assert not sg.has_valid_consent(cid, "bob", "face_swap")
    assert not sg.has_valid_consent(cid, "alice", "voice_clone")
    assert not sg.has_valid_consent("cs-unknown", "alice", "face_swap")
    assert not sg.has_valid_consent("", "alice", "face_swap")


def test_revoked_consent_stops_at_once_and_cannot_be_revoked_twice(sg: Synthguard) -> None:
    cid = _consent(sg)
    sg.governance.consents.revoke(STAFF, cid, "subject withdrew")
    assert not sg.has_valid_consent(cid, "alice", "face_swap")
    with pytest.raises(RecordConflict):
        sg.governance.consents.revoke(STAFF, cid, "again")


def test_expired_consent_is_not_valid(sg: Synthguard) -> None:
    cid = _consent(sg, expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60))
    assert sg.has_valid_consent(cid, "alice", "face_swap")
    from synthguard.store.models import GovConsent

    with sg.sessions.begin() as s:
        s.execute(update(GovConsent).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    assert not sg.has_valid_consent(cid, "alice", "face_swap")


def test_consent_without_evidence_or_use_is_refused(sg: Synthguard) -> None:
    with pytest.raises(InvalidField, match="evidence"):
        _consent(sg, evidence_sha256="")
    with pytest.raises(InvalidField, match="use"):
        _consent(sg, uses=[])
    with pytest.raises(InvalidField, match="use must be one of"):
        _consent(sg, uses=["mind_read"])


def test_evidence_must_be_a_document_or_media_file(sg: Synthguard) -> None:
    with pytest.raises(UnsupportedFormat):
        sg.governance.evidence.put(STAFF, b"MZ\x90\x00 executable", "tool.exe")
    with pytest.raises(UnsupportedFormat):
        sg.governance.evidence.put(STAFF, b"<html><script>x</script>", "page.pdf")  # the name does not count
    digest = sg.governance.evidence.put(STAFF, PDF, "form.pdf")
    assert sg.governance.evidence.path(digest).read_bytes() == PDF


def test_refutation_shows_only_once_published_and_not_after_withdrawal(sg: Synthguard) -> None:
    gov = sg.governance
    [draft] = gov.refutations.create(STAFF, ["sg-rumour-1"], "该视频系伪造", notice_en="This video is fake")
    assert sg.refutation_for("sg-rumour-1") is None
    gov.refutations.publish(STAFF, draft.id)
    shown = sg.refutation_for("sg-rumour-1")
    assert shown is not None and shown.notice_zh == "该视频系伪造" and shown.published_by == "rev"
    with pytest.raises(RecordConflict):
        gov.refutations.publish(STAFF, draft.id)
    gov.refutations.withdraw(STAFF, draft.id, "mistaken")
    assert sg.refutation_for("sg-rumour-1") is None


def test_refutation_rejects_ids_outside_the_label_charset_and_non_http_links(sg: Synthguard) -> None:
    with pytest.raises(InvalidField, match="content ID"):
        sg.governance.refutations.create(STAFF, ['bad"id'], "x")
    with pytest.raises(InvalidField, match="http"):
        sg.governance.refutations.create(STAFF, ["ok"], "x", source_url="javascript:alert(1)")


def test_incident_report_carries_provider_filing_measures_and_ledger_proofs(sg: Synthguard, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import make_png

    outcome = sg.label_file(make_png(tmp_path / "a.png"))
    gov = sg.governance
    gov.filing.set(STAFF, "setup", algorithm_number="网信算备110108823483901230031号")
    inc = gov.incidents.open(
        STAFF, "伪造新闻", content_ids=[outcome.content_id], user_ids="alice", measure="deleted"
    )
    gov.incidents.set_status(STAFF, inc.id, "reported", "sent to the provincial CAC")
    report = gov.incident_report(inc.id)
    assert report["provider"]["algorithm_filing_number"] == "网信算备110108823483901230031号"
    assert report["provider"]["uscc"] == "91110102MACQD9K640"
    evidence = report["ledger_evidence"][outcome.content_id]
    assert any('"label.issued"' in e["leaf"] or "label.issued" in e["leaf"] for e in evidence["entries"])
    assert evidence["checkpoint"]["size"] >= 1
    assert [a["action"] for a in report["actions"]] == ["incident.open", "incident.reported"]
    assert all(a["ledger_seq"] is not None for a in report["actions"])
    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(report_pdf(report))).pages)
    assert "伪造新闻" in text and outcome.content_id in text and "deleted" in text


def test_incident_status_change_twice_is_a_conflict(sg: Synthguard) -> None:
    inc = sg.governance.incidents.open(STAFF, "x")
    sg.governance.incidents.set_status(STAFF, inc.id, "closed", "done")
    with pytest.raises(RecordConflict):
        sg.governance.incidents.set_status(STAFF, inc.id, "closed", "again")


def test_every_action_is_in_the_store_and_the_ledger_with_who_and_why(sg: Synthguard) -> None:
    import hashlib
    import json

    sg.governance.incidents.open(Actor("zhao", "reviewer"), "标题")
    [action] = sg.governance.audit.list()
    assert (action.actor, action.role, action.action, action.reason) == (
        "zhao",
        "reviewer",
        "incident.open",
        "标题",
    )
    [entry] = [e for e in sg.ledger.select() if e.event_type == "governance.incident.open"]
    leaf = json.loads(entry.leaf)
    assert action.ledger_seq == entry.seq
    assert hashlib.sha256("标题".encode()).hexdigest() in entry.leaf.decode()
    assert "zhao" in json.dumps(leaf, ensure_ascii=False)


def test_filing_is_stored_once_with_history_and_validated(sg: Synthguard) -> None:
    gov = sg.governance
    assert gov.filing.current().algorithm_number == ""
    gov.filing.set(
        STAFF, "first", algorithm_number="网信算备110108823483901230031号", icp_number="京ICP备12345678号-1"
    )
    gov.filing.set(STAFF, "change", algorithm_number="网信算备330110507206401230035号")
    assert gov.filing.current(fresh=True).algorithm_number == "网信算备330110507206401230035号"
    assert len(gov.filing.history()) == 2
    assert gov.filing.current().header_value().startswith("%E7%BD%91%E4%BF%A1")
    with pytest.raises(InvalidField, match="21 digits"):
        gov.filing.set(STAFF, "x", algorithm_number="网信算备123号")


@given(st.text(max_size=80))
def test_filing_parser_only_ever_raises_invalid_field(value: str) -> None:
    try:
        filing = check_filing(value, "", icp_number="", psb_number="")
    except InvalidField:
        return
    assert filing.algorithm_number == "" or filing.algorithm_number.startswith("网信算备")


@given(st.from_regex(r"\A网信算备[0-9]{21}号\Z", fullmatch=True))
def test_every_well_formed_filing_number_is_accepted(value: str) -> None:
    assert check_filing(value, "").algorithm_number == value


@given(st.lists(st.text(alphabet="ab1-_ ,\n，", min_size=0, max_size=12), max_size=20))
def test_id_lists_split_on_commas_and_whitespace_without_duplicates(parts: list[str]) -> None:
    ids = id_list(",".join(parts), "ids")
    assert len(ids) == len(set(ids))
    assert all(i and not any(c in i for c in " ,\n，") for i in ids)


def test_assessment_completes_only_when_every_item_is_decided(sg: Synthguard) -> None:
    a = sg.governance.assessments
    view = a.start(STAFF, "algorithm_review", "2026 H2 review")
    assert view.pending == len(view.items) == 10 and view.items[0]["clause"] == "DS Art. 15"
    with pytest.raises(InvalidField, match="pending"):
        a.complete(STAFF, view.id, "done")
    digest = sg.governance.evidence.put(STAFF, PDF, "report.pdf")
    with pytest.raises(InvalidField, match="say why"):
        a.set_item(STAFF, view.id, "AR-1", "fail")
    for item in view.items:
        a.set_item(STAFF, view.id, item["code"], "pass", "ok", digest)
    done = a.complete(STAFF, view.id, "all pass")
    assert done.status == "completed" and done.passed == 10 and done.items[0]["evidence"] == [digest]
    with pytest.raises(RecordConflict):
        a.set_item(STAFF, view.id, "AR-1", "fail", "late change")
    [review, security] = a.schedule()
    assert not review.overdue and review.next_due_at.date() == (dt.date.today() + dt.timedelta(days=180))
    assert security.overdue  # never done: due now


def test_passwords_are_scrypt_hashed_and_checked(sg: Synthguard) -> None:
    stored = hash_password("a long password", n=2**10)
    assert stored.startswith("scrypt$1024$8$1$") and "a long password" not in stored
    assert check_password("a long password", stored) and not check_password("a long passworD", stored)
    assert not check_password("x", "bcrypt$whatever")
    staff = sg.governance.staff
    staff.create_user(STAFF, "wang", "0123456789ab", "auditor")
    with pytest.raises(InvalidField, match="at least 10"):
        staff.create_user(STAFF, "li", "short", "auditor")
    with pytest.raises(RecordConflict):
        staff.create_user(STAFF, "wang", "0123456789ab", "admin")
    token, session = staff.login("wang", "0123456789ab")
    assert staff.session(token) == session and session.role == "auditor"
    with pytest.raises(LoginRequired):
        staff.login("wang", "wrong-password")
    staff.set_disabled(STAFF, "wang", True, "left")
    assert staff.session(token) is None
    with pytest.raises(LoginRequired):
        staff.login("wang", "0123456789ab")
