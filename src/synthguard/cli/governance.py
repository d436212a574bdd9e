"""``synthguard console`` (staff accounts) and ``synthguard gov`` (governance records from a shell).

Thin commands over ``Synthguard.governance``; each prints a table, or JSON Lines (``"schema": 1``)
with ``--json``. Actions taken here are recorded in the audit trail as the ``--actor`` given
(default: the OS user) with role ``cli``.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer
from pydantic import BaseModel

from synthguard.cli import output
from synthguard.cli.context import open_core
from synthguard.errors import InvalidField
from synthguard.governance import Actor, report_pdf

JsonOpt = Annotated[bool, typer.Option("--json", help="JSON Lines on stdout.")]
ActorOpt = Annotated[str, typer.Option("--actor", help="Who is acting (recorded in the audit trail).")]

console_app = typer.Typer(help="Console staff accounts.", no_args_is_help=True)
app = typer.Typer(
    help="Governance records: incidents, refutations, complaints, consent, filing, assessments.",
    no_args_is_help=True,
)


def _actor(name: str) -> Actor:
    return Actor(name or getpass.getuser(), "cli")


def _emit(rows: Sequence[BaseModel | dict[str, Any]], as_json: bool, title: str, columns: list[str]) -> None:
    dicts = [r.model_dump(mode="json") if isinstance(r, BaseModel) else r for r in rows]
    if as_json:
        for d in dicts:
            sys.stdout.write(json.dumps({"schema": 1, **d}, ensure_ascii=False, separators=(",", ":")) + "\n")
        return
    output.emit_table(title, columns, [[str(d.get(c, "")) for c in columns] for d in dicts])


@console_app.command("create-admin")
def create_admin(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="admin, reviewer or auditor.")] = "admin",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a console account (the first admin, or any role); the password is asked for."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password / 密码", hide_input=True, confirmation_prompt=True)
    core = open_core(ctx)
    user = core.governance.staff.create_user(_actor(""), username, password, role)
    _emit([{"username": user.username, "role": user.role}], as_json, "Staff account", ["username", "role"])


@console_app.command("users")
def console_users(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List console accounts."""
    users = open_core(ctx).governance.staff.users()
    rows = [{"username": u.username, "role": u.role, "disabled": u.disabled} for u in users]
    _emit(rows, as_json, "Staff accounts", ["username", "role", "disabled"])


# --- incidents ---------------------------------------------------------------------------------------

incidents_app = typer.Typer(help="Illegal-content incidents and reports (Art. 10).", no_args_is_help=True)
app.add_typer(incidents_app, name="incidents")


@incidents_app.command("list")
def incidents_list(ctx: typer.Context, status: str = "", as_json: JsonOpt = False) -> None:
    rows = open_core(ctx).governance.incidents.list(status=status or None)
    _emit(rows, as_json, "Incidents", ["id", "status", "source", "risk_code", "title", "content_ids"])


@incidents_app.command("open")
def incidents_open(
    ctx: typer.Context,
    title: str,
    summary: str = "",
    risk: str = "",
    content_ids: Annotated[str, typer.Option(help="Comma-separated content IDs.")] = "",
    users: Annotated[str, typer.Option(help="Comma-separated user IDs.")] = "",
    actor: ActorOpt = "",
    as_json: JsonOpt = False,
) -> None:
    view = open_core(ctx).governance.incidents.open(
        _actor(actor), title, summary=summary, risk_code=risk, content_ids=content_ids, user_ids=users
    )
    _emit([view], as_json, "Incident", ["id", "status", "title", "content_ids"])


@incidents_app.command("report")
def incidents_report(
    ctx: typer.Context,
    incident_id: int,
    out: Annotated[Path, typer.Option("--out", "-o", help="Write to this file (.pdf or .json).")],
) -> None:
    """Export the report to the authority with the ledger evidence of its content IDs."""
    if out.suffix.lower() not in (".pdf", ".json"):
        raise InvalidField("--out must end in .pdf or .json", message_zh="--out 须以 .pdf 或 .json 结尾")
    gov = open_core(ctx).governance
    report = gov.incident_report(incident_id)
    data = (
        report_pdf(report)
        if out.suffix.lower() == ".pdf"
        else json.dumps(report, ensure_ascii=False).encode()
    )
    from synthguard.labels.implicit import atomic_write

    def produce(f: BinaryIO) -> None:
        f.write(data)

    atomic_write(out, produce)
    gov.audit.log(_actor(""), f"incident.export_{out.suffix[1:].lower()}", "incident", incident_id, str(out))
    output.stderr.print(f"wrote {out}")


# --- refutations ---------------------------------------------------------------------------------

refute_app = typer.Typer(help="Rumour refutation (Art. 11).", no_args_is_help=True)
app.add_typer(refute_app, name="refute")


@refute_app.command("add")
def refute_add(
    ctx: typer.Context,
    content_ids: Annotated[list[str], typer.Argument(help="Content IDs found false.")],
    notice_zh: Annotated[str, typer.Option("--notice-zh", help="The refutation notice (Chinese).")],
    notice_en: Annotated[str, typer.Option("--notice-en")] = "",
    url: Annotated[str, typer.Option(help="Link, e.g. to a refutation platform item.")] = "",
    publish: Annotated[bool, typer.Option(help="Publish at once.")] = False,
    actor: ActorOpt = "",
    as_json: JsonOpt = False,
) -> None:
    gov = open_core(ctx).governance
    who = _actor(actor)
    views = gov.refutations.create(who, content_ids, notice_zh, notice_en=notice_en, source_url=url)
    if publish:
        views = [gov.refutations.publish(who, v.id) for v in views]
    _emit(views, as_json, "Refutations", ["id", "content_id", "status", "notice_zh"])


@refute_app.command("publish")
def refute_publish(
    ctx: typer.Context, refutation_id: int, actor: ActorOpt = "", as_json: JsonOpt = False
) -> None:
    view = open_core(ctx).governance.refutations.publish(_actor(actor), refutation_id)
    _emit([view], as_json, "Refutation", ["id", "content_id", "status"])


@refute_app.command("show")
def refute_show(ctx: typer.Context, content_id: str, as_json: JsonOpt = False) -> None:
    """The published refutation of a content ID (exit 1 if none)."""
    view = open_core(ctx).refutation_for(content_id)
    if view is None:
        output.error(f"no published refutation for {content_id} / 该内容无辟谣公告")
        raise typer.Exit(1)
    _emit([view], as_json, "Refutation", ["id", "content_id", "status", "notice_zh", "published_at"])


# --- complaints ----------------------------------------------------------------------------------

complaints_app = typer.Typer(help="Complaints with SLA timers (Art. 12).", no_args_is_help=True)
app.add_typer(complaints_app, name="complaints")


@complaints_app.command("list")
def complaints_list(
    ctx: typer.Context,
    overdue: Annotated[bool, typer.Option(help="Only those past the time limit.")] = False,
    status: str = "",
    as_json: JsonOpt = False,
) -> None:
    rows = open_core(ctx).governance.complaints.list(status=status or None, overdue=overdue)
    _emit(rows, as_json, "Complaints", ["id", "category", "status", "due_at", "overdue", "content_id"])


@complaints_app.command("answer")
def complaints_answer(
    ctx: typer.Context, complaint_id: int, feedback: str, actor: ActorOpt = "", as_json: JsonOpt = False
) -> None:
    view = open_core(ctx).governance.complaints.answer(_actor(actor), complaint_id, feedback)
    _emit([view], as_json, "Complaint", ["id", "status", "overdue", "feedback"])


# --- consent -------------------------------------------------------------------------------------

consent_app = typer.Typer(help="Biometric-editing consent records (Art. 14).", no_args_is_help=True)
app.add_typer(consent_app, name="consent")


@consent_app.command("add")
def consent_add(
    ctx: typer.Context,
    user: Annotated[str, typer.Option(help="Service user who obtained the consent.")],
    subject: Annotated[str, typer.Option(help="Name of the person whose face/voice is edited.")],
    evidence: Annotated[Path, typer.Option(help="Evidence file (PDF, image, audio, video).", exists=True)],
    use: Annotated[list[str], typer.Option("--use", help="face_swap, voice_clone, ... (repeat).")],
    method: str = "signed_form",
    expires: Annotated[str, typer.Option(help="Expiry date YYYY-MM-DD.")] = "",
    actor: ActorOpt = "",
    as_json: JsonOpt = False,
) -> None:
    gov = open_core(ctx).governance
    who = _actor(actor)
    digest = gov.evidence.put(who, evidence.read_bytes(), evidence.name)
    expires_at = None
    if expires:
        try:
            expires_at = dt.datetime.combine(
                dt.date.fromisoformat(expires), dt.time(23, 59, 59), tzinfo=dt.UTC
            )
        except ValueError:
            raise InvalidField(
                "--expires must be YYYY-MM-DD", message_zh="--expires 格式应为 YYYY-MM-DD"
            ) from None
    view = gov.consents.record(
        who,
        user_id=user,
        subject_name=subject,
        uses=use,
        method=method,
        evidence_sha256=digest,
        evidence_name=evidence.name,
        expires_at=expires_at,
    )
    _emit(
        [view], as_json, "Consent", ["consent_id", "user_id", "subject_name", "uses", "expires_at", "valid"]
    )


@consent_app.command("revoke")
def consent_revoke(
    ctx: typer.Context, consent_id: str, reason: str, actor: ActorOpt = "", as_json: JsonOpt = False
) -> None:
    view = open_core(ctx).governance.consents.revoke(_actor(actor), consent_id, reason)
    _emit([view], as_json, "Consent", ["consent_id", "valid", "revoked_at"])


@consent_app.command("check")
def consent_check(ctx: typer.Context, consent_id: str, user: str, use: str, as_json: JsonOpt = False) -> None:
    """Exit 0 if the consent is valid for this user and use, else 1."""
    ok = open_core(ctx).has_valid_consent(consent_id, user, use)
    _emit(
        [{"consent_id": consent_id, "user": user, "use": use, "valid": ok}],
        as_json,
        "Consent check",
        ["consent_id", "user", "use", "valid"],
    )
    if not ok:
        raise typer.Exit(1)


# --- filing and assessments ----------------------------------------------------------------------


@app.command("filing")
def filing_cmd(
    ctx: typer.Context,
    number: Annotated[str, typer.Option(help="Set the algorithm filing number (网信算备…号).")] = "",
    url: str = "",
    reason: str = "",
    actor: ActorOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Show the filing in force, or set it with --number (and --reason)."""
    gov = open_core(ctx).governance
    current = (
        gov.filing.set(_actor(actor), reason, algorithm_number=number, url=url)
        if number
        else gov.filing.current()
    )
    _emit([current], as_json, "Filing", ["algorithm_number", "url", "updated_by", "updated_at"])


@app.command("assessments")
def assessments_cmd(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """The review/assessment schedule: last completed, next due, overdue."""
    rows = open_core(ctx).governance.assessments.schedule()
    _emit(
        rows,
        as_json,
        "Assessment schedule",
        ["kind", "interval_days", "last_completed_at", "next_due_at", "overdue"],
    )


@app.command("audit")
def audit_cmd(ctx: typer.Context, limit: int = 50, as_json: JsonOpt = False) -> None:
    """The latest staff actions (who, what, why, ledger sequence)."""
    rows = [
        {
            "id": a.id,
            "at": a.at.isoformat() if a.at else "",
            "actor": a.actor,
            "role": a.role,
            "action": a.action,
            "target": f"{a.target_kind}:{a.target_id}",
            "reason": a.reason,
            "ledger_seq": a.ledger_seq,
        }
        for a in open_core(ctx).governance.audit.list(limit=limit)
    ]
    _emit(rows, as_json, "Audit trail", ["id", "at", "actor", "action", "target", "reason", "ledger_seq"])
