"""``synthguard apikeys``: the gateway's API keys (``synthguard keys`` stays the label signing keys)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from synthguard.cli import output
from synthguard.cli.context import open_core

app = typer.Typer(help="Gateway API keys (sk-...): create, list, revoke.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON on stdout.")]


@app.command("create")
def create(
    ctx: typer.Context,
    user: Annotated[str, typer.Option("--user", help="The user the key belongs to.")],
    name: Annotated[str, typer.Option(help="A label for the key.")] = "",
    admin: Annotated[bool, typer.Option("--admin", help="An admin key (opens admin endpoints).")] = False,
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help="Repeat to narrow: chat, completions, images, audio, publish, admin."),
    ] = None,
    rate: Annotated[
        int | None, typer.Option(help="Requests per minute; 0: unlimited (default from settings).")
    ] = None,
    quota: Annotated[int | None, typer.Option(help="Total requests; 0: unlimited.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Issue a key and print it ONCE; only its hash is stored."""
    plain, info = open_core(ctx).apikeys.create(
        user,
        name=name,
        role="admin" if admin else "user",
        scopes=scope or None,
        rate_per_min=rate,
        quota=quota,
    )
    if as_json:
        typer.echo(json.dumps({"schema": 1, "api_key": plain, "key": info.to_dict()}, ensure_ascii=False))
        return
    typer.echo(plain)
    typer.echo("store this key now: it is not shown again / 请立即保存此密钥，之后不再显示", err=True)


@app.command("list")
def list_keys(
    ctx: typer.Context,
    user: Annotated[str, typer.Option(help="Only this user's keys.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Keys by ID (never the secret), with scopes, limits and use."""
    keys = open_core(ctx).apikeys.list_keys(user=user)
    if as_json:
        typer.echo(json.dumps({"schema": 1, "keys": [k.to_dict() for k in keys]}, ensure_ascii=False))
        return
    output.emit_table(
        "API keys / API 密钥",
        ["key id", "user", "role", "scopes", "rate/min", "quota", "used", "revoked"],
        [
            [
                k.key_id,
                k.user_name,
                k.role,
                ",".join(k.scopes),
                str(k.rate_per_min),
                str(k.quota),
                str(k.used),
                k.revoked_at.isoformat() if k.revoked_at else "",
            ]
            for k in keys
        ],
    )


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="Key ID (or the key itself).")],
    as_json: JsonOpt = False,
) -> None:
    """Revoke a key at once (every replica sees it on the next request)."""
    info = open_core(ctx).apikeys.revoke(key_id)
    typer.echo(json.dumps({"schema": 1, "key": info.to_dict()}) if as_json else f"revoked {info.key_id}")
