"""Real-name verifiers (Deep Synthesis Provisions Art. 9): who checks that an ID number is real.

``Verifier`` is the one interface: ``verify(claim) -> Verdict``. ``OfflineVerifier`` (the default)
checks only what can be checked without the authoritative databases: format, GB 11643 / GB 32100
check character, region, birth date and mobile shape; its verdicts have ``level="format"`` and the
operator sees "format-checked, not identity-verified". ``HttpVerifier`` calls a provider's real-name
API (a cloud 2-/3-element check or a reseller) through one small JSON contract, mapping its answer
onto the same ``Verdict`` so the rest of synthguard never sees vendor codes.

HTTP contract (POST ``{url}``, bearer token from Settings)::

    request  {"doc_type": "ric", "number": "...", "name": "...", "mobile": "..."}
    response {"result": "match|mismatch|no_record|invalid_input|rate_limited|unavailable",
              "level": "2e|3e|liveness", "request_id": "...", "billed": true}

Secrets (the token, the number) never appear in errors or logs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import httpx

from synthguard.errors import ConfigError, VerificationUnavailable
from synthguard.identity.numbers import document_type, identity_number_problem, is_mobile, is_uscc

if TYPE_CHECKING:
    from synthguard.config import Settings

RESULTS = ("match", "mismatch", "invalid_input", "no_record", "unavailable", "rate_limited")


@dataclass(frozen=True)
class IdentityClaim:
    """What a user claims: a document number, optionally a name and a mobile number."""

    number: str
    name: str = ""
    mobile: str = ""
    doc_type: str = ""  # ric | hk_mo_tw_permit | foreign_pr | uscc; "" = guess from the shape

    @property
    def kind(self) -> str:
        return self.doc_type or document_type(self.number)


@dataclass(frozen=True)
class Verdict:
    result: str  # one of RESULTS
    level: str  # format | 2e | 3e | liveness
    provider: str
    reason: str = ""
    request_id: str = ""
    billed: bool = False
    checked_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def ok(self) -> bool:
        return self.result == "match"


class Verifier(Protocol):
    name: str

    def verify(self, claim: IdentityClaim) -> Verdict: ...


def format_problem(claim: IdentityClaim) -> str:
    """The offline checks every verifier runs first: no remote call for a number that cannot exist."""
    number = claim.number.strip().upper()
    if claim.kind == "uscc":
        if not is_uscc(number):
            return "unified social credit code check character does not match (GB 32100)"
    else:
        problem = identity_number_problem(number)
        if problem:
            return problem
    if claim.mobile and not is_mobile(claim.mobile.strip()):
        return "mobile number must be 11 digits starting 13-19"
    return ""


class OfflineVerifier:
    """Format, check character, region and birth date: proves a number is well formed, not real."""

    name = "offline"

    def verify(self, claim: IdentityClaim) -> Verdict:
        problem = format_problem(claim)
        if problem:
            return Verdict("invalid_input", "format", self.name, reason=problem)
        return Verdict("match", "format", self.name, reason="format-checked, not identity-verified")


class HttpVerifier:
    """A provider's real-name API over HTTP (see the module docstring for the JSON contract)."""

    name = "http"

    def __init__(
        self, url: str, *, token: str = "", timeout_s: float = 5.0, client: httpx.Client | None = None
    ):
        if not url.startswith(("http://", "https://")):
            raise ConfigError(
                "SYNTHGUARD_IDENTITY_VERIFIER_URL must be an http(s) URL",
                message_zh="SYNTHGUARD_IDENTITY_VERIFIER_URL 须为 http(s) 地址",
            )
        self.url = url
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = client or httpx.Client(timeout=timeout_s)

    def verify(self, claim: IdentityClaim) -> Verdict:
        problem = format_problem(claim)
        if problem:  # never pay for a call that cannot match
            return Verdict("invalid_input", "format", self.name, reason=problem)
        body = {
            "doc_type": claim.kind,
            "number": claim.number.strip().upper(),
            "name": claim.name,
            "mobile": claim.mobile.strip(),
        }
        try:
            response = self._client.post(self.url, json=body, headers=self._headers)
        except httpx.TimeoutException:
            raise VerificationUnavailable(
                "the real-name API did not answer in time", message_zh="实名核验接口超时"
            ) from None
        except httpx.HTTPError as exc:
            raise VerificationUnavailable(
                f"the real-name API cannot be reached ({type(exc).__name__})",
                message_zh="无法连接实名核验接口",
            ) from None
        if response.status_code >= 500 or response.status_code in (401, 403):
            raise VerificationUnavailable(
                f"the real-name API answered HTTP {response.status_code}",
                message_zh=f"实名核验接口返回 HTTP {response.status_code}",
            )
        try:
            data = response.json()
            result = str(data["result"])
        except (ValueError, KeyError, TypeError):
            raise VerificationUnavailable(
                "the real-name API answered something that is not its JSON contract",
                message_zh="实名核验接口返回格式不符",
            ) from None
        if result not in RESULTS:
            raise VerificationUnavailable(
                f"the real-name API answered an unknown result {result[:40]!r}",
                message_zh="实名核验接口返回未知结果",
            )
        if result in ("unavailable", "rate_limited"):
            raise VerificationUnavailable(
                f"the real-name API is {result.replace('_', ' ')}; try again later",
                message_zh="实名核验服务暂不可用，请稍后重试",
            )
        level = str(data.get("level") or ("3e" if claim.mobile else "2e"))
        return Verdict(
            result,
            level[:16],
            self.name,
            reason=str(data.get("reason", ""))[:200],
            request_id=str(data.get("request_id", ""))[:128],
            billed=bool(data.get("billed", False)),
        )

    def close(self) -> None:
        self._client.close()


def verifier_from_settings(settings: Settings) -> Verifier:
    if settings.identity_verifier == "http":
        return HttpVerifier(
            settings.identity_verifier_url,
            token=settings.identity_verifier_token,
            timeout_s=settings.identity_verifier_timeout_s,
        )
    return OfflineVerifier()
