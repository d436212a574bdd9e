"""Rumour refutation (Deep Synthesis Provisions Art. 11): mark content IDs false, notice, publish.

A refutation is drafted, then published; only a published one is returned by ``refutation_for``,
which detection and the public "Is this AI-generated?" page call for every content ID they find,
so content found false keeps showing its refutation wherever it is checked again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from synthguard.errors import InvalidField, NotFound, RecordConflict
from synthguard.governance._common import Actor, aware, content_id_field, text_field, utcnow
from synthguard.governance.audit import AuditTrail
from synthguard.store.models import GovRefutation


class RefutationView(BaseModel):
    id: int
    content_id: str
    notice_zh: str
    notice_en: str
    source_url: str
    status: str
    incident_id: int | None
    created_by: str
    created_at: dt.datetime
    published_by: str
    published_at: dt.datetime | None


def _view(row: GovRefutation) -> RefutationView:
    return RefutationView(
        id=row.id,
        content_id=row.content_id,
        notice_zh=row.notice_zh,
        notice_en=row.notice_en,
        source_url=row.source_url,
        status=row.status,
        incident_id=row.incident_id,
        created_by=row.created_by,
        created_at=aware(row.created_at) or utcnow(),
        published_by=row.published_by,
        published_at=aware(row.published_at),
    )


def _url(value: str) -> str:
    url = text_field(value, "source_url", max_chars=500, required=False, multiline=False)
    if url and not url.startswith(("https://", "http://")):
        raise InvalidField("source_url must be an http(s) link", message_zh="来源链接须为 http(s) 地址")
    return url


class Refutations:
    def __init__(self, sessions: sessionmaker[Session], audit: AuditTrail) -> None:
        self.sessions = sessions
        self.audit = audit

    def create(
        self,
        actor: Actor,
        content_ids: list[str],
        notice_zh: str,
        *,
        notice_en: str = "",
        source_url: str = "",
        incident_id: int | None = None,
    ) -> list[RefutationView]:
        ids = [content_id_field(c) for c in content_ids if c.strip()]
        if not ids:
            raise InvalidField("at least one content ID is required", message_zh="至少需要一个内容标识")
        zh = text_field(notice_zh, "notice_zh", max_chars=5000)
        en = text_field(notice_en, "notice_en", max_chars=5000, required=False)
        url = _url(source_url)
        created: list[int] = []
        with self.sessions.begin() as session:
            for cid in dict.fromkeys(ids):
                row = GovRefutation(
                    content_id=cid,
                    notice_zh=zh,
                    notice_en=en,
                    source_url=url,
                    status="draft",
                    incident_id=incident_id,
                    created_by=actor.name,
                )
                session.add(row)
                session.flush()
                created.append(row.id)
        for rid, cid in zip(created, dict.fromkeys(ids), strict=True):
            self.audit.log(actor, "refutation.create", "refutation", rid, zh, content_id=cid)
        return [self.get(r) for r in created]

    def get(self, refutation_id: int) -> RefutationView:
        with self.sessions() as session:
            row = session.get(GovRefutation, refutation_id)
            if row is None:
                raise NotFound(
                    f"refutation {refutation_id} does not exist",
                    message_zh=f"辟谣记录 {refutation_id} 不存在",
                )
            return _view(row)

    def list(self, *, limit: int = 200) -> list[RefutationView]:
        with self.sessions() as session:
            rows = session.scalars(
                select(GovRefutation).order_by(GovRefutation.id.desc()).limit(max(1, min(limit, 5000)))
            )
            return [_view(r) for r in rows]

    def _move(
        self, actor: Actor, refutation_id: int, to: str, frm: tuple[str, ...], reason: str, **detail: Any
    ) -> RefutationView:
        now = utcnow()
        values: dict[str, object] = {"status": to}
        if to == "published":
            values.update(published_by=actor.name, published_at=now)
        with self.sessions.begin() as session:
            result = session.execute(
                update(GovRefutation)
                .where(GovRefutation.id == refutation_id, GovRefutation.status.in_(frm))
                .values(**values)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                current = self.get(refutation_id)
                raise RecordConflict(
                    f"refutation {refutation_id} is {current.status}; cannot {to.rstrip('ed')} it",
                    message_zh=f"辟谣记录 {refutation_id} 当前为 {current.status}，无法执行",
                )
        view = self.get(refutation_id)
        self.audit.log(
            actor,
            f"refutation.{to}",
            "refutation",
            refutation_id,
            reason,
            content_id=view.content_id,
            **detail,
        )
        return view

    def publish(
        self, actor: Actor, refutation_id: int, reason: str = "published", **detail: Any
    ) -> RefutationView:
        return self._move(actor, refutation_id, "published", ("draft",), reason or "published", **detail)

    def withdraw(self, actor: Actor, refutation_id: int, reason: str) -> RefutationView:
        why = text_field(reason, "reason", max_chars=2000)
        return self._move(actor, refutation_id, "withdrawn", ("draft", "published"), why)

    def refutation_for(self, content_id: str) -> RefutationView | None:
        """The newest published refutation of this content ID, or None."""
        with self.sessions() as session:
            row = session.scalars(
                select(GovRefutation)
                .where(GovRefutation.content_id == content_id, GovRefutation.status == "published")
                .order_by(GovRefutation.id.desc())
                .limit(1)
            ).first()
            return _view(row) if row is not None else None
