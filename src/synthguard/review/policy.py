"""Policy: findings -> one decision (pass / mask / block / human review / sanction) with reasons.

Deep Synthesis Provisions Art. 6 and 10 (handle illegal information, warn/restrict/suspend the
user, keep records) and TC260-003 (refuse on the 17 A.1/A.2 risks; suspend a user who inputs
illegal information 3 times in a row or 5 times in a day). A finding starts from its entry's action
or its risk's default; the first matching rule (service type, direction, user status, risk,
severity, score) may change it; the decision is the most severe action.

Rules are data: ``Policy.from_file`` reads a JSON list of rules that come before the defaults, e.g.
``[{"service": "face_swap", "risk": "S.face", "action": "review"}]``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from synthguard.errors import ConfigError
from synthguard.review.taxonomy import Action, Risk

SCHEMA_VERSION = 1
DIRECTIONS = ("in", "out")
USER_STATUSES = ("verified", "unverified", "suspended", "banned", "")
BLOCKED_STATUSES = frozenset({"suspended", "banned"})
STRIKES_IN_A_ROW = 3
STRIKES_PER_DAY = 5

REFUSAL_ZH = (
    "很抱歉，您提交或请求的内容涉及法律法规禁止或平台规则不允许的信息（{categories}），"
    "依据《互联网信息服务深度合成管理规定》第六条、第十条，本服务无法处理。"
)
REFUSAL_EN = (
    "Sorry, this content involves information prohibited by law or by the service rules ({categories}). "
    "Under Articles 6 and 10 of the Provisions on Deep Synthesis Internet Information Services it cannot "
    "be processed."
)
REVIEW_ZH = "您的内容需要人工审核，审核完成前暂不处理。"
REVIEW_EN = "Your content needs human review and will not be processed until the review is complete."
SANCTION_ZH = "由于多次提交违法违规信息，依据服务协议，您的账号已被暂停使用。如有异议，请通过投诉渠道申诉。"
SANCTION_EN = (
    "Because prohibited information was submitted repeatedly, this account has been suspended under the "
    "service agreement. You can appeal through the complaint channel."
)
SUSPENDED_ZH = "您的账号已被暂停或关闭，无法使用本服务。"
SUSPENDED_EN = "This account is suspended or closed and cannot use the service."


class ReviewFinding(BaseModel):
    """One reason for the decision: a keyword hit or a classifier score, with its span."""

    source: str  # keyword | classifier name
    risk: str
    risk_zh: str
    risk_en: str
    action: str
    severity: int = 3
    score: float = 1.0
    start: int | None = None
    end: int | None = None
    text: str = ""
    term: str = ""
    variant: str = ""
    label: str = ""
    detail: dict[str, Any] = Field(default_factory=dict)


class ReviewDecision(BaseModel):
    """The decision a face renders: ``--json`` and ``POST /v1/review`` return exactly this."""

    schema_: int = Field(default=SCHEMA_VERSION, alias="schema")
    decision_id: int | None = None
    action: str
    service: str
    direction: str
    user_id: str = ""
    reasons: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    findings: list[ReviewFinding] = Field(default_factory=list)
    masked_text: str | None = None
    refusal_zh: str = ""
    refusal_en: str = ""
    queue_item_id: int | None = None
    library_version: int = 0
    text_sha256: str = ""
    ledger_ref: str = ""

    model_config = {"populate_by_name": True}

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")

    @property
    def refused(self) -> bool:
        return Action(self.action).rank >= Action.REVIEW.rank


@dataclass(frozen=True)
class Context:
    """Who asks and where: the policy keys."""

    service: str = "chat"
    direction: str = "in"
    user_id: str = ""
    user_status: str = "verified"


def _alternatives(value: str) -> set[str]:
    return {v.strip() for v in value.split("|") if v.strip()}


@dataclass(frozen=True)
class Rule:
    action: Action
    service: str = "*"
    direction: str = "*"
    user_status: str = "*"
    risk: str = "*"  # a code ("A.1.f"), a group ("A.1", "S") or "*"; alternatives with "|"
    min_severity: int = 1
    min_score: float = 0.0
    reason: str = ""

    def applies(self, ctx: Context, risk: str, severity: int, score: float) -> bool:
        if self.service != "*" and ctx.service not in _alternatives(self.service):
            return False
        if self.direction != "*" and ctx.direction != self.direction:
            return False
        if self.user_status != "*" and ctx.user_status not in _alternatives(self.user_status):
            return False
        if self.risk != "*" and not any(
            risk == r or risk.startswith(r + ".") for r in _alternatives(self.risk)
        ):
            return False
        return severity >= self.min_severity and score >= self.min_score

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rule:
        allowed = {
            "action",
            "service",
            "direction",
            "user_status",
            "risk",
            "min_severity",
            "min_score",
            "reason",
        }
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown rule key(s) {sorted(unknown)}")
        return cls(
            action=Action(str(data["action"])),
            service=str(data.get("service", "*")),
            direction=str(data.get("direction", "*")),
            user_status=str(data.get("user_status", "*")),
            risk=str(data.get("risk", "*")),
            min_severity=int(data.get("min_severity", 1)),
            min_score=float(data.get("min_score", 0.0)),
            reason=str(data.get("reason", "")),
        )


DEFAULT_RULES: tuple[Rule, ...] = (
    # A user's own phone number in a prompt is not a violation; an answer must not leak one.
    Rule(Action.PASS, direction="in", risk="A.4.f", reason="personal information in the user's own input"),
    Rule(Action.MASK, direction="out", risk="A.4.f", reason="personal information masked in output"),
    # Art. 14: editing faces or voices needs the separate consent of the person shown or heard.
    Rule(
        Action.REVIEW,
        service="face_swap|face_edit|face_generation|video_edit",
        risk="S.face",
        reason="biometric (face) editing requires the person's separate consent (Art. 14)",
    ),
    Rule(
        Action.REVIEW,
        service="voice_clone|voice_edit",
        risk="S.voice",
        reason="biometric (voice) editing requires the speaker's separate consent (Art. 14)",
    ),
    Rule(Action.PASS, risk="S", reason="biometric signal recorded"),
)


@dataclass
class Policy:
    rules: list[Rule] = field(default_factory=lambda: list(DEFAULT_RULES))
    score_threshold: float = 0.5  # classifier scores below this are not findings

    @classmethod
    def from_file(cls, path: Path | None) -> Policy:
        if path is None:
            return cls()
        try:
            data = json.loads(path.read_text("utf-8"))
            items = data["rules"] if isinstance(data, dict) else data
            threshold = float(data.get("score_threshold", 0.5)) if isinstance(data, dict) else 0.5
            rules = [Rule.from_dict(item) for item in items]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"review policy {path}: {exc}", message_zh=f"审核策略文件 {path} 无效：{exc}"
            ) from None
        return cls(rules=rules + list(DEFAULT_RULES), score_threshold=threshold)

    def action_for(
        self, ctx: Context, risk: Risk, base: Action, severity: int, score: float
    ) -> tuple[Action, str]:
        for rule in self.rules:
            if rule.applies(ctx, risk.code, severity, score):
                return rule.action, rule.reason
        return base, ""


def refusal_text(action: Action, categories: list[Risk]) -> tuple[str, str]:
    """The lawful, bilingual message shown instead of the content. It names risk categories, never terms."""
    if action is Action.SANCTION:
        return SANCTION_ZH, SANCTION_EN
    if action is Action.REVIEW:
        return REVIEW_ZH, REVIEW_EN
    if action is Action.BLOCK:
        zh = "、".join(dict.fromkeys(r.name_zh for r in categories)) or "违规信息"
        en = "; ".join(dict.fromkeys(r.name_en for r in categories)) or "prohibited information"
        return REFUSAL_ZH.format(categories=zh), REFUSAL_EN.format(categories=en)
    return "", ""


def mask_text(text: str, spans: list[tuple[int, int]], mask: str = "*") -> str:
    """Replace every character inside the spans with ``mask`` (overlapping spans are merged)."""
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        for i in range(max(0, start), min(len(chars), end)):
            chars[i] = mask
    return "".join(chars)
