"""Failed console logins, counted per account and per client address, in the store.

Password guessing against the console is slowed by a lockout: after ``max_failures`` failed logins
for one account within ``lockout`` (or ``4 x max_failures`` from one client address, which covers
one client trying many accounts), further attempts are refused until the lockout ends, before any
password is checked. The counters are rows of ``console_login_throttle`` bumped with single
``UPDATE ... SET failures = failures + 1`` statements, so every console replica counts the same
attempts and sees the same lockout. A successful login clears the account's and the address's
counters. The lockout is time-limited (15 minutes by default) because a permanent one would let
anyone lock staff out of the console by guessing on purpose.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from synthguard.errors import LoginLocked
from synthguard.governance._common import aware, utcnow
from synthguard.store.models import ConsoleLoginThrottle

IP_FACTOR = 4


def scopes(username: str, client: str) -> list[tuple[str, int]]:
    """The counters a login touches and the failure factor of each (account names are
    case-folded so ``Admin`` and ``admin`` share one counter)."""
    out = [(f"user:{username.strip().lower()[:64]}", 1)]
    if client:
        out.append((f"ip:{client[:128]}", IP_FACTOR))
    return out


class LoginThrottle:
    def __init__(self, sessions: sessionmaker[Session], *, max_failures: int, lockout_s: float) -> None:
        self.sessions = sessions
        self.max_failures = max_failures
        self.lockout = dt.timedelta(seconds=lockout_s)

    def check(self, username: str, client: str, *, now: dt.datetime | None = None) -> None:
        """Raise ``LoginLocked`` (with the time the next attempt is allowed) while locked out."""
        at = now or utcnow()
        until: dt.datetime | None = None
        with self.sessions() as session:
            for scope, _ in scopes(username, client):
                row = session.get(ConsoleLoginThrottle, scope)
                locked = aware(row.locked_until) if row is not None else None
                if locked is not None and locked > at:
                    until = max(until, locked) if until else locked
        if until is not None:
            seconds = max(1, int((until - at).total_seconds() + 0.999))
            stamp = until.strftime("%Y-%m-%d %H:%M:%S UTC")
            raise LoginLocked(
                f"too many failed logins; try again after {stamp} (in {seconds} s)",
                message_zh=f"登录失败次数过多，请于 {stamp}（{seconds} 秒后）再试",
                retry_at=until,
            )

    def failed(self, username: str, client: str, *, now: dt.datetime | None = None) -> None:
        at = now or utcnow()
        window_start = at - self.lockout
        for scope, factor in scopes(username, client):
            limit = self.max_failures * factor
            with self.sessions.begin() as session:
                # A run of failures older than the lockout window starts over.
                session.execute(
                    update(ConsoleLoginThrottle)
                    .where(ConsoleLoginThrottle.scope == scope, ConsoleLoginThrottle.first_at < window_start)
                    .values(failures=0, first_at=at)
                )
                bumped = session.execute(
                    update(ConsoleLoginThrottle)
                    .where(ConsoleLoginThrottle.scope == scope)
                    .values(failures=ConsoleLoginThrottle.failures + 1)
                )
                if bumped.rowcount == 0:  # type: ignore[attr-defined]
                    try:
                        with session.begin_nested():
                            session.add(ConsoleLoginThrottle(scope=scope, failures=1, first_at=at))
                    except IntegrityError:  # another replica inserted it first: count on its row
                        session.execute(
                            update(ConsoleLoginThrottle)
                            .where(ConsoleLoginThrottle.scope == scope)
                            .values(failures=ConsoleLoginThrottle.failures + 1)
                        )
                session.execute(
                    update(ConsoleLoginThrottle)
                    .where(ConsoleLoginThrottle.scope == scope, ConsoleLoginThrottle.failures >= limit)
                    .values(locked_until=at + self.lockout, failures=0, first_at=at)
                )

    def succeeded(self, username: str, client: str) -> None:
        with self.sessions.begin() as session:
            session.execute(
                delete(ConsoleLoginThrottle).where(
                    ConsoleLoginThrottle.scope.in_([s for s, _ in scopes(username, client)])
                )
            )
