"""``synthguard serve``: the HTTP service (API + console) under uvicorn.

The per-request access log is off by default: uvicorn formats and writes one line per request on
the event loop (~0.1 ms each), which the gateway's latency budget cannot spare, and the ledger
already keeps the record that matters (Art. 16). ``--access-log`` turns it back on for debugging.
"""

from __future__ import annotations

from typing import Annotated

import typer

from synthguard.cli.context import settings_of


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Bind address (env SYNTHGUARD_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (env SYNTHGUARD_PORT).")] = None,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log one line per HTTP request.")
    ] = False,
) -> None:
    """Start the HTTP API and console (default http://127.0.0.1:8000)."""
    import uvicorn

    from synthguard.gateway.app import create_app

    settings = settings_of(ctx)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
        access_log=access_log,
    )
