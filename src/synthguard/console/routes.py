"""The web console and public pages, mounted by ``synthguard.gateway.create_app``.

``/`` is the label desk (inspect/verify/label a file through ``/v1/labels``); ``/console/...`` the
staff console (login required, roles and CSRF in ``auth.py``); ``/public/...`` the pages for
everyone. Pages are server-rendered Jinja2 with HTMX (vendored ``static/htmx.min.js``, 2.0.11,
0BSD); nothing is loaded from a CDN.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from synthguard.console import pages, public
from synthguard.console.auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from synthguard.console.web import HERE, HtmlErrors, form_text, redirect, render, templates
from synthguard.errors import CsrfRejected, LoginLocked, LoginRequired

__all__ = ["HERE", "router", "templates"]

router = APIRouter(include_in_schema=False, route_class=HtmlErrors)


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> Response:
    return render(request, "index.html")


def _safe_next(value: str) -> str:
    # Only local console paths: an open redirect after login would help phishing.
    if value.startswith("/console") and "//" not in value and "\\" not in value:
        return value
    return "/console"


@router.get("/console/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/console") -> Response:
    return _login_page(request, next, failed=False)


def _login_page(
    request: Request, next_path: str, *, failed: bool, locked: LoginLocked | None = None
) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "console/login.html",
        status_code=429 if locked else 401 if failed else 200,
        login_csrf=token,
        next=_safe_next(next_path),
        failed=failed,
        locked=locked,
    )
    if locked is not None and isinstance(locked.retry_at, dt.datetime):
        wait = (locked.retry_at - dt.datetime.now(dt.UTC)).total_seconds()
        response.headers["Retry-After"] = str(max(1, int(wait + 0.999)))
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        path="/console/login",
        secure=request.app.state.settings.console_secure_cookies,
    )
    return response


@router.post("/console/login")
async def login(request: Request) -> Response:
    f = await form_text(request, "username", "password", "csrf", "next")
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), f["csrf"].encode()):
        raise CsrfRejected(
            "login form expired; reload the login page", message_zh="登录表单已失效，请刷新登录页"
        )
    staff = request.app.state.core.governance.staff
    # Any session cookie the browser brought is dropped, never reused: a fresh token is issued.
    staff.logout(request.cookies.get(SESSION_COOKIE))
    client = request.client.host if request.client else ""
    try:
        token, _session = staff.login(f["username"].strip(), f["password"], client=client)
    except LoginLocked as locked:
        return _login_page(request, f["next"], failed=True, locked=locked)
    except LoginRequired:
        return _login_page(request, f["next"], failed=True)
    response = redirect(_safe_next(f["next"]))
    settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        path="/",
        secure=settings.console_secure_cookies,
        max_age=int(settings.console_session_h * 3600),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console/login")
    return response


@router.post("/console/logout")
async def logout(request: Request) -> Response:
    from synthguard.console.auth import current_session

    session = current_session(request)
    f = await form_text(request, "csrf")
    if not hmac.compare_digest(f["csrf"].encode(), session.csrf.encode()):
        raise CsrfRejected("CSRF token mismatch", message_zh="CSRF 令牌不匹配")
    request.app.state.core.governance.staff.logout(request.cookies.get(SESSION_COOKIE))
    response = redirect("/console/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


router.include_router(pages.router)
router.include_router(public.router)
