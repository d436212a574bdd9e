"""``synthguard users``: real-name users and their statuses (Deep Synthesis Provisions Art. 8-10)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer

from synthguard.cli import output
from synthguard.cli.context import open_core
from synthguard.errors import InvalidIdentity
from synthguard.identity import UserView

app = typer.Typer(
    help="Real-name users: add (verified), list, show, warn, restrict, suspend, ban, unban.",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="JSON on stdout.")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept in the user's history).")]
DaysOpt = Annotated[
    float | None, typer.Option("--days", help="Lapses after this many days; none: until lifted.")
]


def _emit_user(view: UserView, as_json: bool, extra: dict[str, object] | None = None) -> None:
    data = {**view.to_dict(), **(extra or {})}
    if as_json:
        typer.echo(json.dumps({"schema": 1, "user": data}, ensure_ascii=False))
        return
    output.emit_table(f"User / 用户 {view.name}", ["field", "value"], [[k, str(v)] for k, v in data.items()])


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Account name.")],
    id_number: Annotated[
        str, typer.Option("--id-number", help="Resident ID / permit number (checked, sealed).")
    ] = "",
    mobile: Annotated[str, typer.Option("--mobile", help="Mainland mobile number.")] = "",
    real_name: Annotated[
        str, typer.Option("--real-name", help="Legal name, for 2-/3-element verifiers.")
    ] = "",
    org: Annotated[str, typer.Option("--org", help="Organisation the user belongs to.")] = "",
    accept_agreement: Annotated[
        bool,
        typer.Option(
            "--accept-agreement", help="Record acceptance of the agreement + labeling notice (Art. 8)."
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add a user; with --id-number the configured verifier runs (offline: format + check digit)."""
    core = open_core(ctx)
    view, verdict = core.users.add_user(
        name, id_number=id_number, mobile=mobile, real_name=real_name, org=org
    )
    extra: dict[str, object] = {}
    if verdict is not None:
        extra["verdict"] = {
            "result": verdict.result,
            "level": verdict.level,
            "provider": verdict.provider,
            "reason": verdict.reason,
        }
    if accept_agreement:
        extra["agreement_sha256"] = core.users.accept_agreement(name)
    _emit_user(view, as_json, extra)


@app.command("add-org")
def add_org(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Organisation name.")],
    uscc: Annotated[str, typer.Option("--uscc", help="Unified social credit code (GB 32100, checked).")],
    as_json: JsonOpt = False,
) -> None:
    """Add an organisation (enterprise user); its members are added with --org."""
    org_id = open_core(ctx).users.add_org(name, uscc)
    typer.echo(
        json.dumps({"schema": 1, "org": {"id": org_id, "name": name}}) if as_json else f"org {org_id}: {name}"
    )


@app.command("list")
def list_users(
    ctx: typer.Context,
    status: Annotated[str, typer.Option(help="Only users with this status.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Every user, ID numbers masked."""
    views = open_core(ctx).users.list_users(status=status)
    if as_json:
        typer.echo(json.dumps({"schema": 1, "users": [v.to_dict() for v in views]}, ensure_ascii=False))
        return
    output.emit_table(
        "Users / 用户",
        ["name", "status", "id number", "mobile", "verified by", "reason"],
        [[v.name, v.status, v.id_number, v.mobile, v.verified_by, v.status_reason] for v in views],
    )


@app.command("show")
def show(ctx: typer.Context, name: str, as_json: JsonOpt = False) -> None:
    """One user, with the status history and agreement acceptances."""
    users = open_core(ctx).users
    _emit_user(
        users.show(name), as_json, {"history": users.history(name), "agreements": users.accepted(name)}
    )


def _set(ctx: typer.Context, name: str, status: str, reason: str, days: float | None, as_json: bool) -> None:
    if days is not None and days <= 0:
        raise InvalidIdentity("--days must be > 0", message_zh="--days 须大于 0")
    until = dt.datetime.now(dt.UTC) + dt.timedelta(days=days) if days else None
    _emit_user(open_core(ctx).users.set_status(name, status, reason=reason, until=until), as_json)


@app.command("warn")
def warn(
    ctx: typer.Context, name: str, reason: ReasonOpt, days: DaysOpt = None, as_json: JsonOpt = False
) -> None:
    """Warn a user (Art. 10)."""
    _set(ctx, name, "warned", reason, days, as_json)


@app.command("restrict")
def restrict(
    ctx: typer.Context, name: str, reason: ReasonOpt, days: DaysOpt = None, as_json: JsonOpt = False
) -> None:
    """Restrict a user to generation only: no publishing, no face/voice editing."""
    _set(ctx, name, "restricted", reason, days, as_json)


@app.command("suspend")
def suspend(
    ctx: typer.Context, name: str, reason: ReasonOpt, days: DaysOpt = None, as_json: JsonOpt = False
) -> None:
    """Suspend a user: every request is refused until the suspension lapses or is lifted."""
    _set(ctx, name, "suspended", reason, days, as_json)


@app.command("ban")
def ban(ctx: typer.Context, name: str, reason: ReasonOpt, as_json: JsonOpt = False) -> None:
    """Close a user's account."""
    _set(ctx, name, "banned", reason, None, as_json)


@app.command("unban")
def unban(ctx: typer.Context, name: str, reason: ReasonOpt, as_json: JsonOpt = False) -> None:
    """Lift a warning, restriction, suspension or ban (back to verified, or unverified if never verified)."""
    _emit_user(open_core(ctx).users.reinstate(name, reason=reason), as_json)


@app.command("accept")
def accept(ctx: typer.Context, name: str, as_json: JsonOpt = False) -> None:
    """Record that the user accepted the service agreement and the labeling-method notice (Art. 8)."""
    digest = open_core(ctx).users.accept_agreement(name)
    typer.echo(json.dumps({"schema": 1, "user": name, "agreement_sha256": digest}) if as_json else digest)
