"""Illegal-content incidents and the report to the authority (Deep Synthesis Provisions Art. 10, 21).

An incident records what was found, when, which content IDs and users, the risk category
(TC260-003 Annex A code), and every measure taken with a timestamp. ``report`` assembles the
record regulation.md section 9.5 lists (provider, USCC-derived provider code, filing numbers,
content identifiers, measures, person responsible) plus the ledger inclusion proofs of each content
ID when the evidence ledger has them; ``report_pdf`` renders the same dict with reportlab, whose
built-in Adobe CID font STSong-Light prints Chinese without shipping a font file.
"""

from __future__ import annotations

import builtins
import datetime as dt
import io
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from synthguard.errors import NotFound, RecordConflict
from synthguard.governance._common import Actor, aware, choice, id_list, text_field, utcnow
from synthguard.governance.audit import AuditTrail
from synthguard.store.models import GovIncident

SOURCES = ("review", "complaint", "staff", "monitoring")
STATUSES = ("open", "reported", "closed")
EvidenceFor = Callable[[str], dict[str, Any] | None]


class IncidentView(BaseModel):
    id: int
    title: str
    summary: str
    source: str
    risk_code: str
    content_ids: list[str]
    user_ids: list[str]
    measures: list[dict[str, str]]
    status: str
    queue_item_id: int | None
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    reported_at: dt.datetime | None


def _view(row: GovIncident) -> IncidentView:
    return IncidentView(
        id=row.id,
        title=row.title,
        summary=row.summary,
        source=row.source,
        risk_code=row.risk_code,
        content_ids=list(row.content_ids or []),
        user_ids=list(row.user_ids or []),
        measures=list(row.measures or []),
        status=row.status,
        queue_item_id=row.queue_item_id,
        created_by=row.created_by,
        created_at=aware(row.created_at) or utcnow(),
        updated_at=aware(row.updated_at) or utcnow(),
        reported_at=aware(row.reported_at),
    )


class Incidents:
    def __init__(self, sessions: sessionmaker[Session], audit: AuditTrail) -> None:
        self.sessions = sessions
        self.audit = audit

    def open(
        self,
        actor: Actor,
        title: str,
        *,
        summary: str = "",
        source: str = "staff",
        risk_code: str = "",
        content_ids: str | list[str] | None = None,
        user_ids: str | list[str] | None = None,
        queue_item_id: int | None = None,
        measure: str = "",
    ) -> IncidentView:
        now = utcnow()
        row = GovIncident(
            title=text_field(title, "title", max_chars=300, multiline=False),
            summary=text_field(summary, "summary", max_chars=20_000, required=False),
            source=choice(source, "source", SOURCES),
            risk_code=text_field(risk_code, "risk_code", max_chars=64, required=False, multiline=False),
            content_ids=id_list(content_ids, "content_ids"),
            user_ids=id_list(user_ids, "user_ids"),
            measures=[{"at": now.isoformat(), "by": actor.name, "what": measure}] if measure else [],
            status="open",
            queue_item_id=queue_item_id,
            created_by=actor.name,
            created_at=now,
            updated_at=now,
        )
        with self.sessions.begin() as session:
            session.add(row)
            session.flush()
            incident_id = row.id
        self.audit.log(
            actor,
            "incident.open",
            "incident",
            incident_id,
            row.title,
            content_id=row.content_ids[0] if row.content_ids else None,
            source=row.source,
            content_ids=row.content_ids,
            risk_code=row.risk_code,
        )
        return self.get(incident_id)

    def get(self, incident_id: int) -> IncidentView:
        with self.sessions() as session:
            row = session.get(GovIncident, incident_id)
            if row is None:
                raise NotFound(
                    f"incident {incident_id} does not exist", message_zh=f"事件 {incident_id} 不存在"
                )
            return _view(row)

    def list(self, *, status: str | None = None, limit: int = 200) -> list[IncidentView]:
        query = select(GovIncident).order_by(GovIncident.id.desc()).limit(max(1, min(limit, 5000)))
        if status:
            query = query.where(GovIncident.status == choice(status, "status", STATUSES))
        with self.sessions() as session:
            return [_view(r) for r in session.scalars(query)]

    def add_measure(self, actor: Actor, incident_id: int, what: str) -> IncidentView:
        text = text_field(what, "measure", max_chars=2000)
        now = utcnow()
        with self.sessions.begin() as session:
            row = session.get(GovIncident, incident_id, with_for_update=True)
            if row is None:
                raise NotFound(
                    f"incident {incident_id} does not exist", message_zh=f"事件 {incident_id} 不存在"
                )
            row.measures = [*(row.measures or []), {"at": now.isoformat(), "by": actor.name, "what": text}]
            row.updated_at = now
        self.audit.log(actor, "incident.measure", "incident", incident_id, text)
        return self.get(incident_id)

    def set_status(
        self, actor: Actor, incident_id: int, status: str, reason: str, **detail: Any
    ) -> IncidentView:
        status = choice(status, "status", STATUSES)
        why = text_field(reason, "reason", max_chars=2000)
        now = utcnow()
        values: dict[str, Any] = {"status": status, "updated_at": now}
        if status == "reported":
            values["reported_at"] = now
        with self.sessions.begin() as session:
            result = session.execute(
                update(GovIncident)
                .where(GovIncident.id == incident_id, GovIncident.status != status)
                .values(**values)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                self.get(incident_id)  # NotFound if it does not exist
                raise RecordConflict(
                    f"incident {incident_id} is already {status}",
                    message_zh=f"事件 {incident_id} 已是 {status}",
                )
        self.audit.log(actor, f"incident.{status}", "incident", incident_id, why, **detail)
        return self.get(incident_id)

    def report(
        self,
        incident_id: int,
        *,
        provider: dict[str, str],
        actions: builtins.list[dict[str, Any]],
        evidence_for: EvidenceFor | None = None,
    ) -> dict[str, Any]:
        """The report dict (schema 1): JSON as is, or rendered by ``report_pdf``."""
        incident = self.get(incident_id)
        evidence: dict[str, Any] = {}
        for content_id in incident.content_ids:
            found = evidence_for(content_id) if evidence_for else None
            evidence[content_id] = found
        return {
            "schema": 1,
            "kind": "synthguard.incident_report",
            "generated_at": utcnow().isoformat(),
            "legal_basis": "Deep Synthesis Provisions Art. 10, 11, 21",
            "provider": provider,
            "incident": incident.model_dump(mode="json"),
            "actions": actions,
            "ledger_evidence": evidence,
        }


def report_pdf(report: dict[str, Any]) -> bytes:
    """A4 PDF of an incident report, bilingual headings, Chinese text in STSong-Light."""
    from xml.sax.saxutils import escape

    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    body = ParagraphStyle("body", fontName="STSong-Light", fontSize=9.5, leading=13, wordWrap="CJK")
    head = ParagraphStyle("head", parent=body, fontSize=14, leading=19, spaceAfter=6)
    sub = ParagraphStyle("sub", parent=body, fontSize=11, leading=15, spaceBefore=8, spaceAfter=3)

    def p(text: object, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)

    inc = report["incident"]
    prov = report["provider"]
    story: list[Any] = [
        p(f"违法和不良信息处置报告 Incident report #{inc['id']}", head),
        p(f"生成时间 Generated: {report['generated_at']}    依据 Basis: {report['legal_basis']}"),
        p("服务提供者 Provider", sub),
    ]
    rows = [[p(k), p(v)] for k, v in prov.items()]
    rows += [
        [p(k), p(inc[k])] for k in ("title", "status", "source", "risk_code", "created_by", "created_at")
    ]
    rows += [[p("content_ids"), p(", ".join(inc["content_ids"]) or "-")]]
    rows += [[p("user_ids"), p(", ".join(inc["user_ids"]) or "-")]]
    table = Table(rows, colWidths=[40 * mm, 130 * mm])
    table.setStyle(
        TableStyle([("GRID", (0, 0), (-1, -1), 0.3, "#999999"), ("VALIGN", (0, 0), (-1, -1), "TOP")])
    )
    story += [p("事件 Incident", sub), table, p("经过 Summary", sub), p(inc["summary"] or "-")]
    story.append(p("处置措施 Measures taken", sub))
    for m in inc["measures"] or [{"at": "", "by": "", "what": "-"}]:
        story.append(p(f"{m['at']}  {m['by']}: {m['what']}"))
    story.append(p("操作记录 Staff actions", sub))
    for a in report["actions"]:
        seq = f" (ledger #{a['ledger_seq']})" if a.get("ledger_seq") is not None else ""
        story.append(p(f"{a['at']}  {a['actor']} [{a['role']}] {a['action']}: {a['reason']}{seq}"))
    story.append(p("账本证据 Ledger evidence", sub))
    for content_id, ev in report["ledger_evidence"].items():
        if not ev:
            story.append(p(f"{content_id}: 账本中无记录 no ledger entry"))
            continue
        cp = ev.get("checkpoint", {})
        story.append(
            p(
                f"{content_id}: {len(ev.get('entries', []))} entries, "
                f"tree size {cp.get('size')}, root {cp.get('root')}"
            )
        )
    story.append(Spacer(1, 6 * mm))
    story.append(
        p("完整 JSON 报告含默克尔包含证明，可离线校验。 The JSON report carries the Merkle inclusion proofs.")
    )
    buf = io.BytesIO()
    SimpleDocTemplate(
        buf, pagesize=A4, title=f"Incident report {inc['id']}", author=prov.get("provider_code", "")
    ).build(story)
    return buf.getvalue()
