"""Rendering helpers shared by the console and public pages: templates, the common page context
(filing footer, session, navigation), the page language, HTML error pages, and form parsing.

Language: every label exists in Chinese and English; a page is rendered in one of them. The choice
is ``?lang=zh|en`` (remembered in the ``sg_lang`` cookie), else that cookie, else the browser's
``Accept-Language``, else Chinese (the service's users and regulator are in China). Templates mark
each label ``<span class="zh">…</span><span class="en">…</span>`` (or call ``t(zh, en)`` inside
attributes); :func:`single_language` drops the other language's elements from the rendered page,
so the HTML a reader, a screen reader or a copy-paste sees holds one language only. User content is
escaped by Jinja, so it can never contain these markers."""

from __future__ import annotations

import re
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


LANGS = ("zh", "en")
LANG_COOKIE = "sg_lang"


def language(request: Request) -> str:
    """The page language (see the module docstring)."""
    asked = request.query_params.get("lang", "")
    if asked in LANGS:
        return asked
    cookie = request.cookies.get(LANG_COOKIE, "")
    if cookie in LANGS:
        return cookie
    best, best_q = "zh", -1.0
    for part in request.headers.get("accept-language", "").split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-", 1)[0]
        if primary not in LANGS:
            continue
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if q > best_q:
            best, best_q = primary, q
    return best


_MARKED = re.compile(r'<(span|p|b|div|option|small) class="(zh|en)"[^>]*>')


def single_language(html: str, lang: str) -> str:
    """Remove every element marked with the other language (nesting of the same tag respected)."""
    drop = "en" if lang == "zh" else "zh"
    out: list[str] = []
    pos = 0
    for m in _MARKED.finditer(html):
        if m.start() < pos or m.group(2) != drop:
            continue
        tag = m.group(1)
        depth, scan = 1, m.end()
        opener, closer = re.compile(rf"<{tag}[\s>]"), f"</{tag}>"
        while depth and scan < len(html):
            close = html.find(closer, scan)
            if close < 0:
                scan = len(html)
                break
            nested = opener.search(html, scan, close)
            if nested:
                depth, scan = depth + 1, nested.end()
            else:
                depth, scan = depth - 1, close + len(closer)
        start = m.start()
        if drop == "en" and start > pos and html[start - 1] == " ":
            start -= 1  # the space between the two languages goes with the dropped one
        out.append(html[pos:start])
        pos = scan
        if drop == "zh" and html.startswith(" ", pos):
            pos += 1
    out.append(html[pos:])
    return "".join(out)


def context(request: Request, **extra: Any) -> dict[str, Any]:
    core = request.app.state.core
    session = getattr(request.state, "staff", None)
    if session is None:
        from synthguard.console.auth import SESSION_COOKIE

        session = core.governance.staff.session(request.cookies.get(SESSION_COOKIE))
        request.state.staff = session
    nav = [n for n in NAV if session is not None and session.role in PAGES[n[0]]]
    can = {a for a, roles in ACTIONS.items() if session is not None and session.role in roles}
    lang = language(request)

    def t(zh: str, en: str) -> str:
        return zh if lang == "zh" else en

    return {
        "lang": lang,
        "t": t,
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
    ctx = context(request, **extra)
    html = templates.get_template(name).render({"request": request, **ctx})
    response = HTMLResponse(single_language(html, ctx["lang"]), status_code=status_code)
    response.headers["Content-Language"] = "zh-CN" if ctx["lang"] == "zh" else "en"
    response.headers["Vary"] = "Accept-Language, Cookie"
    if request.query_params.get("lang") in LANGS:
        response.set_cookie(LANG_COOKIE, ctx["lang"], max_age=365 * 86400, samesite="lax", path="/")
    return response


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
