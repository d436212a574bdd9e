"""The web console. For now: the label desk (inspect, verify and label a file from the browser).

Pages are server-rendered Jinja2 with a small script that calls the same ``/v1/labels`` API the CLI
mirrors; static assets ship inside the package, nothing comes from a CDN.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from synthguard import __version__

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    settings = request.app.state.settings
    return templates.TemplateResponse(
        request,
        "index.html",
        {"version": __version__, "provider_code": settings.provider_code},
    )
