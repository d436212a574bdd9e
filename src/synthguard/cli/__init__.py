"""The ``synthguard`` command: a Typer app whose commands each make one call into ``Synthguard``.

The root callback builds ``Settings`` once; ``main`` is the single error boundary: a
``SynthguardError`` prints its English and Chinese message to stderr and exits 1 (usage errors stay 2).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from synthguard.cli import (
    apikeys,
    detect,
    explicit,
    governance,
    keys,
    labels,
    ledger,
    output,
    review,
    serve,
    users,
    watermark,
)
from synthguard.cli.context import CliState
from synthguard.config import Settings
from synthguard.errors import SynthguardError

app = typer.Typer(
    name="synthguard",
    help="GB 45438 labels, watermarks, review and evidence for deep synthesis services.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None, typer.Option(help="Store, keys and uploads (env SYNTHGUARD_DATA_DIR).")
    ] = None,
) -> None:
    overrides = {"data_dir": data_dir} if data_dir is not None else {}
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        output.error(f"invalid settings / 配置无效: {problems}")
        raise typer.Exit(2) from None
    ctx.obj = CliState(settings=settings)


app.command("label")(labels.label)
app.command("propagate")(labels.propagate)
app.command("inspect")(labels.inspect)
app.command("verify")(labels.verify)
app.command("detect")(detect.detect)
app.command("serve")(serve.serve)
app.add_typer(keys.app, name="keys")
app.add_typer(users.app, name="users")
app.add_typer(apikeys.app, name="apikeys")
app.add_typer(ledger.app, name="ledger")
app.add_typer(explicit.app, name="explicit")
app.add_typer(review.app, name="review")
app.add_typer(review.library_app, name="library")
app.add_typer(governance.console_app, name="console")
app.add_typer(governance.app, name="gov")
app.add_typer(watermark.app, name="watermark")


def main() -> None:
    try:
        app(standalone_mode=True)
    except SynthguardError as exc:
        output.error(f"{exc.message}\n       {exc.message_zh}")
        sys.exit(1)
