"""``synthguard serve``: the HTTP service (API + console) under uvicorn.

The per-request access log is off by default: uvicorn formats and writes one line per request on
the event loop (~0.1 ms each), which the gateway's latency budget cannot spare, and the ledger
already keeps the record that matters (Art. 16). ``--access-log`` turns it back on for debugging.

uvicorn picks uvloop and httptools (the ``uvicorn[standard]`` extras, a project dependency) when
they are installed: both are C, and take the event loop and HTTP parsing off the gateway's
Python CPU budget. ``--loop asyncio --http h11`` runs the pure-Python stack (for an A/B).
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
    loop: Annotated[
        str, typer.Option(help="Event loop: auto (uvloop when installed), uvloop or asyncio.")
    ] = "auto",
    http: Annotated[
        str, typer.Option(help="HTTP parser: auto (httptools when installed), httptools or h11.")
    ] = "auto",
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
        loop=_choice(loop, ("auto", "uvloop", "asyncio"), "--loop"),
        http=_choice(http, ("auto", "httptools", "h11"), "--http"),
    )


def _choice(value: str, allowed: tuple[str, ...], option: str) -> str:
    if value not in allowed:
        raise typer.BadParameter(
            f"{option} must be one of {', '.join(allowed)} / 可选值：{'、'.join(allowed)}"
        )
    return value
