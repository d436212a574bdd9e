"""Rendering helpers shared by the console and public pages: templates, the common page context
(filing footer, session, navigation), HTML error pages, and form parsing."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.datastructures import UploadFile

from synthguard import __version__
from synthguard.console.auth import ACTIONS, NAV, PAGES
from synthguard.errors import InvalidField, LoginRequired, SynthguardError

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


def context(request: Request, **extra: Any) -> dict[str, Any]:
    core = request.app.state.core
    session = getattr(request.state, "staff", None)
    if session is None:
        from synthguard.console.auth import SESSION_COOKIE

        session = core.governance.staff.session(request.cookies.get(SESSION_COOKIE))
        request.state.staff = session
    nav = [n for n in NAV if session is not None and session.role in PAGES[n[0]]]
    can = {a for a, roles in ACTIONS.items() if session is not None and session.role in roles}
    return {
        "version": __version__,
        "provider_code": request.app.state.settings.provider_code,
        "filing": core.governance.filing.current(),
        "staff": session,
        "nav": nav,
        "can": can,
        "path": request.url.path,
        **extra,
    }


def render(request: Request, name: str, status_code: int = 200, **extra: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context(request, **extra), status_code=status_code)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


class HtmlErrors(APIRoute):
    """Domain errors on console and public pages become HTML pages with the error's status (and a
    redirect to the login page for a page opened without a session), never a JSON body or a 500."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                _check_length(request)
                return await handler(request)
            except SynthguardError as exc:
                if isinstance(exc, LoginRequired) and request.method == "GET":
                    return redirect("/console/login?next=" + quote(request.url.path, safe="/"))
                return render(request, "error.html", status_code=exc.http_status, error=exc)

        return run


FORM_OVERHEAD_BYTES = 256 * 1024


def _check_length(request: Request) -> None:
    """Refuse an oversized body from its Content-Length before the form parser spools it to disk."""
    from synthguard.errors import RequestTooLarge

    if request.method != "POST":
        return
    limit = request.app.state.settings.public_upload_max_bytes + FORM_OVERHEAD_BYTES
    try:
        length = int(request.headers.get("content-length", "0"))
    except ValueError:
        length = 0
    if length > limit:
        raise RequestTooLarge(
            f"request body is {length} bytes; the limit is {limit}",
            message_zh=f"请求体为 {length} 字节，超过上限 {limit} 字节",
        )


async def form_text(request: Request, *names: str) -> dict[str, str]:
    form = await request.form()
    out: dict[str, str] = {}
    for name in names:
        value = form.get(name, "")
        if not isinstance(value, str):
            raise InvalidField(f"{name} must be text", message_zh=f"{name} 须为文本")
        out[name] = value
    return out


async def form_list(request: Request, name: str) -> list[str]:
    form = await request.form()
    return [v for v in form.getlist(name) if isinstance(v, str)]


async def form_file(request: Request, name: str, limit: int) -> tuple[bytes, str] | None:
    """An uploaded file read up to ``limit`` bytes (one more byte tells it is too large)."""
    from synthguard.errors import RequestTooLarge

    form = await request.form()
    upload = form.get(name)
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise RequestTooLarge(f"upload exceeds {limit} bytes", message_zh=f"上传文件超过 {limit} 字节上限")
    from synthguard.gateway.deps import safe_name

    return data, safe_name(upload.filename)


def float_field(value: str, name: str) -> float | None:
    if not value.strip():
        return None
    try:
        return float(value)
    except ValueError:
        raise InvalidField(f"{name} must be a number", message_zh=f"{name} 须为数字") from None
