"""``synthguard keys``: the public keys that sign and verify ReservedCode1/2."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from synthguard.cli import output
from synthguard.cli.context import open_core
from synthguard.labels.sign import key_id_for, unb64url

app = typer.Typer(help="Signing keys for ReservedCode1/ReservedCode2.", no_args_is_help=True)


@app.command("list")
def list_keys(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False
) -> None:
    """Every key this store trusts (our own and other parties' public keys)."""
    core = open_core(ctx)
    rows: list[dict[str, str | bool]] = [
        {
            "key_id": k.key_id,
            "algorithm": k.algorithm,
            "role": k.role,
            "owner_code": k.owner_code,
            "public_key": k.public_key,
            "active": k.key_id == core.signer.key_id,
        }
        for k in core.list_keys()
    ]
    if as_json:
        typer.echo(json.dumps({"schema": 1, "keys": rows}, ensure_ascii=False))
        return
    output.emit_table(
        "Signing keys / 签名密钥",
        ["key id", "algorithm", "role", "owner", "public key (base64url)", "active"],
        [
            [str(r[k]) for k in ("key_id", "algorithm", "role", "owner_code", "public_key", "active")]
            for r in rows
        ],
    )


@app.command("trust")
def trust(
    ctx: typer.Context,
    public_key: Annotated[str, typer.Argument(help="A producer's Ed25519 public key, base64url.")],
    owner: Annotated[str, typer.Option(help="Whose key it is (provider code).")] = "",
) -> None:
    """Trust another producer's public key so `verify` can check its signatures."""
    from synthguard.errors import SigningKeyError

    try:
        raw = unb64url(public_key)
    except ValueError as exc:
        raise SigningKeyError(f"not base64url: {exc}") from None
    if len(raw) != 32:
        raise SigningKeyError(f"an Ed25519 public key has 32 bytes, this one has {len(raw)}")
    key_id = key_id_for(raw)
    open_core(ctx).add_public_key(key_id, raw, role="external", owner_code=owner)
    typer.echo(key_id)
