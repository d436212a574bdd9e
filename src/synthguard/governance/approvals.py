"""Four-eyes approval of the most consequential staff actions.

Banning a user (and lifting a sanction), publishing a rumour refutation (Art. 11) and reporting an
incident to the authority (Art. 10) act on people and on the public record, so one staff member
*requests* them and a different one *approves*; only then does the action run. Nothing changes
before approval: a requested ban leaves the user's status alone, so the gateway, which reads that
status on every call, refuses the user exactly from the approval on.

The request, the approval (or rejection, cancellation, failure) and the action itself are each
one audit-trail row and one ledger entry, naming the requester and the approver. Approving is a
conditional ``UPDATE ... WHERE status = 'pending' AND requested_by <> approver``: the requester can
never approve their own request, and of two approvers racing, exactly one runs the action.
A team with a single reviewer can turn the control off (``SYNTHGUARD_CONSOLE_FOUR_EYES=false``);
the actions then run at once and their audit rows say ``four_eyes: false``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from synthguard.errors import NotFound, PermissionDenied, RecordConflict, SynthguardError
from synthguard.governance._common import Actor, aware, choice, text_field, utcnow
from synthguard.governance.audit import AuditTrail
from synthguard.store.models import GovApproval

KINDS: dict[str, tuple[str, str]] = {
    "user.ban": ("封禁用户", "Ban a user"),
    "user.unban": ("解除用户处罚", "Lift a user's sanction"),
    "refutation.publish": ("发布辟谣公告", "Publish a refutation"),
    "incident.report": ("向主管部门报告事件", "Report an incident to the authority"),
}
STATUSES = ("pending", "approved", "rejected", "cancelled", "failed")
Executor = Callable[[Actor, "ApprovalView"], Any]


class ApprovalView(BaseModel):
    id: int
    kind: str
    kind_zh: str
    kind_en: str
    target_id: str
    params: dict[str, Any]
    reason: str
    status: str
    requested_by: str
    requested_role: str
    requested_at: dt.datetime
    decided_by: str
    decided_role: str
    decided_at: dt.datetime | None
    note: str


def _view(row: GovApproval) -> ApprovalView:
    zh, en = KINDS.get(row.kind, (row.kind, row.kind))
    return ApprovalView(
        id=row.id,
        kind=row.kind,
        kind_zh=zh,
        kind_en=en,
        target_id=row.target_id,
        params=dict(row.params or {}),
        reason=row.reason,
        status=row.status,
        requested_by=row.requested_by,
        requested_role=row.requested_role,
        requested_at=aware(row.requested_at) or utcnow(),
        decided_by=row.decided_by,
        decided_role=row.decided_role,
        decided_at=aware(row.decided_at),
        note=row.note,
    )


class Approvals:
    def __init__(self, sessions: sessionmaker[Session], audit: AuditTrail, *, required: bool) -> None:
        self.sessions = sessions
        self.audit = audit
        self.required = required

    def request(
        self, actor: Actor, kind: str, target_id: str, reason: str, params: dict[str, Any] | None = None
    ) -> ApprovalView:
        kind = choice(kind, "kind", tuple(KINDS))
        why = text_field(reason, "reason", max_chars=2000)
        with self.sessions.begin() as session:
            pending = session.scalar(
                select(GovApproval.id).where(
                    GovApproval.kind == kind,
                    GovApproval.target_id == target_id,
                    GovApproval.status == "pending",
                )
            )
            if pending is not None:
                raise RecordConflict(
                    f"request #{pending} ({KINDS[kind][1].lower()}: {target_id}) already awaits approval",
                    message_zh=f"对 {target_id} 的“{KINDS[kind][0]}”申请 #{pending} 已在等待审批",
                )
            row = GovApproval(
                kind=kind,
                target_id=target_id[:128],
                params=params or {},
                reason=why,
                status="pending",
                requested_by=actor.name,
                requested_role=actor.role,
                requested_at=utcnow(),
            )
            session.add(row)
            session.flush()
            view = _view(row)
        self.audit.log(
            actor,
            "approval.request",
            "approval",
            view.id,
            why,
            user_id=target_id if kind.startswith("user.") else None,
            kind=kind,
            target=target_id,
        )
        return view

    def get(self, approval_id: int) -> ApprovalView:
        with self.sessions() as session:
            row = session.get(GovApproval, approval_id)
            if row is None:
                raise NotFound(
                    f"approval request {approval_id} does not exist",
                    message_zh=f"审批申请 {approval_id} 不存在",
                )
            return _view(row)

    def list(
        self, *, status: str | None = None, target_id: str | None = None, limit: int = 200
    ) -> list[ApprovalView]:
        query = select(GovApproval).order_by(GovApproval.id.desc()).limit(max(1, min(limit, 5000)))
        if status:
            query = query.where(GovApproval.status == choice(status, "status", STATUSES))
        if target_id:
            query = query.where(GovApproval.target_id == target_id)
        with self.sessions() as session:
            return [_view(r) for r in session.scalars(query)]

    def pending_count(self) -> int:
        with self.sessions() as session:
            return int(
                session.scalar(
                    select(func.count()).select_from(GovApproval).where(GovApproval.status == "pending")
                )
                or 0
            )

    def _decide(self, actor: Actor, approval_id: int, to: str, note: str, *, own: bool) -> ApprovalView:
        """Move a pending request to ``to``; ``own`` says whether only (True) or never (False) the
        requester may do it."""
        who = GovApproval.requested_by == actor.name if own else GovApproval.requested_by != actor.name
        with self.sessions.begin() as session:
            result = session.execute(
                update(GovApproval)
                .where(GovApproval.id == approval_id, GovApproval.status == "pending", who)
                .values(
                    status=to, decided_by=actor.name, decided_role=actor.role, decided_at=utcnow(), note=note
                )
            )
            moved = result.rowcount == 1  # type: ignore[attr-defined]
        current = self.get(approval_id)
        if moved:
            return current
        if current.status != "pending":
            raise RecordConflict(
                f"approval request {approval_id} is already {current.status}"
                + (f" by {current.decided_by}" if current.decided_by else ""),
                message_zh=f"审批申请 {approval_id} 已是 {current.status}",
            )
        if own:
            raise PermissionDenied(
                f"only {current.requested_by}, who made request {approval_id}, may cancel it",
                message_zh=f"只有申请人 {current.requested_by} 可以撤回申请 {approval_id}",
            )
        raise PermissionDenied(
            f"request {approval_id} was made by you: a second staff member must approve or reject it",
            message_zh=f"申请 {approval_id} 由您本人提出，须由另一名员工审批",
        )

    def approve(
        self, actor: Actor, approval_id: int, note: str, execute: Executor
    ) -> tuple[ApprovalView, Any]:
        """Approve and run the action as ``actor`` (the second person). If the action fails (the
        target changed meanwhile), the request is marked ``failed`` with the reason and the error
        is raised: an approval never silently stands for an action that did not happen."""
        why = text_field(note, "note", max_chars=2000, required=False)
        view = self._decide(actor, approval_id, "approved", why, own=False)
        try:
            result = execute(actor, view)
        except SynthguardError as exc:
            with self.sessions.begin() as session:
                session.execute(
                    update(GovApproval)
                    .where(GovApproval.id == approval_id)
                    .values(status="failed", note=f"{why}\n{exc.message}".strip()[:2000])
                )
            self.audit.log(actor, "approval.failed", "approval", approval_id, exc.message, kind=view.kind)
            raise
        self.audit.log(
            actor,
            "approval.approve",
            "approval",
            approval_id,
            why,
            user_id=view.target_id if view.kind.startswith("user.") else None,
            kind=view.kind,
            target=view.target_id,
            requested_by=view.requested_by,
            approved_by=actor.name,
        )
        return self.get(approval_id), result

    def reject(self, actor: Actor, approval_id: int, note: str) -> ApprovalView:
        why = text_field(note, "note", max_chars=2000)
        view = self._decide(actor, approval_id, "rejected", why, own=False)
        self.audit.log(
            actor,
            "approval.reject",
            "approval",
            approval_id,
            why,
            kind=view.kind,
            requested_by=view.requested_by,
        )
        return view

    def cancel(self, actor: Actor, approval_id: int, note: str = "") -> ApprovalView:
        why = text_field(note, "note", max_chars=2000, required=False)
        view = self._decide(actor, approval_id, "cancelled", why, own=True)
        self.audit.log(actor, "approval.cancel", "approval", approval_id, why, kind=view.kind)
        return view
