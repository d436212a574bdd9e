"""``ReviewEngine``: library + classifiers + policy + queue, one call per text or media item.

Deep Synthesis Provisions Art. 10: review inputs and synthesis results by technical and manual
means, act on what is found, keep records. ``review_text`` scans the text against the library
(hot-reloaded), runs the text classifiers (Chinese PII, and the provider's HTTP moderation model
when configured), asks the policy for one decision, records it in ``review_decisions``, and opens a
human review item when the decision is ``review``. The core adds the ledger entry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from synthguard.config import Settings
from synthguard.errors import ClassifierUnavailable, InvalidText, TextTooLarge
from synthguard.identity.numbers import mask_identity_number
from synthguard.review.classifiers.base import Classifier, Content, Score
from synthguard.review.classifiers.pii import ChinesePII
from synthguard.review.keywords import Match
from synthguard.review.library import Library
from synthguard.review.payloads import ReviewVault
from synthguard.review.policy import (
    BLOCKED_STATUSES,
    DIRECTIONS,
    STRIKES_IN_A_ROW,
    STRIKES_PER_DAY,
    SUSPENDED_EN,
    SUSPENDED_ZH,
    Context,
    Policy,
    ReviewDecision,
    ReviewFinding,
    mask_text,
    refusal_text,
)
from synthguard.review.queue import ReviewQueue
from synthguard.review.taxonomy import Action, Risk, provider_code
from synthguard.store.models import ReviewDecision as DecisionRow
from synthguard.store.models import utcnow

MAX_SERVICE_CHARS = 32
MAX_RECORDED_SPANS = 200


def text_from_bytes(data: bytes, limit: int, what: str = "text") -> str:
    """UTF-8 text from bytes with the size limit checked first (no decode of a 100 MB blob)."""
    if len(data) > limit:
        raise TextTooLarge(
            f"{what} is {len(data):,} bytes; the review limit is {limit:,} bytes "
            "(SYNTHGUARD_REVIEW_MAX_BYTES)",
            message_zh=f"{what} 为 {len(data):,} 字节，超过审核上限 {limit:,} 字节",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidText(
            f"{what} is not valid UTF-8 (byte {exc.start}: {exc.reason})",
            message_zh=f"{what} 不是有效的 UTF-8 文本（第 {exc.start} 字节）",
        ) from None


class ReviewEngine:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.library = Library(sessions, poll_s=settings.review_library_poll_s)
        self.queue = ReviewQueue(
            sessions,
            vault=ReviewVault.from_settings(settings),
            deadline_h=settings.review_queue_deadline_h,
            media_max_bytes=settings.review_media_max_bytes,
            retention_days=settings.review_retention_days,
        )
        self.policy = Policy.from_file(settings.review_policy_file)
        self._text_classifiers: list[Classifier] = [ChinesePII()]
        self._risks: tuple[int, dict[str, Risk]] | None = None  # (library version, risk table)
        self._media: dict[str, list[Classifier]] = {}
        self._media_lock = threading.Lock()
        self._remote: Classifier | None = None
        if settings.review_moderation_url:
            from synthguard.review.classifiers.http import HttpModeration

            self._remote = HttpModeration(
                settings.review_moderation_url,
                name="provider_model",
                timeout_s=settings.review_moderation_timeout_s,
            )

    # --- text -------------------------------------------------------------------------------------

    def check_text(self, text: str) -> None:
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > self.settings.review_max_bytes:
            raise TextTooLarge(
                f"text is {size:,} bytes; the review limit is {self.settings.review_max_bytes:,} bytes "
                "(SYNTHGUARD_REVIEW_MAX_BYTES)",
                message_zh=f"文本为 {size:,} 字节，超过审核上限 {self.settings.review_max_bytes:,} 字节",
            )

    def review_text(self, text: str, ctx: Context, *, record: bool = True) -> ReviewDecision:
        self.check_text(text)
        ctx = _checked(ctx)
        matcher = self.library.matcher()
        risks = self.risks(matcher.version)
        if ctx.direction == "in" and ctx.user_status in BLOCKED_STATUSES:
            decision = ReviewDecision(
                action=Action.BLOCK.value,
                service=ctx.service,
                direction=ctx.direction,
                user_id=ctx.user_id,
                reasons=[f"user is {ctx.user_status}"],
                refusal_zh=SUSPENDED_ZH,
                refusal_en=SUSPENDED_EN,
                library_version=matcher.version,
            )
            return self._finish(decision, text, ctx, record)
        findings = [self._keyword_finding(m, ctx, risks) for m in matcher.scan(text)]
        content = Content("text", text=text)
        scores: list[Score] = []
        for classifier in self._text_classifiers:
            scores += classifier.classify(content)
        findings += self._classifier_findings(scores, ctx, risks)
        findings += self._remote_findings(content, ctx, risks)
        for f in findings:
            if f.source != "keyword" and f.start is not None and f.end is not None:
                excerpt = text[f.start : f.end]
                # Personal information is shown masked, even to the caller that sent it.
                f.text = mask_identity_number(excerpt) if f.risk in ("A.4.e", "A.4.f") else excerpt
        decision = self._decide(findings, ctx, risks, text)
        decision.library_version = matcher.version
        return self._finish(decision, text, ctx, record)

    def text_review_is_local(self) -> bool:
        """Whether ``review_text(..., record=False)`` needs no store or network round trip right
        now: the matcher was polled within ``poll_s``, the risk table of its version is cached and
        no remote moderation service reviews text. The gateway then reviews on its event loop
        instead of paying a worker-thread hand-off (the review is CPU-only, tens of us)."""
        if self._remote is not None and "text" in self._remote.modalities:
            return False
        matcher = self.library.fresh()
        cached = self._risks
        return matcher is not None and cached is not None and cached[0] == matcher.version

    def scan(self, text: str) -> list[Match]:
        self.check_text(text)
        return self.library.matcher().scan(text)

    # --- media ------------------------------------------------------------------------------------

    def media_classifiers(self, modality: str) -> list[Classifier]:
        """Loaded on first use: the ONNX and cascade models cost ~0.3 s to load, never per request."""
        with self._media_lock:
            if modality not in self._media:
                from synthguard.review.classifiers import (
                    FaceDetector,
                    NudityClassifier,
                    VideoFrames,
                    VoiceDetector,
                )

                if modality == "image":
                    self._media["image"] = [FaceDetector(), NudityClassifier()]
                elif modality == "audio":
                    self._media["audio"] = [VoiceDetector()]
                elif modality == "video":
                    face, nude = FaceDetector(), NudityClassifier()
                    self._media["video"] = [VideoFrames([face, nude])]
                else:
                    raise InvalidText(f"unknown modality {modality!r}; use image, audio or video")
            return self._media[modality]

    def review_media(
        self, data: bytes, modality: str, ctx: Context, *, record: bool = True
    ) -> ReviewDecision:
        ctx = _checked(ctx)
        risks = self.risks()
        content = Content(modality, data=data)
        scores: list[Score] = []
        for classifier in self.media_classifiers(modality):
            scores += classifier.classify(content)
        findings = self._classifier_findings(scores, ctx, risks)
        findings += self._remote_findings(content, ctx, risks)
        decision = self._decide(findings, ctx, risks, "")
        digest = hashlib.sha256(data).hexdigest()
        return self._finish(decision, "", ctx, record, digest=digest, media=True, media_data=data)

    def risks(self, version: int | None = None) -> dict[str, Risk]:
        """The risk table, read from the store once per library version (shared: do not mutate).

        Risk rows change only inside a library import, and every import publishes a new version,
        so the version the hot-reloading matcher already polls for is the cache key: a review call
        costs no risk query, and a replica sees another's new categories with the new version.
        """
        if version is None:
            version = self.library.matcher().version
        cached = self._risks
        if cached is not None and cached[0] == version:
            return cached[1]
        risks = self.library.risks()
        self._risks = (version, risks)
        return risks

    # --- building the decision -------------------------------------------------------------------

    def _risk(self, code: str, risks: dict[str, Risk]) -> Risk:
        risk = risks.get(code)
        if risk is None:
            risk = Risk(code, code.split(".", 1)[0], code, code, Action.REVIEW, builtin=False)
        return risk

    def _keyword_finding(self, m: Match, ctx: Context, risks: dict[str, Risk]) -> ReviewFinding:
        risk = self._risk(m.entry.category, risks)
        base = Action(m.entry.action) if m.entry.action else risk.default_action
        action, _reason = self.policy.action_for(ctx, risk, base, m.entry.severity, 1.0)
        return ReviewFinding(
            source="keyword",
            risk=risk.code,
            risk_zh=risk.name_zh,
            risk_en=risk.name_en,
            action=action.value,
            severity=m.entry.severity,
            start=m.start,
            end=m.end,
            text=m.text,
            term=m.entry.term,
            variant=m.variant,
        )

    def _classifier_findings(
        self, scores: Sequence[Score], ctx: Context, risks: dict[str, Risk]
    ) -> list[ReviewFinding]:
        out: list[ReviewFinding] = []
        for s in scores:
            if s.score < self.policy.score_threshold:
                continue
            risk = self._risk(s.risk, risks)
            action, reason = self.policy.action_for(ctx, risk, risk.default_action, 3, s.score)
            detail: dict[str, Any] = dict(s.detail)
            if reason:
                detail["rule"] = reason
            out.append(
                ReviewFinding(
                    source=s.classifier,
                    risk=risk.code,
                    risk_zh=risk.name_zh,
                    risk_en=risk.name_en,
                    action=action.value,
                    score=s.score,
                    start=s.start,
                    end=s.end,
                    label=s.label,
                    detail=detail,
                )
            )
        return out

    def _remote_findings(self, content: Content, ctx: Context, risks: dict[str, Risk]) -> list[ReviewFinding]:
        if self._remote is None or content.modality not in self._remote.modalities:
            return []
        try:
            return self._classifier_findings(self._remote.classify(content), ctx, risks)
        except ClassifierUnavailable as exc:
            # Fail closed by default: an unanswered check goes to a human, never silently passes.
            action = Action(self.settings.review_moderation_fail)
            if action is Action.PASS:
                return []
            risk = self._risk(provider_code("classifier_unavailable"), risks)
            return [
                ReviewFinding(
                    source=self._remote.name,
                    risk=risk.code,
                    risk_zh="审核服务不可用",
                    risk_en="moderation service unavailable",
                    action=action.value,
                    label="unavailable",
                    detail={"error": exc.message},
                )
            ]

    def _decide(
        self, findings: list[ReviewFinding], ctx: Context, risks: dict[str, Risk], text: str
    ) -> ReviewDecision:
        action = Action.worst([Action(f.action) for f in findings])
        acting = [f for f in findings if Action(f.action).rank > Action.PASS.rank]
        categories = list(dict.fromkeys(f.risk for f in acting))
        # Reasons are stored with the decision row, so they name where a term matched, never the
        # matched text itself: a regex hit can be a user's contact details (requirements "Logs":
        # personal data only encrypted). The caller still gets the text in ``findings``.
        reasons = [
            f"{f.risk} {f.risk_en}: {f.source}"
            + (
                f" {f.variant} match at {f.start}-{f.end}"
                if f.source == "keyword"
                else f" {f.label} {f.score:.2f}"
            )
            + f" -> {f.action}"
            for f in acting
        ]
        decision = ReviewDecision(
            action=action.value,
            service=ctx.service,
            direction=ctx.direction,
            user_id=ctx.user_id,
            reasons=reasons,
            categories=categories,
            findings=findings,
        )
        if action is Action.MASK and text:
            spans = [
                (f.start, f.end)
                for f in findings
                if f.action == "mask" and f.start is not None and f.end is not None
            ]
            decision.masked_text = mask_text(text, spans)
        return decision

    def _finish(
        self,
        decision: ReviewDecision,
        text: str,
        ctx: Context,
        record: bool,
        *,
        digest: str | None = None,
        media: bool = False,
        media_data: bytes | None = None,
    ) -> ReviewDecision:
        decision.text_sha256 = digest or hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        action = Action(decision.action)
        if record and action.rank >= Action.BLOCK.rank and ctx.direction == "in" and ctx.user_id:
            strike = self._strikes(ctx.user_id)
            if strike:
                action = Action.SANCTION
                decision.action = action.value
                decision.reasons.append(strike)
        risks = self.risks(decision.library_version or None)
        zh, en = refusal_text(action, [self._risk(c, risks) for c in decision.categories])
        decision.refusal_zh = decision.refusal_zh or zh
        decision.refusal_en = decision.refusal_en or en
        if not record:
            return decision
        with self.sessions.begin() as session:
            row = DecisionRow(**_row_values(decision, ctx, len(text)))
            session.add(row)
            session.flush()
            decision.decision_id = row.id
            if action is Action.REVIEW:
                decision.queue_item_id = self.queue.enqueue(
                    text if not media else f"[{decision.text_sha256}]",
                    decision_id=row.id,
                    service=ctx.service,
                    direction=ctx.direction,
                    user_id=ctx.user_id,
                    categories=decision.categories,
                    content_sha256=decision.text_sha256,
                    media=media_data,  # sealed with the item for the console's preview
                    session=session,
                )
        return decision

    def _strikes(self, user_id: str) -> str:
        """TC260-003: 3 violating inputs in a row, or 5 in a day, suspend the service for the user."""
        since = utcnow() - dt.timedelta(days=1)
        with self.sessions() as session:
            recent = list(
                session.scalars(
                    select(DecisionRow.action)
                    .where(DecisionRow.user_id == user_id, DecisionRow.direction == "in")
                    .order_by(DecisionRow.id.desc())
                    .limit(STRIKES_IN_A_ROW - 1)
                )
            )
            today = session.scalar(
                select(func.count())
                .select_from(DecisionRow)
                .where(
                    DecisionRow.user_id == user_id,
                    DecisionRow.direction == "in",
                    DecisionRow.created_at >= since,
                    DecisionRow.action.in_(("block", "sanction")),
                )
            )
        bad = {"block", "sanction"}
        if len(recent) == STRIKES_IN_A_ROW - 1 and all(a in bad for a in recent):
            return f"{STRIKES_IN_A_ROW} violating inputs in a row: user sanctioned (TC260-003)"
        if int(today or 0) + 1 >= STRIKES_PER_DAY:
            return f"{STRIKES_PER_DAY} violating inputs within 24 hours: user sanctioned (TC260-003)"
        return ""

    def record_decision(
        self, conn: Connection, decision: ReviewDecision, ctx: Context, text_chars: int
    ) -> int:
        """Store a decision reviewed with ``record=False`` on the caller's open transaction.

        For decisions that open no review item and count no strike (pass, mask): the gateway writes
        the row in the transaction that also commits the decision's ledger entry, one commit for
        both instead of a row, an entry and a ``ledger_ref`` update each committing on its own.
        """
        if Action(decision.action).rank >= Action.REVIEW.rank:
            raise InvalidText(
                f"a {decision.action!r} decision is recorded by review_text (queue, strikes)",
                message_zh="该审核结论须由 review_text 记录",
            )
        inserted = conn.execute(_INSERT_DECISION, _row_values(decision, ctx, text_chars))
        key = inserted.inserted_primary_key
        assert key is not None  # an INSERT of one row always has its key
        decision.decision_id = int(key[0])
        return decision.decision_id

    def record_decisions(
        self, conn: Connection, rows: Sequence[tuple[ReviewDecision, Context, int, str]]
    ) -> None:
        """:meth:`record_decision` for several ``(decision, ctx, text_chars, ledger_ref)`` on the
        caller's transaction, each row already holding the ledger seq its entry will get (see
        ``Ledger.next_seq``), so no ``ledger_ref`` UPDATE follows. Sets each ``decision_id`` and
        ``ledger_ref``."""
        for decision, _, _, _ in rows:
            if Action(decision.action).rank >= Action.REVIEW.rank:
                raise InvalidText(
                    f"a {decision.action!r} decision is recorded by review_text (queue, strikes)",
                    message_zh="该审核结论须由 review_text 记录",
                )
        values = [{**_row_values(d, ctx, chars), "ledger_ref": ref[:64]} for d, ctx, chars, ref in rows]
        if conn.dialect.name == "sqlite":
            # The driver's cursor, in the same transaction: the gateway writes a row per request,
            # and SQLAlchemy's per-statement work was most of its cost. The values go through the
            # column types' own bind processors, so the stored text is what the ORM writes.
            sql, processors = _raw_insert(conn.dialect)
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                ids = []
                for value in values:
                    value["created_at"] = utcnow()
                    cursor.execute(sql, [p(value[c]) if p else value[c] for c, p in processors])
                    ids.append(int(cursor.lastrowid))
            finally:
                cursor.close()
        elif len(rows) > 1 and conn.dialect.insert_executemany_returning_sort_by_parameter_order:
            ids = [int(i) for i in conn.execute(_INSERT_DECISIONS, values).scalars()]
        else:  # one row, or a driver that cannot return many keys in order: one INSERT each
            ids = []
            for value in values:
                key = conn.execute(_INSERT_DECISION, value).inserted_primary_key
                assert key is not None  # an INSERT of one row always has its key
                ids.append(int(key[0]))
        for (decision, _, _, ref), decision_id in zip(rows, ids, strict=True):
            decision.decision_id, decision.ledger_ref = decision_id, ref[:64]

    def set_ledger_ref(self, decision_id: int, ref: str, *, conn: Connection | None = None) -> None:
        if conn is not None:
            conn.execute(_SET_LEDGER_REF, {"b_id": decision_id, "b_ref": ref[:64]})
            return
        with self.sessions.begin() as session:
            row = session.get(DecisionRow, decision_id)
            if row is not None:
                row.ledger_ref = ref[:64]

    def decisions(self, *, user_id: str | None = None, limit: int = 100) -> list[DecisionRow]:
        query = select(DecisionRow).order_by(DecisionRow.id.desc()).limit(max(1, min(limit, 1000)))
        if user_id:
            query = query.where(DecisionRow.user_id == user_id)
        with self.sessions() as session:
            return list(session.scalars(query))


# Built once: a statement object reused with parameters skips SQLAlchemy's per-call statement
# construction and cache-key walk (most of a hot-path row write's cost).
_DECISIONS = cast(Table, DecisionRow.__table__)
_INSERT_DECISION = insert(_DECISIONS)
_INSERT_DECISIONS = insert(_DECISIONS).returning(_DECISIONS.c.id, sort_by_parameter_order=True)
_RAW_COLUMNS = (
    "created_at",
    "service",
    "direction",
    "user_id",
    "user_status",
    "action",
    "categories",
    "reasons",
    "spans",
    "text_sha256",
    "text_chars",
    "library_version",
    "ledger_ref",
)
_raw_inserts: dict[int, tuple[str, list[tuple[str, Any]]]] = {}


def _raw_insert(dialect: Any) -> tuple[str, list[tuple[str, Any]]]:
    """The decision row INSERT for the driver (qmark) and each column's bind processor."""
    found = _raw_inserts.get(id(dialect))
    if found is None:
        processors = [
            (name, _DECISIONS.c[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in _RAW_COLUMNS
        ]
        sql = (
            f"INSERT INTO {_DECISIONS.name} ({', '.join(_RAW_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in _RAW_COLUMNS)})"
        )
        found = _raw_inserts[id(dialect)] = (sql, processors)
    return found


_SET_LEDGER_REF = (
    update(_DECISIONS).where(_DECISIONS.c.id == bindparam("b_id")).values(ledger_ref=bindparam("b_ref"))
)


def _row_values(decision: ReviewDecision, ctx: Context, text_chars: int) -> dict[str, Any]:
    """The ``review_decisions`` row of a decision: digests, spans and reasons, never the text."""
    spans = [
        {"start": f.start, "end": f.end, "risk": f.risk, "source": f.source}
        for f in decision.findings
        if f.start is not None
    ][:MAX_RECORDED_SPANS]
    return {
        "service": ctx.service,
        "direction": ctx.direction,
        "user_id": ctx.user_id,
        "user_status": ctx.user_status,
        "action": decision.action,
        "categories": decision.categories,
        "reasons": decision.reasons[:MAX_RECORDED_SPANS],
        "spans": spans,
        "text_sha256": decision.text_sha256,
        "text_chars": text_chars,
        "library_version": decision.library_version,
    }


def _checked(ctx: Context) -> Context:
    if ctx.direction not in DIRECTIONS:
        raise InvalidText(
            f"direction must be 'in' or 'out', not {ctx.direction!r}", message_zh="方向须为 in 或 out"
        )
    if not ctx.service or len(ctx.service) > MAX_SERVICE_CHARS:
        raise InvalidText(
            f"service type must have 1-{MAX_SERVICE_CHARS} characters", message_zh="服务类型无效"
        )
    return ctx
