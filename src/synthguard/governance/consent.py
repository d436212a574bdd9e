"""Biometric consent records (Deep Synthesis Provisions Art. 14 para. 2).

A provider whose service edits faces or voices must prompt the user to tell the edited person and
get that person's *separate* consent. A record says who obtained the consent (the service user),
whose face/voice it covers (the subject), for which uses, how it was given, the SHA-256 of the
evidence file, when it expires, and whether it was revoked. ``has_valid_consent`` is the gate the
gateway calls before a biometric edit: every condition is checked on each call against the store,
so a revocation takes effect on the next request on every replica.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from synthguard.errors import InvalidField, NotFound, RecordConflict
from synthguard.governance._common import Actor, aware, choice, text_field, utcnow
from synthguard.governance.audit import AuditTrail
from synthguard.store.models import GovConsent

USES = ("face_swap", "face_edit", "face_generate", "voice_clone", "voice_edit", "digital_human")
METHODS = ("signed_form", "video_statement", "audio_statement", "electronic", "other")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ConsentView(BaseModel):
    consent_id: str
    user_id: str
    subject_name: str
    subject_ref: str
    uses: list[str]
    method: str
    evidence_sha256: str
    evidence_name: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    recorded_by: str
    revoked_at: dt.datetime | None
    revoked_by: str
    revoke_reason: str
    valid: bool


def _view(row: GovConsent) -> ConsentView:
    expires = aware(row.expires_at)
    revoked = aware(row.revoked_at)
    return ConsentView(
        consent_id=row.consent_id,
        user_id=row.user_id,
        subject_name=row.subject_name,
        subject_ref=row.subject_ref,
        uses=list(row.uses or []),
        method=row.method,
        evidence_sha256=row.evidence_sha256,
        evidence_name=row.evidence_name,
        created_at=aware(row.created_at) or utcnow(),
        expires_at=expires,
        recorded_by=row.recorded_by,
        revoked_at=revoked,
        revoked_by=row.revoked_by,
        revoke_reason=row.revoke_reason,
        valid=revoked is None and (expires is None or expires > utcnow()),
    )


class Consents:
    def __init__(self, sessions: sessionmaker[Session], audit: AuditTrail) -> None:
        self.sessions = sessions
        self.audit = audit

    def record(
        self,
        actor: Actor,
        *,
        user_id: str,
        subject_name: str,
        uses: list[str],
        method: str,
        evidence_sha256: str,
        evidence_name: str = "",
        subject_ref: str = "",
        expires_at: dt.datetime | None = None,
    ) -> ConsentView:
        clean_uses = sorted({choice(u, "use", USES) for u in uses})
        if not clean_uses:
            raise InvalidField(
                "name at least one use the consent covers", message_zh="须至少选择一项授权用途"
            )
        if not _SHA256.match(evidence_sha256 or ""):
            raise InvalidField(
                "consent needs an evidence file (its SHA-256)", message_zh="同意记录须附证据文件"
            )
        if expires_at is not None:
            expires_at = aware(expires_at)
            if expires_at is None or expires_at <= utcnow():
                raise InvalidField("expiry must be in the future", message_zh="到期时间须晚于当前时间")
        row = GovConsent(
            consent_id="cs-" + secrets.token_hex(10),
            user_id=text_field(user_id, "user_id", max_chars=128, multiline=False),
            subject_name=text_field(subject_name, "subject_name", max_chars=200, multiline=False),
            subject_ref=text_field(
                subject_ref, "subject_ref", max_chars=200, required=False, multiline=False
            ),
            uses=clean_uses,
            method=choice(method, "method", METHODS),
            evidence_sha256=evidence_sha256,
            evidence_name=text_field(
                evidence_name, "evidence_name", max_chars=255, required=False, multiline=False
            ),
            expires_at=expires_at,
            recorded_by=actor.name,
        )
        with self.sessions.begin() as session:
            session.add(row)
            consent_id = row.consent_id
        self.audit.log(
            actor,
            "consent.record",
            "consent",
            consent_id,
            ",".join(clean_uses),
            user_id=row.user_id,
            evidence_sha256=evidence_sha256,
        )
        return self.get(consent_id)

    def get(self, consent_id: str) -> ConsentView:
        with self.sessions() as session:
            row = session.get(GovConsent, consent_id[:40])
            if row is None:
                raise NotFound(
                    f"consent {consent_id} does not exist", message_zh=f"同意记录 {consent_id} 不存在"
                )
            return _view(row)

    def list(self, *, user_id: str | None = None, limit: int = 200) -> list[ConsentView]:
        query = select(GovConsent).order_by(GovConsent.created_at.desc()).limit(max(1, min(limit, 5000)))
        if user_id:
            query = query.where(GovConsent.user_id == user_id)
        with self.sessions() as session:
            return [_view(r) for r in session.scalars(query)]

    def revoke(self, actor: Actor, consent_id: str, reason: str) -> ConsentView:
        why = text_field(reason, "reason", max_chars=2000)
        with self.sessions.begin() as session:
            result = session.execute(
                update(GovConsent)
                .where(GovConsent.consent_id == consent_id[:40], GovConsent.revoked_at.is_(None))
                .values(revoked_at=utcnow(), revoked_by=actor.name, revoke_reason=why)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                self.get(consent_id)
                raise RecordConflict(
                    f"consent {consent_id} is already revoked", message_zh="该同意记录已撤回"
                )
        view = self.get(consent_id)
        self.audit.log(actor, "consent.revoke", "consent", consent_id, why, user_id=view.user_id)
        return view

    def has_valid_consent(self, consent_id: str, user_id: str, use: str) -> bool:
        """True only if the record exists, belongs to ``user_id``, covers ``use``, and is neither
        revoked nor expired."""
        if not consent_id or len(consent_id) > 40:
            return False
        with self.sessions() as session:
            row = session.get(GovConsent, consent_id)
            if row is None:
                return False
            view = _view(row)
        return view.valid and view.user_id == user_id and use in view.uses
