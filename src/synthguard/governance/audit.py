"""The staff audit trail: every governance or console action, with who, role, what and why.

Deep Synthesis Provisions Art. 10 and 11 ask the provider to keep records of how illegal content
and rumours were handled; Art. 21 asks it to hand them to inspectors. Each action is one
``gov_actions`` row (readable by the auditor role) and, when the evidence ledger is available, one
ledger entry holding the IDs and a SHA-256 of the reason, so the trail is tamper-evident while the
free text stays in the store.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from synthguard.governance._common import Actor
from synthguard.store.models import GovAction

Recorder = Callable[..., Any]
log = logging.getLogger("synthguard.governance")


class AuditTrail:
    def __init__(self, sessions: sessionmaker[Session], record: Recorder | None = None) -> None:
        self.sessions = sessions
        self._record = record

    def log(
        self,
        actor: Actor,
        action: str,
        target_kind: str = "",
        target_id: str | int = "",
        reason: str = "",
        *,
        content_id: str | None = None,
        user_id: str | None = None,
        **detail: Any,
    ) -> GovAction:
        row = GovAction(
            actor=actor.name[:128],
            role=actor.role[:16],
            action=action[:64],
            target_kind=target_kind[:32],
            target_id=str(target_id)[:128],
            reason=reason,
            detail=detail,
        )
        with self.sessions.begin() as session:
            session.add(row)
            session.flush()
            action_id = row.id
        if self._record is not None:
            try:
                result = self._record(
                    f"governance.{action}",
                    content_id,
                    user_id=user_id or None,
                    idem_key=f"gov-action-{action_id}",
                    actor=actor.name,
                    role=actor.role,
                    target_kind=target_kind,
                    target_id=str(target_id),
                    reason_sha256=hashlib.sha256(reason.encode("utf-8")).hexdigest(),
                    action_id=action_id,
                )
            except Exception:  # the store row stands; a ledger outage must not undo a staff action
                log.exception("governance action %s could not be written to the ledger", action_id)
            else:
                seq = getattr(result, "seq", None)
                if isinstance(seq, int):
                    with self.sessions.begin() as session:
                        stored = session.get(GovAction, action_id)
                        if stored is not None:
                            stored.ledger_seq = seq
                            row.ledger_seq = seq
        return row

    def list(
        self, *, target_kind: str | None = None, target_id: str | None = None, limit: int = 200
    ) -> list[GovAction]:
        query = select(GovAction).order_by(GovAction.id.desc()).limit(max(1, min(limit, 5000)))
        if target_kind:
            query = query.where(GovAction.target_kind == target_kind)
        if target_id:
            query = query.where(GovAction.target_id == target_id)
        with self.sessions() as session:
            return list(session.scalars(query))
