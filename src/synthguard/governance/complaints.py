"""Complaints and reports from the public (Deep Synthesis Provisions Art. 12).

Art. 12 asks for a convenient channel, a published procedure and time limit, and timely feedback.
The time limit is the provider's own (``Settings.complaint_sla_h``, published by ``procedure``);
each complaint gets ``due_at`` when filed, so "overdue" is a query, not a timer process, and every
replica agrees on it. The complainant gets an unguessable ticket to read the feedback with.
"""

from __future__ import annotations

import datetime as dt
import secrets

from pydantic import BaseModel
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from synthguard.errors import NotFound, RecordConflict
from synthguard.governance._common import (
    PUBLIC,
    Actor,
    aware,
    choice,
    content_id_field,
    text_field,
    utcnow,
)
from synthguard.governance.audit import AuditTrail
from synthguard.store.models import GovComplaint

CATEGORIES = ("illegal", "rumour", "rights", "unlabeled", "consent", "other")
CATEGORY_NAMES = {
    "illegal": ("违法和不良信息", "Illegal or harmful content"),
    "rumour": ("虚假信息/谣言", "False information / rumour"),
    "rights": ("侵犯肖像、名誉、隐私等权益", "Infringes portrait, reputation, privacy or other rights"),
    "unlabeled": ("AI 生成内容未标识", "AI-generated content without a label"),
    "consent": ("未经同意编辑人脸/声音", "Face or voice edited without consent"),
    "other": ("其他", "Other"),
}
STATUSES = ("open", "in_progress", "answered")


class ComplaintView(BaseModel):
    id: int
    ticket: str
    category: str
    content_id: str
    file_sha256: str
    file_name: str
    description: str
    contact: str
    status: str
    created_at: dt.datetime
    due_at: dt.datetime
    overdue: bool
    remaining_s: int
    assigned_to: str
    answered_at: dt.datetime | None
    answered_by: str
    feedback: str


class PublicStatus(BaseModel):
    """What the complainant may see with the ticket: no contact details, no staff names."""

    ticket: str
    category: str
    status: str
    created_at: dt.datetime
    due_at: dt.datetime
    answered_at: dt.datetime | None
    feedback: str


def _view(row: GovComplaint) -> ComplaintView:
    now = utcnow()
    due = aware(row.due_at) or now
    answered = aware(row.answered_at)
    end = answered or now
    return ComplaintView(
        id=row.id,
        ticket=row.ticket,
        category=row.category,
        content_id=row.content_id,
        file_sha256=row.file_sha256,
        file_name=row.file_name,
        description=row.description,
        contact=row.contact,
        status=row.status,
        created_at=aware(row.created_at) or now,
        due_at=due,
        overdue=end > due,
        remaining_s=int((due - now).total_seconds()) if answered is None else 0,
        assigned_to=row.assigned_to,
        answered_at=answered,
        answered_by=row.answered_by,
        feedback=row.feedback,
    )


def procedure(sla_h: float) -> dict[str, str]:
    """The published handling procedure and time limit (Art. 12), in Chinese and English."""
    hours = f"{sla_h:g}"
    return {
        "time_limit_h": hours,
        "zh": (
            "1. 提交投诉或举报（类别、内容标识或文件、联系方式）后，您将获得受理编号。"
            f"2. 我们将在 {hours} 小时内核查并处理。"
            "3. 处理结果会在受理编号页面反馈；如留有联系方式，我们也会主动联系您。"
            "4. 涉及违法信息的，我们将依法处置并向网信部门报告。"
        ),
        "en": (
            "1. File a complaint or report (category, content ID or file, contact); you receive a ticket. "
            f"2. We check and handle it within {hours} hours. "
            "3. The outcome is shown on the ticket page; if you left a contact, we also reach out. "
            "4. Illegal content is handled according to law and reported to the cyberspace authority."
        ),
    }


class Complaints:
    def __init__(self, sessions: sessionmaker[Session], audit: AuditTrail, *, sla_h: float) -> None:
        self.sessions = sessions
        self.audit = audit
        self.sla = dt.timedelta(hours=sla_h)
        self.sla_h = sla_h

    def file(
        self,
        category: str,
        description: str,
        *,
        content_id: str = "",
        contact: str = "",
        file_sha256: str = "",
        file_name: str = "",
    ) -> ComplaintView:
        now = utcnow()
        row = GovComplaint(
            ticket="c-" + secrets.token_urlsafe(15),
            created_at=now,
            category=choice(category, "category", CATEGORIES),
            content_id=content_id_field(content_id, required=False),
            file_sha256=file_sha256,
            file_name=text_field(file_name, "file_name", max_chars=255, required=False, multiline=False),
            description=text_field(description, "description", max_chars=5000),
            contact=text_field(contact, "contact", max_chars=200, required=False, multiline=False),
            status="open",
            due_at=now + self.sla,
        )
        with self.sessions.begin() as session:
            session.add(row)
            session.flush()
            complaint_id = row.id
        self.audit.log(
            PUBLIC,
            "complaint.file",
            "complaint",
            complaint_id,
            row.category,
            content_id=row.content_id or None,
            file_sha256=row.file_sha256,
        )
        return self.get(complaint_id)

    def get(self, complaint_id: int) -> ComplaintView:
        with self.sessions() as session:
            row = session.get(GovComplaint, complaint_id)
            if row is None:
                raise NotFound(
                    f"complaint {complaint_id} does not exist", message_zh=f"投诉 {complaint_id} 不存在"
                )
            return _view(row)

    def public_status(self, ticket: str) -> PublicStatus:
        with self.sessions() as session:
            row = session.scalars(select(GovComplaint).where(GovComplaint.ticket == ticket[:40])).first()
            if row is None:
                raise NotFound("no complaint with this ticket", message_zh="未找到该受理编号")
            v = _view(row)
        return PublicStatus(
            ticket=v.ticket,
            category=v.category,
            status=v.status,
            created_at=v.created_at,
            due_at=v.due_at,
            answered_at=v.answered_at,
            feedback=v.feedback,
        )

    def list(
        self, *, status: str | None = None, overdue: bool = False, limit: int = 200
    ) -> list[ComplaintView]:
        query = select(GovComplaint).order_by(GovComplaint.due_at).limit(max(1, min(limit, 5000)))
        if status:
            query = query.where(GovComplaint.status == choice(status, "status", STATUSES))
        if overdue:
            query = query.where(GovComplaint.status != "answered", GovComplaint.due_at < utcnow())
        with self.sessions() as session:
            return [_view(r) for r in session.scalars(query)]

    def overdue_count(self) -> int:
        with self.sessions() as session:
            count = session.scalar(
                select(func.count())
                .select_from(GovComplaint)
                .where(GovComplaint.status != "answered", GovComplaint.due_at < utcnow())
            )
        return int(count or 0)

    def take(self, actor: Actor, complaint_id: int) -> ComplaintView:
        with self.sessions.begin() as session:
            result = session.execute(
                update(GovComplaint)
                .where(GovComplaint.id == complaint_id, GovComplaint.status == "open")
                .values(status="in_progress", assigned_to=actor.name)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                current = self.get(complaint_id)
                raise RecordConflict(
                    f"complaint {complaint_id} is {current.status}"
                    + (f" (taken by {current.assigned_to})" if current.assigned_to else ""),
                    message_zh=f"投诉 {complaint_id} 当前状态为 {current.status}",
                )
        self.audit.log(actor, "complaint.take", "complaint", complaint_id, "")
        return self.get(complaint_id)

    def answer(self, actor: Actor, complaint_id: int, feedback: str) -> ComplaintView:
        text = text_field(feedback, "feedback", max_chars=5000)
        now = utcnow()
        with self.sessions.begin() as session:
            result = session.execute(
                update(GovComplaint)
                .where(GovComplaint.id == complaint_id, GovComplaint.status != "answered")
                .values(status="answered", answered_at=now, answered_by=actor.name, feedback=text)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                current = self.get(complaint_id)
                raise RecordConflict(
                    f"complaint {complaint_id} was already answered by {current.answered_by}",
                    message_zh=f"投诉 {complaint_id} 已由 {current.answered_by} 答复",
                )
        view = self.get(complaint_id)
        self.audit.log(
            actor,
            "complaint.answer",
            "complaint",
            complaint_id,
            text,
            content_id=view.content_id or None,
            overdue=view.overdue,
        )
        return view
