"""Console staff accounts and server-side sessions (roles admin / reviewer / auditor).

Passwords are hashed with scrypt (RFC 7914, ``cryptography``'s implementation, already a
dependency): N=2^15, r=8, p=1, 16-byte salt, stored with its parameters so they can be raised
later. Sessions live in the store: the cookie carries 32 random bytes, the store only their
SHA-256, so a leaked database does not hand out live sessions, and every replica sees a logout.
Each login creates a new session token (no session fixation: a token set before login is never
promoted), and each session has its own CSRF token. Starlette's ``SessionMiddleware`` was not used:
it keeps the session in a signed client-side cookie, which a logout or a disabled account cannot
revoke on other replicas; the issue asks for server-side sessions in the store.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from synthguard.errors import InvalidField, LoginRequired, RecordConflict
from synthguard.governance._common import ROLES, Actor, aware, choice, utcnow
from synthguard.governance.audit import AuditTrail
from synthguard.governance.throttle import LoginThrottle
from synthguard.store.models import ConsoleSession, ConsoleUser

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
MIN_PASSWORD_CHARS = 10
USERNAME_RE = re.compile(r"^[A-Za-z0-9._-]{2,64}$")


def hash_password(password: str, *, n: int = SCRYPT_N) -> str:
    salt = secrets.token_bytes(16)
    key = Scrypt(salt=salt, length=32, n=n, r=SCRYPT_R, p=SCRYPT_P).derive(password.encode("utf-8"))
    b64 = base64.b64encode
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(key).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        derived = Scrypt(salt=base64.b64decode(salt), length=32, n=int(n), r=int(r), p=int(p)).derive(
            password.encode("utf-8")
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(derived, base64.b64decode(key))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


@dataclass(frozen=True)
class StaffSession:
    username: str
    role: str
    csrf: str
    expires_at: dt.datetime

    @property
    def actor(self) -> Actor:
        return Actor(self.username, self.role)


class Staff:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        audit: AuditTrail,
        *,
        session_h: float,
        cost: int = 15,
        max_failures: int = 5,
        lockout_s: float = 900.0,
    ) -> None:
        self.sessions = sessions
        self.throttle = LoginThrottle(sessions, max_failures=max_failures, lockout_s=lockout_s)
        self.audit = audit
        self.session_ttl = dt.timedelta(hours=session_h)
        self.n = 2**cost
        # Verifying against this when the user does not exist keeps the timing of "no such user"
        # and "wrong password" alike.
        self._dummy_hash = ""

    def create_user(self, actor: Actor, username: str, password: str, role: str) -> ConsoleUser:
        if not USERNAME_RE.match(username or ""):
            raise InvalidField(
                "username: 2-64 letters, digits, dot, underscore or hyphen",
                message_zh="用户名须为 2-64 位字母、数字或 ._-",
            )
        role = choice(role, "role", ROLES)
        if len(password) < MIN_PASSWORD_CHARS:
            raise InvalidField(
                f"password needs at least {MIN_PASSWORD_CHARS} characters",
                message_zh=f"密码至少 {MIN_PASSWORD_CHARS} 个字符",
            )
        user = ConsoleUser(username=username, role=role, password_hash=hash_password(password, n=self.n))
        with self.sessions.begin() as session:
            if session.get(ConsoleUser, username) is not None:
                raise RecordConflict(f"user {username} already exists", message_zh=f"用户 {username} 已存在")
            session.add(user)
        self.audit.log(actor, "staff.create", "staff", username, f"role={role}", role_granted=role)
        return user

    def set_disabled(self, actor: Actor, username: str, disabled: bool, reason: str) -> None:
        with self.sessions.begin() as session:
            user = session.get(ConsoleUser, username)
            if user is None:
                raise InvalidField(f"no staff user {username}", message_zh=f"无此员工账号 {username}")
            user.disabled = disabled
            if disabled:
                session.execute(delete(ConsoleSession).where(ConsoleSession.username == username))
        self.audit.log(actor, "staff.disable" if disabled else "staff.enable", "staff", username, reason)

    def users(self) -> list[ConsoleUser]:
        with self.sessions() as session:
            return list(session.scalars(select(ConsoleUser).order_by(ConsoleUser.username)))

    def login(self, username: str, password: str, *, client: str = "") -> tuple[str, StaffSession]:
        """A fresh session token and its session; ``LoginRequired`` for any failure (same message),
        ``LoginLocked`` while the account or the client address is locked out (throttle.py)."""
        self.throttle.check(username, client)
        with self.sessions() as session:
            user = session.get(ConsoleUser, username[:64]) if username else None
        if not self._dummy_hash:
            self._dummy_hash = hash_password("dummy-password", n=self.n)
        ok = check_password(password, user.password_hash if user else self._dummy_hash)
        if user is None or not ok or user.disabled:
            self.throttle.failed(username, client)
            self.audit.log(
                Actor(username[:64] or "?", ""),
                "staff.login_failed",
                "staff",
                username[:64],
                "",
                client=client,
            )
            raise LoginRequired("wrong username or password", message_zh="用户名或密码错误")
        self.throttle.succeeded(username, client)
        token = secrets.token_urlsafe(32)
        now = utcnow()
        row = ConsoleSession(
            token_sha256=_token_hash(token),
            username=user.username,
            csrf=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + self.session_ttl,
        )
        with self.sessions.begin() as session:
            session.add(row)
            # Expired sessions are cleared on each login rather than by a background job.
            session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
        self.audit.log(Actor(user.username, user.role), "staff.login", "staff", user.username, "")
        return token, StaffSession(user.username, user.role, row.csrf, row.expires_at)

    def session(self, token: str | None) -> StaffSession | None:
        if not token or len(token) > 100:
            return None
        with self.sessions() as session:
            row = session.get(ConsoleSession, _token_hash(token))
            if row is None:
                return None
            user = session.get(ConsoleUser, row.username)
            expires = aware(row.expires_at)
            if user is None or user.disabled or expires is None or expires <= utcnow():
                return None
            return StaffSession(user.username, user.role, row.csrf, expires)

    def logout(self, token: str | None) -> None:
        if not token:
            return
        with self.sessions.begin() as session:
            row = session.get(ConsoleSession, _token_hash(token))
            if row is not None:
                username = row.username
                session.delete(row)
            else:
                return
        self.audit.log(Actor(username, ""), "staff.logout", "staff", username, "")
