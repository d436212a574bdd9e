"""The OpenAI-compatible compliance gateway (Deep Synthesis Provisions Art. 8-10, 14, 16, 17;
Labeling Measures Art. 4-5; GB 45438-2025).

A provider puts this in front of any OpenAI-compatible model server; clients keep using the
official SDKs. Every request goes: API key -> user status gate (Art. 9: unverified users get no
publishing; suspended/banned users get nothing) -> input review (Art. 10) -> biometric consent for
face/voice edits (Art. 14) -> upstream -> output review (streamed with hold-back) -> explicit label
(text notice / image and audio labels, Art. 17) -> implicit label (file metadata, signed) -> one
ledger record (content ID, digests, decisions; Art. 16) -> the response, with the content ID and
the algorithm filing number in headers.

Errors have OpenAI's shape, ``{"error": {"message", "type", "code", "param"}}`` plus
``message_zh``, so the official client raises the matching exception class.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import json
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from synthguard.config import Settings
from synthguard.core import Synthguard
from synthguard.errors import (
    AccountRestricted,
    ConsentRequired,
    ContentBlocked,
    InvalidRequest,
    PermissionDenied,
    RequestTooLarge,
    SynthguardError,
    UpstreamFailed,
    UpstreamTimeout,
)
from synthguard.gateway.evidence import EvidenceWriter, ReviewRecord
from synthguard.gateway.streaming import TextGuard, sse_events
from synthguard.gateway.threads import in_thread
from synthguard.gateway.upstream import StreamBroken, StreamTimeout, Upstream, Upstreams
from synthguard.identity import ALLOWED, KeyInfo, UserView
from synthguard.ids import new_content_id
from synthguard.labels.explicit import Notice, NoticeStream
from synthguard.labels.model import AIGCLabel
from synthguard.labels.sign import sign_producer
from synthguard.review import Action, Context, Match, Matcher, ReviewDecision, Risk

router = APIRouter(tags=["openai"])

STANDARD_VOICES = frozenset(
    [
        "alloy",
        "ash",
        "ballad",
        "coral",
        "echo",
        "fable",
        "onyx",
        "nova",
        "sage",
        "shimmer",
        "verse",
        "marin",
        "cedar",
    ]
)  # OpenAI's preset synthetic voices; any other voice is taken as a cloned real voice (Art. 14)
SUSPEND_AFTER_SANCTION_DAYS = 7
# Longest answer reviewed on the event loop (~0.1 ms of review); a longer one goes to a worker
# thread so one huge answer never stalls every other request on the loop.
INLINE_REVIEW_CHARS = 4000
HEADER_CONTENT_ID = "X-Synthguard-Content-Id"
HEADER_FILING = "X-Synthguard-Filing-Number"


def filing_header(number: str) -> str:
    """HTTP header values are Latin-1; filing numbers are Chinese (网信算备...): UTF-8 percent-encoded."""
    return quote(number, safe="")


HEADER_LABEL = "X-AIGC-Label"  # "1": AI-generated, as on /v1/labels
HEADER_AIGC = "X-AIGC"  # the signed implicit label of a text answer, JSON
HEADER_CONSENT = "X-Synthguard-Consent-Id"

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def error_body(exc: SynthguardError) -> dict[str, Any]:
    kind = _ERROR_TYPES.get(
        exc.http_status, "api_error" if exc.http_status >= 500 else "invalid_request_error"
    )
    return {
        "error": {
            "message": exc.message,
            "message_zh": exc.message_zh,
            "type": kind,
            "code": exc.code,
            "param": None,
        }
    }


def openai_error(exc: SynthguardError) -> Response:
    return FastJSONResponse(error_body(exc), status_code=exc.http_status)


Tables = tuple[Matcher, dict[str, Risk]]  # a stream guard's matcher and risk table


@dataclass(frozen=True)
class Caller:
    key: KeyInfo
    user: UserView

    @property
    def user_id(self) -> str:
        return self.user.name


class Gateway:
    """Per-app state: the core, the upstream clients; one instance per process."""

    def __init__(self, settings: Settings, core: Synthguard) -> None:
        self.settings = settings
        self.core = core
        self.upstreams = Upstreams(settings)
        # Every decision row and ledger entry of this gateway: group-committed, durable on return.
        self.evidence = EvidenceWriter(core)

    async def aclose(self) -> None:
        await self.evidence.aclose()  # queued records land before the core (and ledger) close
        await self.upstreams.aclose()
        self.core.apikeys.close()

    # --- request parsing ------------------------------------------------------------------------

    async def read_body(self, request: Request) -> bytes:
        limit = self.settings.gateway_max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise RequestTooLarge(
                f"request body exceeds {limit:,} bytes", message_zh=f"请求体超过 {limit:,} 字节上限"
            )
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > limit:
                raise RequestTooLarge(
                    f"request body exceeds {limit:,} bytes", message_zh=f"请求体超过 {limit:,} 字节上限"
                )
        return bytes(data)

    async def read_json(self, request: Request) -> dict[str, Any]:
        raw = await self.read_body(request)
        try:
            body = _loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidRequest(
                f"the request body is not valid JSON ({str(exc)[:80]})", message_zh="请求体不是有效的 JSON"
            ) from None
        if not isinstance(body, dict):
            raise InvalidRequest("the request body must be a JSON object", message_zh="请求体须为 JSON 对象")
        return body

    # --- authentication and the status gate (Art. 9, 10) ----------------------------------------

    async def authenticate(self, request: Request, *, scope: str, capability: str) -> Caller:
        """Key, owner, scope and status gate read from the store for every request (a ban,
        revocation or quota change by any replica applies to the very next one), then the charge
        (see ``ChargeBook``: counted here, written with the next evidence commit). On SQLite the
        read runs right here on the loop (a WAL read never waits for a writer): a worker-thread
        hop and its own write transaction per request cost more CPU than the rest of the
        admission."""
        token = _bearer(request)
        apikeys = self.core.apikeys
        minute = int(time.time() // 60)
        if apikeys.reads_never_block():
            key, user, window = apikeys.lookup(token, minute)
        else:
            key, user, window = await in_thread(apikeys.lookup, token, minute)
        if scope and scope not in key.scopes:
            raise PermissionDenied(
                f"this API key has no '{scope}' scope", message_zh=f"该 API 密钥没有 {scope} 权限"
            )
        gate(user, capability)
        self.evidence.charge(key, window, minute)
        return Caller(key, user)

    async def admit_and_review(
        self, request: Request, *, scope: str, capability: str, text: str, service: str, tables: bool = False
    ) -> tuple[Caller, Context, ReviewDecision, Tables | None]:
        """``authenticate``, then the input review: on the event loop when it needs no I/O (see
        ``text_review_is_local``) and the text is short, since a worker hop costs more CPU than
        the review; otherwise (or to record a refusal) on a worker thread. With ``tables`` the
        stream guard's matcher and risk table come along (both may read the store, so never on
        the loop unless cached). The caller settles the decision with :meth:`settle_in`."""
        caller = await self.authenticate(request, scope=scope, capability=capability)
        ctx = self.in_context(caller, service)
        engine = self.core.reviewer
        if len(text) <= INLINE_REVIEW_CHARS and engine.text_review_is_local():
            matcher = engine.library.fresh()
            decision = engine.review_text(text, ctx, record=False)
            if matcher is not None and not decision.refused:
                if not tables:
                    return caller, ctx, decision, None
                return caller, ctx, decision, (matcher, engine.risks(matcher.version))

        def work() -> tuple[ReviewDecision, Tables | None]:
            decision = self._review_in_sync(text, ctx)
            if not tables:
                return decision, None
            matcher = engine.library.matcher()
            return decision, (matcher, engine.risks(matcher.version))

        decision, found = await in_thread(work)
        return caller, ctx, decision, found

    # --- review ---------------------------------------------------------------------------------

    async def review_in(
        self, caller: Caller, text: str, service: str, defer: list[ReviewRecord] | None = None
    ) -> ReviewDecision:
        """Input review (Art. 10). A clean decision (pass, mask) put in ``defer`` is stored and
        logged later, in the same commit as the answer's own record; the caller commits it before
        anything is answered (or on failure). Without ``defer`` it is committed here."""
        ctx = self.in_context(caller, service)
        decision = await in_thread(self._review_in_sync, text, ctx)
        return await self.settle_in(caller, ctx, decision, len(text), defer)

    def in_context(self, caller: Caller, service: str) -> Context:
        return Context(
            service=service, direction="in", user_id=caller.user_id, user_status=_review_status(caller)
        )

    async def settle_in(
        self,
        caller: Caller,
        ctx: Context,
        decision: ReviewDecision,
        text_chars: int,
        defer: list[ReviewRecord] | None = None,
    ) -> ReviewDecision:
        """Record an input decision (or ``defer`` a clean one, see :meth:`review_in`), suspend a
        sanctioned user, and raise ``ContentBlocked`` for a refused input."""
        service = ctx.service
        record = ReviewRecord(decision, ctx, text_chars)
        clean = not decision.refused and decision.action != Action.SANCTION.value
        if clean and defer is not None:
            defer.append(record)
            return decision
        await self.evidence.commit([record], [])
        if decision.action == Action.SANCTION.value:
            # TC260-003: repeated violations suspend the user; the history says why.
            until = _now_plus_days(SUSPEND_AFTER_SANCTION_DAYS)
            await run_in_threadpool(
                lambda: self.core.users.set_status(
                    caller.user.name,
                    "suspended",
                    reason="; ".join(decision.reasons)[-500:],
                    until=until,
                    actor="review",
                )
            )
        if decision.refused:
            await self.alog(
                "gateway.refused",
                new_content_id(),
                caller,
                service=service,
                stage="input",
                decision_id=decision.decision_id,
                action=decision.action,
                prompt_sha256=decision.text_sha256,
            )
            raise ContentBlocked(
                decision.refusal_en or "the prompt was refused by review",
                message_zh=decision.refusal_zh or "输入内容未通过审核",
            )
        return decision

    def _review_in_sync(self, text: str, ctx: Context) -> ReviewDecision:
        engine = self.core.reviewer
        decision = engine.review_text(text, ctx, record=False)
        if decision.refused:
            # A refusal opens a review item or counts toward a sanction (strikes): that is
            # review_text's recording path, so review again with it (rare: refused inputs only).
            decision = engine.review_text(text, ctx)
        return decision

    async def review_out(self, caller: Caller, text: str, service: str) -> ReviewDecision:
        """Output review. When it needs no I/O (see ``text_review_is_local``) and the answer is
        short, a clean answer is reviewed right here on the loop: a worker hop costs more CPU
        than the review. Anything to record (not a pass) goes to a worker thread as before."""
        engine = self.core.reviewer
        if len(text) <= INLINE_REVIEW_CHARS and engine.text_review_is_local():
            ctx = self.out_context(caller, service)
            decision = engine.review_text(text, ctx, record=False)
            if decision.action == Action.PASS.value:
                return decision
        return await in_thread(self.review_out_sync, caller, text, service)

    def out_context(self, caller: Caller, service: str) -> Context:
        return Context(
            service=service, direction="out", user_id=caller.user_id, user_status=_review_status(caller)
        )

    def review_out_sync(self, caller: Caller, text: str, service: str) -> ReviewDecision:
        """Output review; a clean answer is not stored as its own decision (the gateway's ledger
        record carries its digest and action), anything else is recorded and queued as usual."""
        ctx = self.out_context(caller, service)
        decision = self.core.reviewer.review_text(text, ctx, record=False)
        if decision.action == Action.PASS.value:
            return decision
        return self.core.review_text(
            text, service=service, direction="out", user_id=caller.user_id, user_status=ctx.user_status
        )

    def keyword_action(
        self, caller: Caller, service: str, risks: dict[str, Any] | None = None
    ) -> Callable[[Match], str]:
        engine = self.core.reviewer
        if risks is None:
            risks = engine.risks()
        ctx = Context(
            service=service, direction="out", user_id=caller.user_id, user_status=_review_status(caller)
        )

        def action_for(m: Match) -> str:
            from synthguard.review import Risk

            risk = risks.get(m.entry.category) or Risk(
                m.entry.category,
                m.entry.category.split(".", 1)[0],
                m.entry.category,
                m.entry.category,
                Action.REVIEW,
            )
            base = Action(m.entry.action) if m.entry.action else risk.default_action
            action, _ = engine.policy.action_for(ctx, risk, base, m.entry.severity, 1.0)
            return action.value

        return action_for

    # --- evidence -------------------------------------------------------------------------------

    async def alog(
        self,
        event: str,
        content_id: str,
        caller: Caller,
        *,
        reviews: list[ReviewRecord] | None = None,
        **refs: Any,
    ) -> int:
        """One ledger record per response (Art. 16), with ``reviews`` (decisions not yet stored) in
        the same commit; returns once committed. The idempotency key keeps a retry from doubling it."""
        from synthguard.ledger import Entry

        refs = {k: v for k, v in refs.items() if v is not None}
        refs.update(key_id=caller.key.key_id, filing_number=self.settings.filing_number)
        entry = Entry(event, content_id, refs, caller.user_id, None, f"{event}-{content_id}")
        (appended,) = await self.evidence.commit(reviews or [], [entry])
        return int(appended.seq)

    def headers(self, content_id: str, label: AIGCLabel | None = None) -> dict[str, str]:
        out = {
            HEADER_CONTENT_ID: content_id,
            HEADER_FILING: filing_header(self.settings.filing_number),
            HEADER_LABEL: "1",
        }
        if label is not None:
            out[HEADER_AIGC] = label.to_json()
        return out

    def text_label(self, content_id: str, text: str) -> AIGCLabel | None:
        """The implicit label of a text answer, signed over its UTF-8 bytes (sent as header/field)."""
        if not self.settings.provider_code:
            return None
        label = AIGCLabel.produce(self.settings.provider_code, content_id, "1")
        return sign_producer(label, hashlib.sha256(text.encode("utf-8")).digest(), self.core.signer)

    def notice(self) -> NoticeStream:
        lang: Any = self.settings.explicit_lang  # validated by Notice itself
        return NoticeStream(Notice(lang=lang), position=self.settings.gateway_notice_position)


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else ""


def gate(user: UserView, capability: str) -> None:
    if capability in ALLOWED.get(user.status, frozenset()):
        return
    if user.status in ("suspended", "banned"):
        until = f" until {user.status_until.isoformat()}" if user.status_until else ""
        raise AccountRestricted(
            f"this account is {user.status}{until}: {user.status_reason or 'see the service agreement'}",
            message_zh=f"账号已被{'暂停' if user.status == 'suspended' else '关闭'}，无法使用本服务",
        )
    if capability == "publish":
        raise AccountRestricted(
            "publishing and sharing need a real-name verified account (Art. 9); "
            f"this account is {user.status}",
            message_zh="发布、分享功能须先完成真实身份认证（《深度合成管理规定》第九条）",
        )
    raise AccountRestricted(
        f"this account ({user.status}) may not use {capability} services",
        message_zh=f"当前账号状态（{user.status}）不允许使用该服务",
    )


def _review_status(caller: Caller) -> str:
    return (
        caller.user.status
        if caller.user.status in ("verified", "unverified", "suspended", "banned")
        else "verified"
    )


def _now_plus_days(days: int) -> Any:
    import datetime as dt

    return dt.datetime.now(dt.UTC) + dt.timedelta(days=days)


def get_gateway(request: Request) -> Gateway:
    state = request.app.state
    gateway: Gateway | None = getattr(state, "gateway", None)
    if gateway is None:
        gateway = Gateway(state.settings, state.core)
        state.gateway = gateway
    return gateway


async def _guarded(call: Callable[[], Any]) -> Response:
    try:
        result: Response = await call()
        return result
    except SynthguardError as exc:
        return openai_error(exc)


# --- text: chat and completions --------------------------------------------------------------------


def _chat_texts(body: dict[str, Any]) -> list[str]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("'messages' must be a non-empty array", message_zh="messages 须为非空数组")
    texts: list[str] = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise InvalidRequest(
                f"messages[{i}] must be an object with a string 'role'",
                message_zh=f"messages[{i}] 格式不正确",
            )
        content = m.get("content")
        if content is None or isinstance(content, str):
            texts.append(content or "")
        elif isinstance(content, list):
            for p in content:
                if not isinstance(p, dict):
                    raise InvalidRequest(
                        f"messages[{i}].content parts must be objects", message_zh="content 格式不正确"
                    )
                texts.append(str(p.get("text", "")) if p.get("type") == "text" else "")
        else:
            raise InvalidRequest(
                f"messages[{i}].content must be a string or an array",
                message_zh=f"messages[{i}].content 类型不正确",
            )
    return texts


def _set_chat_texts(body: dict[str, Any], texts: list[str]) -> None:
    it = iter(texts)
    for m in body["messages"]:
        content = m.get("content")
        if content is None or isinstance(content, str):
            value = next(it)
            if content is not None:
                m["content"] = value
        else:
            for p in content:
                value = next(it)
                if p.get("type") == "text":
                    p["text"] = value


def _completion_texts(body: dict[str, Any]) -> list[str]:
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        return [prompt]
    if isinstance(prompt, list) and prompt and all(isinstance(p, str) for p in prompt):
        return list(prompt)
    raise InvalidRequest(
        "'prompt' must be a string or an array of strings", message_zh="prompt 须为字符串或字符串数组"
    )


def _check_common(body: dict[str, Any]) -> bool:
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise InvalidRequest("'stream' must be a boolean", message_zh="stream 须为布尔值")
    n = body.get("n", 1)
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 8):
        raise InvalidRequest("'n' must be an integer from 1 to 8", message_zh="n 须为 1 到 8 的整数")
    return stream


SEPARATOR = "\n"


def _split_masked(texts: list[str], decision: ReviewDecision) -> list[str]:
    """The conversation was reviewed as one text; a mask keeps lengths, so it splits back per message."""
    joined_len = sum(len(t) for t in texts) + len(SEPARATOR) * (len(texts) - 1)
    if decision.masked_text is None or len(decision.masked_text) != joined_len:
        return texts
    out, pos = [], 0
    for t in texts:
        out.append(decision.masked_text[pos : pos + len(t)])
        pos += len(t) + len(SEPARATOR)
    return out


async def _text_endpoint(request: Request, kind: str) -> Response:
    gw = get_gateway(request)
    body = await gw.read_json(request)
    _check_common(body)
    texts = _chat_texts(body) if kind == "chat" else _completion_texts(body)
    upstream = gw.upstreams.route(body.get("model"))
    service = "chat" if kind == "chat" else "completion"
    joined = SEPARATOR.join(texts)
    caller, ctx, in_decision, tables = await gw.admit_and_review(
        request,
        scope="chat" if kind == "chat" else "completions",
        capability="generate",
        text=joined,
        service=service,
        tables=body.get("stream") is True,
    )
    pending: list[ReviewRecord] = []
    in_decision = await gw.settle_in(caller, ctx, in_decision, len(joined), pending)
    texts = _split_masked(texts, in_decision)
    try:
        return await _text_after_review(gw, caller, upstream, body, kind, texts, in_decision, pending, tables)
    finally:
        # On an upstream error the deferred input decision must still be stored and logged; on
        # success it went out with the answer's record and ``pending`` is empty.
        if pending:
            await asyncio.gather(gw.evidence.commit(pending, []), return_exceptions=True)


async def _text_after_review(
    gw: Gateway,
    caller: Caller,
    upstream: Upstream,
    body: dict[str, Any],
    kind: str,
    texts: list[str],
    in_decision: ReviewDecision,
    pending: list[ReviewRecord],
    tables: Tables | None = None,
) -> Response:
    service = "chat" if kind == "chat" else "completion"
    if kind == "chat":
        _set_chat_texts(body, texts)
    else:
        body["prompt"] = texts[0] if isinstance(body["prompt"], str) else texts
    path = "/chat/completions" if kind == "chat" else "/completions"
    content_id = new_content_id()
    if body.get("stream") is True:
        assert tables is not None  # fetched with the input review for a streamed request
        return await _stream_text(
            gw, caller, upstream, path, body, kind, content_id, in_decision, pending, tables
        )
    response = await gw.upstreams.post_json(upstream, path, body)
    try:
        data = response.json()
        choices = data["choices"]
        assert isinstance(choices, list)
    except (ValueError, KeyError, AssertionError, TypeError):
        raise UpstreamFailed(
            "the model server answered something that is not a completion",
            message_zh="模型服务返回格式不正确",
        ) from None
    out_actions: list[str] = []
    finals: list[str] = []
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        holder = choice.get("message") if kind == "chat" else choice
        if not isinstance(holder, dict):
            continue
        key = "content" if kind == "chat" else "text"
        text = holder.get(key)
        if not isinstance(text, str):
            continue
        decision = await gw.review_out(caller, text, service)
        out_actions.append(decision.action)
        if decision.refused:
            text = decision.refusal_zh + "\n" + decision.refusal_en
            choice["finish_reason"] = "content_filter"
        elif decision.masked_text is not None:
            text = decision.masked_text
        stream_notice = gw.notice()
        labeled = stream_notice.feed(text) + stream_notice.close()
        holder[key] = labeled
        finals.append(labeled)
    final_text = "".join(finals)
    label = gw.text_label(content_id, final_text)
    data["synthguard"] = {
        "content_id": content_id,
        "filing_number": gw.settings.filing_number,
        "aigc": label.to_dict() if label else None,
    }
    # The input decision (row + entry) and this record commit together, before the answer leaves.
    await gw.alog(
        "gateway.generated",
        content_id,
        caller,
        reviews=pending,
        service=service,
        model=upstream.model,
        stream=False,
        prompt_sha256=in_decision.text_sha256,
        output_sha256=hashlib.sha256(final_text.encode("utf-8")).hexdigest(),
        input_action=in_decision.action,
        output_actions=out_actions,
        finish_reasons=[c.get("finish_reason") for c in choices if isinstance(c, dict)],
    )
    pending.clear()
    return FastJSONResponse(data, headers=gw.headers(content_id, label))


class SSEResponse(StreamingResponse):
    """A streaming response that notices a client leaving while the upstream is silent.

    Starlette (ASGI spec >= 2.4) only learns of a disconnect at the next ``send`` and then leaves
    the generator to the garbage collector; a compliance gateway must stop the model at once, so
    this watches ``http.disconnect`` itself and closes the generator (whose ``finally`` closes the
    upstream connection and writes the log record) before returning.
    """

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def watch(scope_: anyio.CancelScope) -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    scope_.cancel()
                    return

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(watch, tg.cancel_scope)
                with contextlib.suppress(OSError):  # the client went away mid-send
                    await self.stream_response(send)
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                close = getattr(self.body_iterator, "aclose", None)
                if close is not None:
                    await close()


def _loads(raw: bytes | str) -> Any:
    """JSON via orjson (~5x the standard library); what it refuses but the standard library reads
    (integers beyond 64 bits, NaN) goes the slow way, so the accepted input is unchanged."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def _dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON as ``json.dumps(ensure_ascii=False, separators=(",", ":"))`` writes it."""
    try:
        return orjson.dumps(obj)
    except TypeError:  # orjson.JSONEncodeError: an integer beyond 64 bits, a non-str key
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class FastJSONResponse(Response):
    """``JSONResponse`` with orjson: the same body bytes for the gateway's answers, less CPU."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return _dumps(content)


def _sse(obj: Any) -> bytes:
    return b"data: " + _dumps(obj) + b"\n\n"


async def _stream_text(
    gw: Gateway,
    caller: Caller,
    upstream: Upstream,
    path: str,
    body: dict[str, Any],
    kind: str,
    content_id: str,
    in_decision: ReviewDecision,
    pending: list[ReviewRecord],
    tables: Tables,
) -> Response:
    service = "chat" if kind == "chat" else "completion"
    settings = gw.settings
    engine = gw.core.reviewer
    # The input decision is committed while the upstream connection opens.
    recorded = asyncio.ensure_future(gw.evidence.commit(pending[:], []))
    pending.clear()
    strict_review: Callable[[str], ReviewDecision] | None = None
    if settings.gateway_stream_mode == "strict":
        ctx = Context(
            service=service, direction="out", user_id=caller.user_id, user_status=_review_status(caller)
        )

        def strict_review(segment: str) -> ReviewDecision:
            return engine.review_text(segment, ctx, record=False)

    # Open the upstream before answering, so "model server down" is a proper 502, not a broken stream.
    opened = gw.upstreams.stream(upstream, path, body)
    try:
        response = await opened.__aenter__()
    except BaseException:
        await asyncio.gather(recorded, return_exceptions=True)
        raise
    matcher, risks = tables
    try:
        await recorded  # the input decision is stored and in the ledger before any answer
    except BaseException:
        await opened.__aexit__(None, None, None)
        raise
    action_for = gw.keyword_action(caller, service, risks)
    guards: dict[int, TextGuard] = {}
    notices: dict[int, NoticeStream] = {}
    finished: dict[int, str] = {}
    state: dict[str, Any] = {"outcome": "incomplete", "chunks": 0}
    text_key = "content" if kind == "chat" else "text"
    label_holder: dict[str, AIGCLabel | None] = {}

    def guard_for(index: int) -> TextGuard:
        if index not in guards:
            guards[index] = TextGuard(
                matcher,
                action_for,
                mode=settings.gateway_stream_mode,
                on_hit=settings.gateway_on_hit,
                review_segment=strict_review,
            )
            notices[index] = gw.notice()
        return guards[index]

    def put_text(choice: dict[str, Any], text: str) -> None:
        if kind == "chat":
            delta = choice.setdefault("delta", {})
            if text or "content" in delta:
                delta["content"] = text
        else:
            choice["text"] = text

    def has_payload(choice: dict[str, Any]) -> bool:
        if choice.get("finish_reason"):
            return True
        if kind == "chat":
            delta = choice.get("delta") or {}
            return bool(
                delta.get("content") or delta.get("role") or delta.get("tool_calls") or delta.get("refusal")
            )
        return bool(choice.get("text"))

    def extension() -> dict[str, Any]:
        released = "".join(guards[i].raw[: guards[i].sent] for i in sorted(guards))
        label = gw.text_label(content_id, released)
        label_holder["label"] = label
        return {
            "content_id": content_id,
            "filing_number": settings.filing_number,
            "aigc": label.to_dict() if label else None,
        }

    def finish_choice(index: int, template: dict[str, Any], reason: str) -> list[bytes]:
        """The tail the guard still holds, the notice (if at the end) and the finishing chunk."""
        guard = guard_for(index)
        out: list[bytes] = []
        tail = guard.finish() if reason != "content_filter" else None
        text = tail.text if tail is not None else ""
        if tail is not None and tail.stopped:
            reason = "content_filter"
        text = notices[index].feed(text) if text else ""
        text += notices[index].close()
        if text:
            out.append(_sse(_chunk(template, index, kind, text_key, text, None)))
        finished[index] = reason
        final = _chunk(template, index, kind, text_key, None, reason)
        if len(finished) >= max(1, len(guards)):
            final["synthguard"] = extension()
        out.append(_sse(final))
        return out

    async def lines() -> AsyncIterator[str]:
        async for line in response.aiter_lines():
            yield line

    async def generate() -> AsyncIterator[bytes]:
        last_write = time.monotonic()
        template: dict[str, Any] = {}
        done_seen = False
        try:
            async for data in sse_events(lines()):
                if data.strip() == "[DONE]":
                    done_seen = True
                    break
                try:
                    chunk = _loads(data)
                except ValueError:
                    continue  # a malformed event from upstream is dropped, not forwarded
                if not isinstance(chunk, dict):
                    continue
                if "error" in chunk:
                    yield _sse(
                        error_body(
                            UpstreamFailed(
                                "the model server failed during the stream",
                                message_zh="模型服务在流式输出中出错",
                            )
                        )
                    )
                    state["outcome"] = "upstream_error"
                    return
                template = {k: v for k, v in chunk.items() if k != "choices"}
                out_choices: list[dict[str, Any]] = []
                extra: list[bytes] = []
                for choice in chunk.get("choices") or []:
                    if not isinstance(choice, dict):
                        continue
                    index = int(choice.get("index", 0) or 0)
                    if index in finished:
                        continue
                    guard = guard_for(index)
                    if kind == "chat":
                        delta = choice.get("delta") or {}
                        piece = delta.get("content") if isinstance(delta, dict) else None
                    else:
                        piece = choice.get("text")
                    reason = choice.get("finish_reason")
                    if isinstance(piece, str) and piece:
                        released = guard.feed(piece)
                        text = notices[index].feed(released.text) if released.text else ""
                        put_text(choice, text)
                        if released.stopped:
                            choice["finish_reason"] = None
                            if has_payload(choice):
                                out_choices.append(choice)
                            extra += finish_choice(index, template, "content_filter")
                            continue
                    if reason:
                        choice["finish_reason"] = None
                        if has_payload(choice):
                            out_choices.append(choice)
                        extra += finish_choice(index, template, str(reason))
                        continue
                    if has_payload(choice):
                        out_choices.append(choice)
                if out_choices:
                    state["chunks"] += 1
                    yield _sse({**template, "choices": out_choices})
                    last_write = time.monotonic()
                elif not chunk.get("choices") and chunk.get("usage") is not None:
                    yield _sse(chunk)  # the usage chunk of stream_options.include_usage
                for piece_bytes in extra:
                    state["chunks"] += 1
                    yield piece_bytes
                    last_write = time.monotonic()
                if (
                    not out_choices
                    and not extra
                    and time.monotonic() - last_write >= settings.gateway_keepalive_s
                ):
                    yield b": synthguard holding text for review\n\n"
                    last_write = time.monotonic()
                all_done = bool(guards) and all(finished.get(i) for i in guards)
                if all_done and "content_filter" in finished.values():
                    break  # every choice ended, one by review: stop the model now
            unfinished = [i for i in guards if i not in finished]
            if unfinished and not done_seen:
                # The upstream closed without [DONE] or finish_reason: a half-closed stream.
                yield _sse(
                    error_body(
                        UpstreamFailed(
                            "the model server closed the stream early", message_zh="模型服务提前关闭了流"
                        )
                    )
                )
                state["outcome"] = "upstream_closed"
                return
            for index in unfinished:
                for b in finish_choice(index, template or {"object": "chat.completion.chunk"}, "stop"):
                    yield b
            if not guards:
                yield _sse(
                    error_body(
                        UpstreamFailed("the model server sent no completion", message_zh="模型服务未返回内容")
                    )
                )
                state["outcome"] = "upstream_empty"
                return
            yield b"data: [DONE]\n\n"
            state["outcome"] = "content_filter" if "content_filter" in finished.values() else "complete"
        except StreamTimeout:  # mid-stream: tell the client in-band, never a traceback
            yield _sse(
                error_body(UpstreamTimeout("the model server stopped sending", message_zh="模型服务停止响应"))
            )
            state["outcome"] = "upstream_timeout"
        except StreamBroken:
            yield _sse(
                error_body(
                    UpstreamFailed("the model server connection broke", message_zh="与模型服务的连接中断")
                )
            )
            state["outcome"] = "upstream_broken"
        finally:
            # Runs on normal end, on error and when the client disconnects (the task is cancelled):
            # close the upstream (cancels generation there) and log exactly once.
            with anyio.CancelScope(shield=True):
                await opened.__aexit__(None, None, None)
                await _log_stream()

    async def _review_whole(raw: str) -> ReviewDecision | None:
        try:
            return await gw.review_out(caller, raw, service)
        except SynthguardError:
            return None

    async def _log_stream() -> None:
        # The record goes through the batching writer (as the non-stream answer's does): it shares
        # an fsync with concurrent answers and is still committed before the response completes.
        released = "".join(guards[i].raw[: guards[i].sent] for i in sorted(guards))
        raw = "".join(guards[i].raw for i in sorted(guards))
        decision = await _review_whole(raw) if raw else None
        hits = [
            {"term_category": m.entry.category, "action": a, "start": m.start, "end": m.end}
            for g in guards.values()
            for m, a in g.hits
        ][:50]
        await gw.alog(
            "gateway.generated",
            content_id,
            caller,
            service=service,
            model=upstream.model,
            stream=True,
            mode=settings.gateway_stream_mode,
            outcome=state["outcome"] if state["outcome"] != "incomplete" else "client_disconnected",
            prompt_sha256=in_decision.text_sha256,
            input_action=in_decision.action,
            output_sha256=hashlib.sha256(released.encode("utf-8")).hexdigest(),
            upstream_sha256=hashlib.sha256(raw.encode("utf-8")).hexdigest(),
            output_action=decision.action if decision else None,
            output_decision_id=decision.decision_id if decision else None,
            stream_hits=hits,
            finish_reasons=[finished.get(i) for i in sorted(guards)],
        )

    headers = gw.headers(content_id)
    headers.update({"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    return SSEResponse(generate(), media_type="text/event-stream", headers=headers)


def _chunk(
    template: dict[str, Any], index: int, kind: str, key: str, text: str | None, reason: str | None
) -> dict[str, Any]:
    if kind == "chat":
        choice: dict[str, Any] = {
            "index": index,
            "delta": {} if text is None else {"content": text},
            "finish_reason": reason,
        }
    else:
        choice = {"index": index, "text": text or "", "finish_reason": reason, "logprobs": None}
    base = dict(template) or {"object": "chat.completion.chunk" if kind == "chat" else "text_completion"}
    base.pop("usage", None)
    return {**base, "choices": [choice]}


@router.post("/v1/chat/completions", summary="OpenAI-compatible chat completions (stream and non-stream)")
async def chat_completions(request: Request) -> Response:
    return await _guarded(lambda: _text_endpoint(request, "chat"))


@router.post("/v1/completions", summary="OpenAI-compatible text completions (stream and non-stream)")
async def completions(request: Request) -> Response:
    return await _guarded(lambda: _text_endpoint(request, "completion"))


class FastRoutes:
    """Pure ASGI middleware: the two text endpoints without FastAPI's router and route layers.

    ``POST /v1/chat/completions`` and ``/v1/completions`` take the raw ``Request`` and answer with
    a ``Response`` (errors included, as OpenAI-shaped bodies), so FastAPI's route matching over
    every router, dependency solving, exception and exit-stack middlewares add nothing to them
    but CPU (less gateway CPU per request in every one of four paired runs on the 2-core box,
    by 2-25%; the box is noisy). The app adds this
    inside ``FilingHeader`` and uvicorn's and Starlette's error middlewares, so filing headers,
    the body limit and the 500 for an unexpected error stay as they were; the routes are still
    registered on the router for the OpenAPI document and any app built without this middleware.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            kind = _FAST_PATHS.get(scope["path"])
            if kind is not None:
                request = Request(scope, receive)
                response = await _guarded(lambda: _text_endpoint(request, kind))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


_FAST_PATHS = {"/v1/chat/completions": "chat", "/v1/completions": "completion"}


@router.get("/v1/models", summary="The models this gateway routes")
async def models(request: Request) -> Response:
    async def run() -> Response:
        gw = get_gateway(request)
        await gw.authenticate(request, scope="", capability="generate")  # any live key may list
        created = int(time.time())
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {"id": m, "object": "model", "created": created, "owned_by": "synthguard"}
                    for m in gw.upstreams.models
                ],
            }
        )

    return await _guarded(run)


# --- media ----------------------------------------------------------------------------------------


async def _label_media(gw: Gateway, data: bytes, suffix: str, content_id: str) -> bytes:
    """Explicit label, watermark (images) and signed implicit label, in one core call."""

    def work() -> bytes:
        gw.settings.uploads_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=gw.settings.uploads_dir) as folder:
            src = Path(folder) / f"in{suffix}"
            out = Path(folder) / f"out{suffix}"
            src.write_bytes(data)
            # watermark=None: images and video get the invisible watermark too when it applies
            # (issue #4 order: explicit label, watermark, then the signed implicit label).
            gw.core.label_file(src, out, produce_id=content_id, explicit=True, watermark=None)
            return out.read_bytes()

    return await run_in_threadpool(work)


def _decode_b64(value: object) -> bytes:
    if not isinstance(value, str):
        raise UpstreamFailed(
            "the model server returned an image without b64_json", message_zh="模型服务未返回图片数据"
        )
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise UpstreamFailed(
            "the model server returned invalid base64", message_zh="模型服务返回的图片数据无效"
        ) from None


async def _images_out(
    gw: Gateway,
    caller: Caller,
    upstream: Upstream,
    response_json: Any,
    in_decision: ReviewDecision,
    service: str,
    extra: dict[str, Any],
) -> Response:
    try:
        items = response_json["data"]
        assert isinstance(items, list)
    except (KeyError, TypeError, AssertionError):
        raise UpstreamFailed(
            "the model server answered something that is not an image list",
            message_zh="模型服务返回格式不正确",
        ) from None
    out: list[dict[str, Any]] = []
    ids: list[str] = []
    refused: list[str] = []
    for item in items:
        raw = _decode_b64(item.get("b64_json") if isinstance(item, dict) else None)
        decision: ReviewDecision = await run_in_threadpool(
            lambda raw=raw: gw.core.review_media(  # type: ignore[misc]
                raw,
                "image",
                service=service,
                direction="out",
                user_id=caller.user_id,
                user_status=_review_status(caller),
            )
        )
        if decision.refused:
            refused.append(decision.action)
            continue
        content_id = new_content_id()
        labeled = await _label_media(gw, raw, ".png", content_id)
        ids.append(content_id)
        out.append({"b64_json": base64.b64encode(labeled).decode("ascii")})
        await gw.alog(
            "gateway.generated",
            content_id,
            caller,
            service=service,
            model=upstream.model,
            prompt_sha256=in_decision.text_sha256,
            input_action=in_decision.action,
            upstream_sha256=hashlib.sha256(raw).hexdigest(),
            output_sha256=hashlib.sha256(labeled).hexdigest(),
            output_action=decision.action,
            **extra,
        )
    if not out:
        raise ContentBlocked(
            "every generated image was refused by review", message_zh="生成的图片均未通过审核"
        )
    headers = {HEADER_CONTENT_ID: ",".join(ids), HEADER_FILING: filing_header(gw.settings.filing_number)}
    return JSONResponse(
        {
            "created": int(time.time()),
            "data": out,
            "synthguard": {"content_ids": ids, "refused": len(refused)},
        },
        headers=headers,
    )


@router.post("/v1/images/generations", summary="OpenAI-compatible image generation, labeled")
async def image_generations(request: Request) -> Response:
    async def run() -> Response:
        gw = get_gateway(request)
        body = await gw.read_json(request)
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise InvalidRequest("'prompt' must be a non-empty string", message_zh="prompt 须为非空字符串")
        _check_common(body)
        upstream = gw.upstreams.route(body.get("model"))
        caller = await gw.authenticate(request, scope="images", capability="generate")
        in_decision = await gw.review_in(caller, prompt, "image")
        if in_decision.masked_text is not None:
            body["prompt"] = in_decision.masked_text
        body["response_format"] = "b64_json"  # we must see the pixels to label them
        response = await gw.upstreams.post_json(upstream, "/images/generations", body)
        return await _images_out(gw, caller, upstream, _json(response), in_decision, "image", {})

    return await _guarded(run)


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        raise UpstreamFailed(
            "the model server answered something that is not JSON", message_zh="模型服务返回的不是 JSON"
        ) from None


async def _consent_gate(
    gw: Gateway, caller: Caller, decision: ReviewDecision, consent_id: str, what: str
) -> str:
    """Art. 14: a face/voice of a real person may be edited only with that person's separate consent."""
    flagged = [
        f for f in decision.findings if f.risk in ("S.face", "S.voice") and f.label in ("face", "voice")
    ]
    if not flagged:
        return ""
    gate(caller.user, "biometric")
    if not consent_id:
        raise ConsentRequired(
            f"the {what} contains a {flagged[0].label} of a person; send the consent record ID of "
            f"that person (form field 'consent_id' or header {HEADER_CONSENT}) (Art. 14)",
            message_zh=f"{what}含有人脸或人声，编辑须提供被编辑人单独同意的记录编号（consent_id）（第十四条）",
        )
    # The consent records are governance's (gov_consents, issue #8): "face_edit" / "voice_clone" uses.
    use = "face_edit" if what == "image" else "voice_clone"
    ok = await run_in_threadpool(gw.core.has_valid_consent, consent_id, caller.user_id, use)
    if not ok:
        raise ConsentRequired(
            f"consent record {consent_id[:40]!r} does not exist, is not yours, does not cover {use}, "
            "was revoked or expired",
            message_zh="同意记录不存在、不属于本用户、已撤回或已过期",
        )
    return consent_id


@router.post(
    "/v1/images/edits", summary="OpenAI-compatible image edits; faces need a consent record (Art. 14)"
)
async def image_edits(request: Request) -> Response:
    async def run() -> Response:
        gw = get_gateway(request)
        limit = gw.settings.gateway_max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise RequestTooLarge(
                f"request body exceeds {limit:,} bytes", message_zh=f"请求体超过 {limit:,} 字节上限"
            )
        try:
            form = await request.form(max_part_size=limit)
        except Exception:  # starlette raises its own MultiPartException / ClientDisconnect types
            raise InvalidRequest(
                "the request must be multipart/form-data with an 'image' file",
                message_zh="请求须为含 image 文件的 multipart 表单",
            ) from None
        upload = form.get("image") or form.get("image[]")
        prompt = form.get("prompt")
        if upload is None or isinstance(upload, str):
            raise InvalidRequest("'image' must be a file", message_zh="image 须为文件")
        if not isinstance(prompt, str) or not prompt.strip():
            raise InvalidRequest("'prompt' must be a non-empty string", message_zh="prompt 须为非空字符串")
        image = await upload.read()
        if len(image) > limit:
            raise RequestTooLarge(f"image exceeds {limit:,} bytes", message_zh=f"图片超过 {limit:,} 字节上限")
        model = form.get("model") or "demo-image"
        upstream = gw.upstreams.route(model)
        caller = await gw.authenticate(request, scope="images", capability="generate")
        in_decision = await gw.review_in(caller, prompt, "image_edit")
        media_decision = await run_in_threadpool(
            lambda: gw.core.review_media(
                image,
                "image",
                service="image_edit",
                direction="in",
                user_id=caller.user_id,
                user_status=_review_status(caller),
            )
        )
        if media_decision.refused:
            raise ContentBlocked(
                media_decision.refusal_en or "the image was refused by review",
                message_zh=media_decision.refusal_zh or "图片未通过审核",
            )
        consent = str(form.get("consent_id") or request.headers.get(HEADER_CONSENT, ""))
        consent_used = await _consent_gate(gw, caller, media_decision, consent, "image")
        data = {k: v for k, v in form.items() if isinstance(v, str) and k in ("model", "n", "size", "user")}
        data["prompt"] = in_decision.masked_text or prompt
        data["response_format"] = "b64_json"
        response = await gw.upstreams.post_form(
            upstream,
            "/images/edits",
            data,
            {"image": ("image.png", image, upload.content_type or "image/png")},
        )
        return await _images_out(
            gw,
            caller,
            upstream,
            _json(response),
            in_decision,
            "image_edit",
            {"consent_id": consent_used or None, "source_sha256": hashlib.sha256(image).hexdigest()},
        )

    return await _guarded(run)


_AUDIO_TYPES = {"wav": ("audio/wav", ".wav"), "mp3": ("audio/mpeg", ".mp3"), "flac": ("audio/flac", ".flac")}


@router.post(
    "/v1/audio/speech", summary="OpenAI-compatible speech; cloned voices need a consent record (Art. 14)"
)
async def audio_speech(request: Request) -> Response:
    async def run() -> Response:
        gw = get_gateway(request)
        body = await gw.read_json(request)
        text, voice = body.get("input"), body.get("voice", "alloy")
        if not isinstance(text, str) or not text.strip():
            raise InvalidRequest("'input' must be a non-empty string", message_zh="input 须为非空字符串")
        if not isinstance(voice, str):
            raise InvalidRequest("'voice' must be a string", message_zh="voice 须为字符串")
        fmt = body.get("response_format") or "wav"
        if fmt not in _AUDIO_TYPES:
            raise InvalidRequest(
                f"response_format must be one of {', '.join(_AUDIO_TYPES)}", message_zh="不支持的音频格式"
            )
        upstream = gw.upstreams.route(body.get("model"))
        caller = await gw.authenticate(request, scope="audio", capability="generate")
        in_decision = await gw.review_in(caller, text, "speech")
        consent_used = ""
        if voice not in STANDARD_VOICES:
            # A voice that is not a preset is a cloned voice of a real person (Art. 14).
            flagged = ReviewDecision(
                action="pass",
                service="speech",
                direction="in",
                findings=[_voice_finding(voice)],
            )
            consent = str(body.pop("consent_id", "") or request.headers.get(HEADER_CONSENT, ""))
            consent_used = await _consent_gate(gw, caller, flagged, consent, "voice")
        body.pop("consent_id", None)
        body["input"] = in_decision.masked_text or text
        response = await gw.upstreams.post_json(upstream, "/audio/speech", body)
        media_type, suffix = _AUDIO_TYPES[fmt]
        content_id = new_content_id()
        labeled = await _label_media(gw, response.content, suffix, content_id)
        await gw.alog(
            "gateway.generated",
            content_id,
            caller,
            service="speech",
            model=upstream.model,
            prompt_sha256=in_decision.text_sha256,
            input_action=in_decision.action,
            voice=voice[:64],
            consent_id=consent_used or None,
            upstream_sha256=hashlib.sha256(response.content).hexdigest(),
            output_sha256=hashlib.sha256(labeled).hexdigest(),
        )
        return Response(labeled, media_type=media_type, headers=gw.headers(content_id))

    return await _guarded(run)


def _voice_finding(voice: str) -> Any:
    from synthguard.review import ReviewFinding

    return ReviewFinding(
        source="voice_id",
        risk="S.voice",
        risk_zh="含人声",
        risk_en="voice of a person",
        action="pass",
        label="voice",
        detail={"voice": voice[:64]},
    )


# --- publishing (Art. 9) ---------------------------------------------------------------------------


@router.post(
    "/v1/shares", summary="Publish/share a generated content ID (real-name verified users only, Art. 9)"
)
async def share(request: Request) -> Response:
    async def run() -> Response:
        gw = get_gateway(request)
        body = await gw.read_json(request)
        content_id = body.get("content_id")
        if not isinstance(content_id, str) or not 1 <= len(content_id) <= 64:
            raise InvalidRequest(
                "'content_id' must be a content ID string", message_zh="content_id 须为内容编号"
            )
        caller = await gw.authenticate(request, scope="publish", capability="publish")
        seq = await gw.alog("content.shared", content_id, caller)
        return JSONResponse(
            {"content_id": content_id, "shared": True, "ledger_seq": seq}, headers=gw.headers(content_id)
        )

    return await _guarded(run)
