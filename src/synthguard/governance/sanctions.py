"""User sanctions from the console (Deep Synthesis Provisions Art. 10; TC260-003 7(f)).

Warn, restrict, suspend, ban and unban, each with a reason and, for restrict/suspend, a duration.
The user's status itself lives in the identity registry (``synthguard.identity.UserDirectory``),
which the gateway reads on every request, so a ban is refused on the next call by every replica;
this module is the staff workflow over it: field checks, durations, and the audit trail.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from synthguard.errors import InvalidField
from synthguard.governance._common import Actor, choice, text_field, utcnow
from synthguard.governance.audit import AuditTrail

if TYPE_CHECKING:
    from synthguard.identity import UserDirectory, UserView

SANCTIONS = ("warn", "restrict", "suspend", "ban", "unban")
STATUS_OF = {"warn": "warned", "restrict": "restricted", "suspend": "suspended", "ban": "banned"}
MAX_DURATION_H = 24 * 3650
DEFAULT_SUSPEND_H = 24.0  # a suspension always ends; 24 h when the form leaves the duration empty


class Sanctions:
    def __init__(self, users: UserDirectory, audit: AuditTrail) -> None:
        self.users = users
        self.audit = audit

    def apply(
        self,
        actor: Actor,
        user: str,
        action: str,
        reason: str,
        *,
        duration_h: float | None = None,
        **detail: Any,
    ) -> UserView:
        """Apply at once; ``detail`` (e.g. the four-eyes approval) goes into the audit row."""
        name = text_field(user, "user", max_chars=128, multiline=False)
        action = choice(action, "action", SANCTIONS)
        why = text_field(reason, "reason", max_chars=2000)
        until = None
        if action == "suspend" and not duration_h:
            duration_h = DEFAULT_SUSPEND_H
        if duration_h and action in ("warn", "restrict", "suspend"):
            if not 0 < duration_h <= MAX_DURATION_H:
                raise InvalidField(
                    f"duration must be between 0 and {MAX_DURATION_H} hours",
                    message_zh=f"时长须在 0 到 {MAX_DURATION_H} 小时之间",
                )
            until = utcnow() + dt.timedelta(hours=duration_h)
        if action == "unban":
            view = self.users.reinstate(name, reason=why, actor=actor.name)
        else:
            view = self.users.set_status(name, STATUS_OF[action], reason=why, until=until, actor=actor.name)
        self.audit.log(
            actor,
            f"user.{action}",
            "user",
            name,
            why,
            user_id=name,
            status=view.status,
            until=until.isoformat() if until else None,
            **detail,
        )
        return view

    def history(self, user: str) -> list[dict[str, Any]]:
        return self.users.history(user)
