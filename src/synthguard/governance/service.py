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
from synthguard.errors import InvalidField, NotFound
from synthguard.governance import dashboard
from synthguard.governance._common import Actor, text_field
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
    from synthguard.identity import UserDirectory
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
            sessions, self.audit, session_h=settings.console_session_h, cost=settings.console_password_cost
        )
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
