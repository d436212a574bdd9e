"""Console access control: who may open which page and take which action, sessions and CSRF.

Roles (research: provenance.md 5.2): a *reviewer* works the queue, sanctions users, records
incidents, refutations, complaints and consent; an *auditor* reads everything and exports reports
but changes nothing; an *admin* does all of that plus staff accounts, filing and assessments.
Anonymous visitors reach only the public pages. Every state-changing console request carries the
session's CSRF token (hidden form field or ``X-CSRF-Token`` header); the session cookie is
HttpOnly and SameSite=Strict as a second line. This is the synchronizer-token pattern over the
server-side session; the CSRF packages on PyPI (``starlette-csrf``, ``fastapi-csrf-protect``)
implement double-submit cookies, which add nothing when the token already lives in the store.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Request

from synthguard.errors import CsrfRejected, LoginRequired, PermissionDenied
from synthguard.governance import StaffSession

SESSION_COOKIE = "sg_session"
LOGIN_CSRF_COOKIE = "sg_login_csrf"
ALL = frozenset({"admin", "reviewer", "auditor"})
STAFF = frozenset({"admin", "reviewer"})
ADMIN = frozenset({"admin"})

PAGES: dict[str, frozenset[str]] = {
    "dashboard": ALL,
    "queue": STAFF,
    "users": ALL,
    "incidents": ALL,
    "refutations": ALL,
    "complaints": ALL,
    "consent": ALL,
    "filing": ALL,
    "assessments": ALL,
    "audit": frozenset({"admin", "auditor"}),
    "staff": ADMIN,
    "approvals": ALL,
}
ACTIONS: dict[str, frozenset[str]] = {
    "queue.act": STAFF,
    "users.sanction": STAFF,
    "incidents.write": STAFF,
    "incidents.export": ALL,
    "refutations.write": STAFF,
    "complaints.answer": STAFF,
    "consent.write": STAFF,
    "evidence.upload": STAFF,
    "filing.write": ADMIN,
    "assessments.write": ADMIN,
    "staff.write": ADMIN,
    # Four-eyes: the second person must be allowed the action itself (all four kinds are STAFF's).
    "approvals.decide": STAFF,
}
NAV = (
    ("dashboard", "/console", "总览", "Dashboard"),
    ("queue", "/console/queue", "审核队列", "Review queue"),
    ("users", "/console/users", "用户", "Users"),
    ("incidents", "/console/incidents", "事件与报告", "Incidents"),
    ("refutations", "/console/refutations", "辟谣", "Refutation"),
    ("complaints", "/console/complaints", "投诉", "Complaints"),
    ("consent", "/console/consent", "生物特征同意", "Consent"),
    ("filing", "/console/filing", "备案", "Filing"),
    ("assessments", "/console/assessments", "评估", "Assessments"),
    ("audit", "/console/audit", "操作日志", "Audit log"),
    ("staff", "/console/staff", "员工账号", "Staff"),
    ("approvals", "/console/approvals", "待审批", "Approvals"),
)


def current_session(request: Request) -> StaffSession:
    session: StaffSession | None = getattr(request.state, "staff", None)
    if session is None:
        session = request.app.state.core.governance.staff.session(request.cookies.get(SESSION_COOKIE))
        if session is None:
            raise LoginRequired("log in to the console first", message_zh="请先登录控制台")
        request.state.staff = session
    return session


def require_page(page: str) -> Any:
    def check(request: Request) -> StaffSession:
        session = current_session(request)
        if session.role not in PAGES[page]:
            raise PermissionDenied(
                f"role {session.role} may not open the {page} page",
                message_zh=f"角色 {session.role} 无权访问此页面",
            )
        return session

    return Depends(check)


def allowed(session: StaffSession, action: str) -> bool:
    return session.role in ACTIONS[action]


async def require_action(request: Request, action: str) -> StaffSession:
    """For POST handlers: a live session, a role allowed to ``action``, and the right CSRF token."""
    session = current_session(request)
    sent = request.headers.get("x-csrf-token", "")
    if not sent:
        form = await request.form()
        value = form.get("csrf", "")
        sent = value if isinstance(value, str) else ""
    if not sent or not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        raise CsrfRejected(
            "the form's CSRF token is missing or belongs to another session; reload the page",
            message_zh="表单的 CSRF 令牌缺失或不属于当前会话，请刷新页面",
        )
    if not allowed(session, action):
        raise PermissionDenied(
            f"role {session.role} may not do {action}", message_zh=f"角色 {session.role} 无权执行 {action}"
        )
    return session


Staff = Annotated[StaffSession, Depends(current_session)]
