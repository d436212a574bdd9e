"""Staff pages of the console: dashboard, review queue, users, incidents and reports, refutation,
complaints, consent, filing, assessments, audit log and staff accounts.

Each page handler checks the role for the page; each POST handler checks session, role and CSRF
(``require_action``), makes one governance call with the staff member as actor, and redirects back
(303), so a reload never repeats an action. Domain errors render as HTML with their status.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from synthguard.console import charts
from synthguard.console.auth import require_action, require_page
from synthguard.console.web import (
    HtmlErrors,
    float_field,
    form_file,
    form_list,
    form_text,
    language,
    redirect,
    render,
)
from synthguard.errors import InvalidField, NotFound
from synthguard.governance import (
    CATEGORY_NAMES,
    CHECKLISTS,
    METHODS,
    ROLES,
    SANCTIONS,
    USES,
    StaffSession,
    report_pdf,
)
from synthguard.governance.approvals import ApprovalView
from synthguard.governance.assessments import KIND_NAMES

ApprovalsPage = Annotated[StaffSession, require_page("approvals")]
AssessmentsPage = Annotated[StaffSession, require_page("assessments")]
AuditPage = Annotated[StaffSession, require_page("audit")]
ComplaintsPage = Annotated[StaffSession, require_page("complaints")]
ConsentPage = Annotated[StaffSession, require_page("consent")]
DashboardPage = Annotated[StaffSession, require_page("dashboard")]
FilingPage = Annotated[StaffSession, require_page("filing")]
IncidentsPage = Annotated[StaffSession, require_page("incidents")]
QueuePage = Annotated[StaffSession, require_page("queue")]
RefutationsPage = Annotated[StaffSession, require_page("refutations")]
StaffPage = Annotated[StaffSession, require_page("staff")]
UsersPage = Annotated[StaffSession, require_page("users")]

router = APIRouter(prefix="/console", route_class=HtmlErrors, include_in_schema=False)


def _gov(request: Request) -> Any:
    return request.app.state.core.governance


# --- dashboard -----------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def dashboard(request: Request, staff: DashboardPage) -> Response:
    d = _gov(request).dashboard()
    zh = language(request) == "zh"

    def t(zh_text: str, en_text: str) -> str:
        return zh_text if zh else en_text

    volume = charts.bars(
        d.days,
        [
            (t("审核", "reviews"), d.reviews_per_day, "#3b6fb6"),
            (t("拦截", "blocked"), d.blocks_per_day, "#b3261e"),
            (t("标识", "labels"), d.labels_per_day, "#0a7c2f"),
        ],
        title=t("近 14 天量", "Volumes, last 14 days"),
    )
    rates = charts.rates(
        [(r.risk, r.rate, f"{r.blocked}/{r.total}") for r in d.block_rates],
        title=t("按风险拦截率", "Block rate by risk"),
    )
    ages = charts.bars(
        [name for name, _ in d.queue_age],
        [(t("待审", "open"), [n for _, n in d.queue_age], "#c58a00")],
        title=t("待审任务时长", "Queue age"),
        width=360,
    )
    return render(
        request,
        "console/dashboard.html",
        d=d,
        volume=volume,
        rates=rates,
        ages=ages,
        approvals_pending=_gov(request).approvals.pending_count(),
    )


# --- review queue --------------------------------------------------------------------------------


def highlight(text: str, spans: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Split ``text`` into (piece, risk) runs; risk is "" outside matched spans. Overlapping spans
    merge, the first span's risk naming the run; work is per span, not per character, because a
    queued text can be megabytes long."""
    valid = sorted(
        (max(0, sp["start"]), min(len(text), sp["end"]), str(sp.get("risk") or "match"))
        for sp in spans
        if isinstance(sp.get("start"), int) and isinstance(sp.get("end"), int)
    )
    cuts: list[tuple[int, int, str]] = []
    for start, end, risk in valid:
        if start >= end:
            continue
        if cuts and start <= cuts[-1][1]:
            last = cuts[-1]
            cuts[-1] = (last[0], max(last[1], end), last[2])
        else:
            cuts.append((start, end, risk))
    runs: list[tuple[str, str]] = []
    pos = 0
    for start, end, risk in cuts:
        if start > pos:
            runs.append((text[pos:start], ""))
        runs.append((text[start:end], risk))
        pos = end
    if pos < len(text) or not runs:
        runs.append((text[pos:], ""))
    return runs


@router.get("/queue", response_class=HTMLResponse)
def queue(request: Request, staff: QueuePage, status: str = "") -> Response:
    items = _gov(request).queue.list(status=status or None, limit=200)
    fragment = (
        request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == "queue-rows"
    )
    return render(
        request, "console/queue_rows.html" if fragment else "console/queue.html", items=items, status=status
    )


@router.get("/queue/{item_id}", response_class=HTMLResponse)
def queue_item(request: Request, staff: QueuePage, item_id: int) -> Response:
    gov = _gov(request)
    item = gov.queue.get(item_id)
    runs = highlight(item.content, gov.queue_spans(item_id))
    incidents = [i for i in gov.incidents.list(limit=500) if i.queue_item_id == item_id]
    return render(request, "console/queue_item.html", item=item, runs=runs, incidents=incidents)


MEDIA_EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/bmp": "bmp",
    "image/webp": "webp",
    "audio/mpeg": "mp3",
    "audio/ogg": "ogg",
    "audio/flac": "flac",
    "audio/wav": "wav",
    "audio/mp4": "m4a",
    "video/mp4": "mp4",
    "video/webm": "webm",
}


@router.get("/queue/{item_id}/media")
def queue_media(request: Request, staff: QueuePage, item_id: int) -> Response:
    """The queued item's media, decrypted for the reviewer (queue roles only: auditors read the
    actions taken, not the users' content). Only types sniffed from the bytes as a format browsers
    play inline are served inline; anything else (SVG, HTML, unknown) is an attachment of type
    octet-stream, and ``nosniff`` plus a sandboxing CSP stop the browser from guessing otherwise."""
    from synthguard.review.payloads import INLINE_TYPES

    gov = _gov(request)
    found = gov.queue.media(item_id)
    if found is None:
        gov.queue.get(item_id)  # NotFound for a missing item
        raise NotFound(
            f"review item {item_id} keeps no media (none, too large, or erased by retention)",
            message_zh=f"审核任务 {item_id} 无可预览的媒体（无媒体、超出大小上限或已按保存期限删除）",
        )
    data, media_type = found
    status, first, last = byte_range(request.headers.get("range"), len(data))
    if status == 416:
        return Response(status_code=416, headers={"Content-Range": f"bytes */{len(data)}"})
    if first == 0:  # a player's seeks re-fetch later ranges: one audit row per view, not per seek
        gov.audit.log(staff.actor, "queue.media_view", "queue_item", item_id, "", media_type=media_type)
    inline = media_type in INLINE_TYPES
    name = f"review-item-{item_id}.{MEDIA_EXTENSIONS.get(media_type, 'bin')}"
    headers = {
        "Content-Disposition": f'{"inline" if inline else "attachment"}; filename="{name}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "no-store",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Accept-Ranges": "bytes",
    }
    served_type = media_type if inline else "application/octet-stream"
    if status == 200:
        return Response(data, media_type=served_type, headers=headers)
    headers["Content-Range"] = f"bytes {first}-{last}/{len(data)}"
    return Response(data[first : last + 1], status_code=206, media_type=served_type, headers=headers)


def byte_range(header: str | None, size: int) -> tuple[int, int, int]:
    """(status, first, last) for the one byte range (RFC 9110 §14.2) a media player asks for, with
    inclusive offsets: 206 for a range, 416 when it cannot be satisfied, 200 (the whole body) with
    no header or one this server ignores (malformed, or several ranges), as the RFC allows.
    Players seek video with these, so a long preview need not load whole."""
    whole = (200, 0, size - 1)
    if not header or not header.startswith("bytes=") or "," in header or size == 0:
        return whole
    start_text, _, end_text = header[len("bytes=") :].strip().partition("-")
    try:
        if not start_text:  # a suffix: the last N bytes
            suffix = int(end_text)
            return (206, max(size - suffix, 0), size - 1) if suffix > 0 else (416, 0, -1)
        start = int(start_text)
        end = min(int(end_text), size - 1) if end_text else size - 1
    except ValueError:
        return whole
    return (206, start, end) if 0 <= start <= end else (416, 0, -1)


@router.post("/queue/{item_id}/claim")
async def queue_claim(request: Request, item_id: int) -> Response:
    staff = await require_action(request, "queue.act")
    _gov(request).claim(staff.actor, item_id)
    return redirect(f"/console/queue/{item_id}")


@router.post("/queue/{item_id}/decide")
async def queue_decide(request: Request, item_id: int) -> Response:
    staff = await require_action(request, "queue.act")
    f = await form_text(request, "decision", "reason")
    item, incident = _gov(request).decide(staff.actor, item_id, f["decision"], f["reason"])
    if incident is not None:
        return redirect(f"/console/incidents/{incident.id}")
    if f["decision"] == "sanction" and item.user_id:  # the sanction itself needs its own reason and duration
        return redirect(f"/console/users/{quote(item.user_id, safe='')}")
    return redirect(f"/console/queue/{item_id}")


@router.post("/queue/{item_id}/escalate")
async def queue_escalate(request: Request, item_id: int) -> Response:
    staff = await require_action(request, "queue.act")
    f = await form_text(request, "reason")
    _gov(request).escalate(staff.actor, item_id, f["reason"])
    return redirect(f"/console/queue/{item_id}")


@router.post("/queue/{item_id}/release")
async def queue_release(request: Request, item_id: int) -> Response:
    staff = await require_action(request, "queue.act")
    _gov(request).release(staff.actor, item_id, "released")
    return redirect(f"/console/queue/{item_id}")


# --- users -----------------------------------------------------------------------------------------


@router.get("/users", response_class=HTMLResponse)
def users(request: Request, staff: UsersPage, q: str = "", status: str = "") -> Response:
    rows = request.app.state.core.users.list_users(status=status, limit=2000)
    if q:
        rows = [u for u in rows if q.lower() in u.name.lower()]
    return render(request, "console/users.html", users=rows[:500], q=q, status=status)


@router.get("/users/{name}", response_class=HTMLResponse)
def user(request: Request, staff: UsersPage, name: str) -> Response:
    core = request.app.state.core
    view = core.users.show(name)
    return render(
        request,
        "console/user.html",
        user=view,
        history=core.users.history(name),
        decisions=core.reviewer.decisions(user_id=name, limit=50),
        sanctions=SANCTIONS,
        pending=_gov(request).approvals.list(status="pending", target_id=name),
    )


@router.post("/users/{name}/sanction")
async def user_sanction(request: Request, name: str) -> Response:
    staff = await require_action(request, "users.sanction")
    f = await form_text(request, "action", "reason", "duration_h")
    done = _gov(request).sanction(
        staff.actor, name, f["action"], f["reason"], duration_h=float_field(f["duration_h"], "duration_h")
    )
    if isinstance(done, ApprovalView):  # a ban waits for a second staff member
        return redirect(f"/console/approvals#approval-{done.id}")
    return redirect(f"/console/users/{quote(name, safe='')}")


# --- incidents and reports -----------------------------------------------------------------------


@router.get("/incidents", response_class=HTMLResponse)
def incidents(request: Request, staff: IncidentsPage) -> Response:
    return render(request, "console/incidents.html", incidents=_gov(request).incidents.list())


@router.post("/incidents")
async def incident_new(request: Request) -> Response:
    staff = await require_action(request, "incidents.write")
    f = await form_text(request, "title", "summary", "risk_code", "content_ids", "user_ids", "measure")
    view = _gov(request).incidents.open(
        staff.actor,
        f["title"],
        summary=f["summary"],
        risk_code=f["risk_code"],
        content_ids=f["content_ids"],
        user_ids=f["user_ids"],
        measure=f["measure"],
    )
    return redirect(f"/console/incidents/{view.id}")


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident(request: Request, staff: IncidentsPage, incident_id: int) -> Response:
    gov = _gov(request)
    view = gov.incidents.get(incident_id)
    actions = gov.audit.list(target_kind="incident", target_id=str(incident_id))
    pending = [
        a
        for a in gov.approvals.list(status="pending", target_id=str(incident_id))
        if a.kind == "incident.report"
    ]
    return render(request, "console/incident.html", incident=view, actions=actions, pending=pending)


@router.post("/incidents/{incident_id}/measure")
async def incident_measure(request: Request, incident_id: int) -> Response:
    staff = await require_action(request, "incidents.write")
    f = await form_text(request, "measure")
    _gov(request).incidents.add_measure(staff.actor, incident_id, f["measure"])
    return redirect(f"/console/incidents/{incident_id}")


@router.post("/incidents/{incident_id}/status")
async def incident_status(request: Request, incident_id: int) -> Response:
    staff = await require_action(request, "incidents.write")
    f = await form_text(request, "status", "reason")
    done = _gov(request).set_incident_status(staff.actor, incident_id, f["status"], f["reason"])
    if isinstance(done, ApprovalView):  # reporting to the authority waits for a second staff member
        return redirect(f"/console/approvals#approval-{done.id}")
    return redirect(f"/console/incidents/{incident_id}")


def _export(request: Request, incident_id: int, staff: StaffSession, fmt: str) -> Response:
    gov = _gov(request)
    report = gov.incident_report(incident_id)
    gov.audit.log(staff.actor, f"incident.export_{fmt}", "incident", incident_id, "report exported")
    name = f"incident-{incident_id}-report.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "pdf":
        return Response(report_pdf(report), media_type="application/pdf", headers=headers)
    body = json.dumps(report, ensure_ascii=False, indent=2)
    return Response(body, media_type="application/json", headers=headers)


@router.get("/incidents/{incident_id}/report.json")
def incident_json(request: Request, staff: IncidentsPage, incident_id: int) -> Response:
    return _export(request, incident_id, staff, "json")


@router.get("/incidents/{incident_id}/report.pdf")
def incident_pdf(request: Request, staff: IncidentsPage, incident_id: int) -> Response:
    return _export(request, incident_id, staff, "pdf")


# --- rumour refutation ---------------------------------------------------------------------------


@router.get("/refutations", response_class=HTMLResponse)
def refutations(request: Request, staff: RefutationsPage) -> Response:
    gov = _gov(request)
    pending = {
        int(a.target_id): a.id for a in gov.approvals.list(status="pending") if a.kind == "refutation.publish"
    }
    return render(request, "console/refutations.html", refutations=gov.refutations.list(), pending=pending)


@router.post("/refutations")
async def refutation_new(request: Request) -> Response:
    staff = await require_action(request, "refutations.write")
    f = await form_text(request, "content_ids", "notice_zh", "notice_en", "source_url")
    ids = [c for c in f["content_ids"].replace(",", " ").split() if c]
    _gov(request).refutations.create(
        staff.actor, ids, f["notice_zh"], notice_en=f["notice_en"], source_url=f["source_url"]
    )
    return redirect("/console/refutations")


@router.post("/refutations/{refutation_id}/{verb}")
async def refutation_move(request: Request, refutation_id: int, verb: str) -> Response:
    staff = await require_action(request, "refutations.write")
    f = await form_text(request, "reason")
    gov = _gov(request)
    if verb == "publish":
        done = gov.publish_refutation(staff.actor, refutation_id, f["reason"] or "published")
        if isinstance(done, ApprovalView):  # publishing waits for a second staff member
            return redirect(f"/console/approvals#approval-{done.id}")
    elif verb == "withdraw":
        gov.refutations.withdraw(staff.actor, refutation_id, f["reason"])
    else:
        raise NotFound(f"no action {verb[:20]!r}", message_zh="无此操作")
    return redirect("/console/refutations")


# --- complaints ----------------------------------------------------------------------------------


@router.get("/complaints", response_class=HTMLResponse)
def complaints(request: Request, staff: ComplaintsPage, overdue: bool = False) -> Response:
    gov = _gov(request)
    return render(
        request,
        "console/complaints.html",
        complaints=gov.complaints.list(overdue=overdue),
        overdue_count=gov.complaints.overdue_count(),
        names=CATEGORY_NAMES,
        overdue=overdue,
    )


@router.get("/complaints/{complaint_id}", response_class=HTMLResponse)
def complaint(request: Request, staff: ComplaintsPage, complaint_id: int) -> Response:
    gov = _gov(request)
    view = gov.complaints.get(complaint_id)
    actions = gov.audit.list(target_kind="complaint", target_id=str(complaint_id))
    return render(request, "console/complaint.html", c=view, names=CATEGORY_NAMES, actions=actions)


@router.post("/complaints/{complaint_id}/take")
async def complaint_take(request: Request, complaint_id: int) -> Response:
    staff = await require_action(request, "complaints.answer")
    _gov(request).complaints.take(staff.actor, complaint_id)
    return redirect(f"/console/complaints/{complaint_id}")


@router.post("/complaints/{complaint_id}/answer")
async def complaint_answer(request: Request, complaint_id: int) -> Response:
    staff = await require_action(request, "complaints.answer")
    f = await form_text(request, "feedback")
    _gov(request).complaints.answer(staff.actor, complaint_id, f["feedback"])
    return redirect(f"/console/complaints/{complaint_id}")


# --- biometric consent ---------------------------------------------------------------------------


@router.get("/consent", response_class=HTMLResponse)
def consent(request: Request, staff: ConsentPage, user_id: str = "") -> Response:
    rows = _gov(request).consents.list(user_id=user_id or None)
    return render(request, "console/consent.html", consents=rows, uses=USES, methods=METHODS, user_id=user_id)


def _expiry(value: str) -> dt.datetime | None:
    if not value.strip():
        return None
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidField(
            "expiry must be a date (YYYY-MM-DD)", message_zh="到期日期格式应为 YYYY-MM-DD"
        ) from None
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=dt.UTC)


@router.post("/consent")
async def consent_new(request: Request) -> Response:
    staff = await require_action(request, "consent.write")
    gov = _gov(request)
    f = await form_text(request, "user_id", "subject_name", "subject_ref", "method", "expires")
    uses = await form_list(request, "uses")
    upload = await form_file(request, "evidence", request.app.state.settings.public_upload_max_bytes)
    if upload is None:
        raise InvalidField("attach the consent evidence file", message_zh="请上传同意证据文件")
    digest = gov.evidence.put(staff.actor, upload[0], upload[1])
    gov.consents.record(
        staff.actor,
        user_id=f["user_id"],
        subject_name=f["subject_name"],
        subject_ref=f["subject_ref"],
        uses=uses,
        method=f["method"],
        evidence_sha256=digest,
        evidence_name=upload[1],
        expires_at=_expiry(f["expires"]),
    )
    return redirect("/console/consent")


@router.post("/consent/{consent_id}/revoke")
async def consent_revoke(request: Request, consent_id: str) -> Response:
    staff = await require_action(request, "consent.write")
    f = await form_text(request, "reason")
    _gov(request).consents.revoke(staff.actor, consent_id, f["reason"])
    return redirect("/console/consent")


@router.get("/evidence/{sha256}")
def evidence(request: Request, staff: ConsentPage, sha256: str) -> Response:
    gov = _gov(request)
    row = gov.evidence.get(sha256[:64])
    if row is None:
        raise NotFound("no such evidence file", message_zh="证据文件不存在")
    data = gov.evidence.path(row.sha256).read_bytes()
    gov.audit.log(staff.actor, "evidence.download", "evidence", row.sha256, "")
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{row.sha256[:12]}.bin"'},
    )


# --- filing and assessments ----------------------------------------------------------------------


@router.get("/filing", response_class=HTMLResponse)
def filing(request: Request, staff: FilingPage) -> Response:
    return render(request, "console/filing.html", history=_gov(request).filing.history())


@router.post("/filing")
async def filing_set(request: Request) -> Response:
    staff = await require_action(request, "filing.write")
    f = await form_text(
        request, "algorithm_number", "url", "genai_number", "icp_number", "psb_number", "reason"
    )
    _gov(request).filing.set(
        staff.actor,
        f["reason"],
        algorithm_number=f["algorithm_number"],
        url=f["url"],
        genai_number=f["genai_number"],
        icp_number=f["icp_number"],
        psb_number=f["psb_number"],
    )
    return redirect("/console/filing")


@router.get("/assessments", response_class=HTMLResponse)
def assessments(request: Request, staff: AssessmentsPage) -> Response:
    gov = _gov(request)
    return render(
        request,
        "console/assessments.html",
        schedule=gov.assessments.schedule(),
        assessments=gov.assessments.list(),
        kinds=KIND_NAMES,
    )


@router.post("/assessments")
async def assessment_new(request: Request) -> Response:
    staff = await require_action(request, "assessments.write")
    f = await form_text(request, "kind", "title", "trigger")
    view = _gov(request).assessments.start(staff.actor, f["kind"], f["title"], trigger=f["trigger"])
    return redirect(f"/console/assessments/{view.id}")


@router.get("/assessments/{assessment_id}", response_class=HTMLResponse)
def assessment(request: Request, staff: AssessmentsPage, assessment_id: int) -> Response:
    view = _gov(request).assessments.get(assessment_id)
    return render(request, "console/assessment.html", a=view, kinds=KIND_NAMES, checklists=CHECKLISTS)


@router.post("/assessments/{assessment_id}/item")
async def assessment_item(request: Request, assessment_id: int) -> Response:
    staff = await require_action(request, "assessments.write")
    gov = _gov(request)
    f = await form_text(request, "code", "status", "note")
    upload = await form_file(request, "evidence", request.app.state.settings.public_upload_max_bytes)
    digest = gov.evidence.put(staff.actor, upload[0], upload[1]) if upload else ""
    gov.assessments.set_item(staff.actor, assessment_id, f["code"], f["status"], f["note"], digest)
    return redirect(f"/console/assessments/{assessment_id}")


@router.post("/assessments/{assessment_id}/complete")
async def assessment_complete(request: Request, assessment_id: int) -> Response:
    staff = await require_action(request, "assessments.write")
    f = await form_text(request, "reason")
    _gov(request).assessments.complete(staff.actor, assessment_id, f["reason"])
    return redirect(f"/console/assessments/{assessment_id}")


# --- four-eyes approvals -------------------------------------------------------------------------


@router.get("/approvals", response_class=HTMLResponse)
def approvals(request: Request, staff: ApprovalsPage) -> Response:
    gov = _gov(request)
    return render(
        request,
        "console/approvals.html",
        pending=gov.approvals.list(status="pending"),
        history=[a for a in gov.approvals.list(limit=200) if a.status != "pending"],
        required=gov.approvals.required,
    )


@router.post("/approvals/{approval_id}/{verb}")
async def approval_decide(request: Request, approval_id: int, verb: str) -> Response:
    staff = await require_action(request, "approvals.decide")
    f = await form_text(request, "note")
    gov = _gov(request)
    if verb == "approve":
        gov.approve(staff.actor, approval_id, f["note"])
    elif verb == "reject":
        gov.approvals.reject(staff.actor, approval_id, f["note"])
    elif verb == "cancel":
        gov.approvals.cancel(staff.actor, approval_id, f["note"])
    else:
        raise NotFound(f"no action {verb[:20]!r}", message_zh="无此操作")
    return redirect("/console/approvals")


# --- audit log and staff -------------------------------------------------------------------------


@router.get("/audit", response_class=HTMLResponse)
def audit(request: Request, staff: AuditPage, kind: str = "") -> Response:
    return render(
        request, "console/audit.html", actions=_gov(request).audit.list(target_kind=kind or None, limit=500)
    )


@router.get("/staff", response_class=HTMLResponse)
def staff_page(request: Request, staff: StaffPage) -> Response:
    return render(request, "console/staff.html", users=_gov(request).staff.users(), roles=ROLES)


@router.post("/staff")
async def staff_new(request: Request) -> Response:
    staff = await require_action(request, "staff.write")
    f = await form_text(request, "username", "password", "role")
    _gov(request).staff.create_user(staff.actor, f["username"], f["password"], f["role"])
    return redirect("/console/staff")


@router.post("/staff/{username}/{verb}")
async def staff_toggle(request: Request, username: str, verb: str) -> Response:
    staff = await require_action(request, "staff.write")
    if verb not in ("disable", "enable"):
        raise NotFound(f"no action {verb[:20]!r}", message_zh="无此操作")
    f = await form_text(request, "reason")
    _gov(request).staff.set_disabled(staff.actor, username, verb == "disable", f["reason"] or verb)
    return redirect("/console/staff")


__all__ = ["highlight", "router"]
