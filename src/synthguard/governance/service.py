"""``Governance``: the staff workflows in one object, built by the core with the store and ledger.

It ties the records together where a workflow crosses them: deciding a review item "illegal"
opens an incident (Art. 10), every step is written to the audit trail (store + ledger), and the
report export pulls the ledger evidence of the incident's content IDs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from synthguard.config import Settings
from synthguard.errors import InvalidField, NotFound, RecordConflict
from synthguard.governance import dashboard
from synthguard.governance._common import Actor, text_field
from synthguard.governance.approvals import Approvals, ApprovalView
from synthguard.governance.assessments import Assessments
from synthguard.governance.audit import AuditTrail, Recorder
from synthguard.governance.complaints import Complaints
from synthguard.governance.consent import Consents
from synthguard.governance.evidence import EvidenceStore
from synthguard.governance.filing import FilingRegistry
from synthguard.governance.incidents import EvidenceFor, Incidents, IncidentView
from synthguard.governance.refutations import Refutations
from synthguard.governance.sanctions import Sanctions
from synthguard.governance.staff import Staff

if TYPE_CHECKING:
    from synthguard.governance.refutations import RefutationView
    from synthguard.identity import UserDirectory, UserView
    from synthguard.review import QueueItem, ReviewQueue

DECISIONS = ("pass", "mask", "block", "illegal", "sanction")


class Governance:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        *,
        record: Recorder | None = None,
        evidence_for: EvidenceFor | None = None,
        queue: Callable[[], ReviewQueue] | None = None,
        users: Callable[[], UserDirectory] | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.audit = AuditTrail(sessions, record)
        self.incidents = Incidents(sessions, self.audit)
        self.refutations = Refutations(sessions, self.audit)
        self.complaints = Complaints(sessions, self.audit, sla_h=settings.complaint_sla_h)
        self.consents = Consents(sessions, self.audit)
        self.assessments = Assessments(sessions, self.audit, review_days=settings.algorithm_review_days)
        self.filing = FilingRegistry(
            sessions, self.audit, default_number=settings.filing_number, default_url=settings.filing_url
        )
        self.evidence = EvidenceStore(
            sessions, settings.data_dir / "evidence", settings.public_upload_max_bytes
        )
        self.staff = Staff(
            sessions,
            self.audit,
            session_h=settings.console_session_h,
            cost=settings.console_password_cost,
            max_failures=settings.console_login_max_failures,
            lockout_s=settings.console_login_lockout_s,
        )
        self.approvals = Approvals(sessions, self.audit, required=settings.console_four_eyes)
        self._evidence_for = evidence_for
        self._queue = queue
        self._users = users

    @property
    def sanctions(self) -> Sanctions:
        if self._users is None:
            raise NotFound("the user registry is not available", message_zh="用户目录不可用")
        return Sanctions(self._users(), self.audit)

    @property
    def queue(self) -> ReviewQueue:
        if self._queue is None:
            raise NotFound("the review queue is not available", message_zh="审核队列不可用")
        return self._queue()

    # --- review queue: every step audited; "illegal" opens an incident ------------------------------

    def claim(self, actor: Actor, item_id: int) -> QueueItem:
        item = self.queue.claim(item_id, actor.name)
        self.audit.log(actor, "queue.claim", "queue_item", item_id, "", user_id=item.user_id or None)
        return item

    def escalate(self, actor: Actor, item_id: int, reason: str) -> QueueItem:
        why = text_field(reason, "reason", max_chars=2000)
        item = self.queue.escalate(item_id, actor.name, why)
        self.audit.log(actor, "queue.escalate", "queue_item", item_id, why, user_id=item.user_id or None)
        return item

    def release(self, actor: Actor, item_id: int, reason: str = "") -> QueueItem:
        item = self.queue.release(item_id, actor.name, reason)
        self.audit.log(actor, "queue.release", "queue_item", item_id, reason)
        return item

    def decide(
        self, actor: Actor, item_id: int, decision: str, reason: str
    ) -> tuple[QueueItem, IncidentView | None]:
        """Decide a claimed item. ``illegal`` blocks it and opens an incident (Art. 10)."""
        if decision not in DECISIONS:
            raise InvalidField(
                f"decision must be one of {', '.join(DECISIONS)}",
                message_zh=f"审核结论须为 {'/'.join(DECISIONS)}",
            )
        why = text_field(reason, "reason", max_chars=2000, required=decision != "pass")
        outcome = "block" if decision == "illegal" else decision
        item = self.queue.decide(item_id, actor.name, outcome, why)
        self.audit.log(
            actor,
            "queue.decide",
            "queue_item",
            item_id,
            why,
            user_id=item.user_id or None,
            decision=decision,
            categories=item.categories,
        )
        incident = None
        if decision == "illegal":
            raw = self.queue_digest(item_id)
            incident = self.incidents.open(
                actor,
                f"审核任务 #{item_id} 判定违法 / Review item #{item_id} found illegal",
                summary=why,
                source="review",
                risk_code=item.categories[0] if item.categories else "",
                content_ids=[f"sha256:{raw}"] if raw else [],
                user_ids=[item.user_id] if item.user_id else [],
                queue_item_id=item_id,
                measure=f"blocked by review decision ({actor.name})",
            )
        return item, incident

    def queue_digest(self, item_id: int) -> str:
        from synthguard.store.models import ReviewQueueItem

        with self.sessions() as session:
            row = session.get(ReviewQueueItem, item_id)
            return row.content_sha256 if row is not None else ""

    def queue_spans(self, item_id: int) -> list[dict[str, Any]]:
        """The matched spans of the decision that queued this item (offsets into its text)."""
        from synthguard.store.models import ReviewDecision, ReviewQueueItem

        with self.sessions() as session:
            row = session.get(ReviewQueueItem, item_id)
            if row is None or row.decision_id is None:
                return []
            decision = session.get(ReviewDecision, row.decision_id)
            return list(decision.spans or []) if decision is not None else []

    # --- four-eyes actions (see governance/approvals.py) -----------------------------------------------
    # Each returns the done action's view, or the pending ApprovalView when a second person must
    # approve. The target is checked at request time so an impossible request fails at once.

    def sanction(
        self, actor: Actor, user: str, action: str, reason: str, *, duration_h: float | None = None
    ) -> UserView | ApprovalView:
        """Warn/restrict/suspend at once; ban, and lifting a *ban*, need a second approver."""
        sanctions = self.sanctions
        if self.approvals.required and action in ("ban", "unban"):
            name = text_field(user, "user", max_chars=128, multiline=False)
            current = sanctions.users.show(name)  # NotFound for an unknown user
            if action == "ban" or current.status == "banned":
                if action == "ban" and current.status == "banned":
                    raise RecordConflict(f"user {name} is already banned", message_zh=f"用户 {name} 已被封禁")
                return self.approvals.request(actor, f"user.{action}", name, reason)
        detail: dict[str, Any] = {"four_eyes": False} if action in ("ban", "unban") else {}
        return sanctions.apply(actor, user, action, reason, duration_h=duration_h, **detail)

    def publish_refutation(
        self, actor: Actor, refutation_id: int, reason: str
    ) -> RefutationView | ApprovalView:
        if not self.approvals.required:
            return self.refutations.publish(actor, refutation_id, reason or "published", four_eyes=False)
        current = self.refutations.get(refutation_id)
        if current.status != "draft":
            raise RecordConflict(
                f"refutation {refutation_id} is {current.status}; only a draft can be published",
                message_zh=f"辟谣记录 {refutation_id} 当前为 {current.status}，只有草稿可发布",
            )
        return self.approvals.request(
            actor,
            "refutation.publish",
            str(refutation_id),
            reason or "publish",
            {"content_id": current.content_id},
        )

    def set_incident_status(
        self, actor: Actor, incident_id: int, status: str, reason: str
    ) -> IncidentView | ApprovalView:
        """Reporting an incident to the authority needs a second approver; other moves do not."""
        if status != "reported" or not self.approvals.required:
            detail: dict[str, Any] = {"four_eyes": False} if status == "reported" else {}
            return self.incidents.set_status(actor, incident_id, status, reason, **detail)
        current = self.incidents.get(incident_id)
        if current.status == "reported":
            raise RecordConflict(
                f"incident {incident_id} is already reported", message_zh=f"事件 {incident_id} 已报告"
            )
        return self.approvals.request(actor, "incident.report", str(incident_id), reason)

    def approve(self, actor: Actor, approval_id: int, note: str = "") -> tuple[ApprovalView, Any]:
        """Approve another staff member's request and run it; both names go to the audit trail."""
        return self.approvals.approve(actor, approval_id, note, self._execute)

    def _execute(self, actor: Actor, view: ApprovalView) -> Any:
        detail: dict[str, Any] = {
            "approval_id": view.id,
            "requested_by": view.requested_by,
            "approved_by": actor.name,
        }
        if view.kind in ("user.ban", "user.unban"):
            return self.sanctions.apply(
                actor, view.target_id, view.kind.split(".", 1)[1], view.reason, **detail
            )
        if view.kind == "refutation.publish":
            return self.refutations.publish(actor, int(view.target_id), view.reason, **detail)
        if view.kind == "incident.report":
            return self.incidents.set_status(actor, int(view.target_id), "reported", view.reason, **detail)
        raise InvalidField(f"unknown approval kind {view.kind!r}", message_zh="未知的审批类型")

    # --- reports -----------------------------------------------------------------------------------

    def provider_info(self) -> dict[str, str]:
        filing = self.filing.current()
        return {
            "provider_code": self.settings.provider_code,
            "uscc": self.settings.provider_code[4:22] if self.settings.provider_code else "",
            "algorithm_filing_number": filing.algorithm_number,
            "genai_filing_number": filing.genai_number,
            "filing_url": filing.url,
        }

    def incident_report(self, incident_id: int) -> dict[str, Any]:
        actions = [
            {
                "at": a.at.isoformat() if a.at else "",
                "actor": a.actor,
                "role": a.role,
                "action": a.action,
                "reason": a.reason,
                "ledger_seq": a.ledger_seq,
            }
            for a in reversed(self.audit.list(target_kind="incident", target_id=str(incident_id)))
        ]
        return self.incidents.report(
            incident_id, provider=self.provider_info(), actions=actions, evidence_for=self._evidence_for
        )

    def dashboard(self) -> dashboard.Dashboard:
        return dashboard.build(self.sessions)
