"""The human review queue: items, claim / decide / escalate / release, reviewer notes, deadlines.

Deep Synthesis Provisions Art. 10 asks for manual review beside technical review. An item is open
until a reviewer claims it; a claim is one conditional ``UPDATE ... WHERE status IN (open,
escalated)``, so when two reviewers (or two replicas) claim at once exactly one row count is 1 and
the other gets ``QueueConflict``. Every state change is also written as a note, so the item's
history is its audit trail.

What the reviewer must look at (the queued text, and the image/audio/video of a media item) is
personal data, so it is never stored in clear: it lives in ``review_payloads`` sealed by
:class:`synthguard.review.payloads.ReviewVault`, media up to ``review_media_max_bytes``. When a
decided item's retention ends, :meth:`ReviewQueue.purge` erases the sealed fields and destroys the
data keys of months with nothing sealed left (as :meth:`synthguard.ledger.Ledger.purge` does).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from synthguard.errors import NotFound, QueueConflict, SynthguardError
from synthguard.review.payloads import ReviewVault, period_of, sniff_media_type
from synthguard.store.models import ReviewPayload, ReviewQueueItem, ReviewQueueNote, utcnow

CLAIMABLE = ("open", "escalated")
OUTCOMES = ("pass", "mask", "block", "sanction")
STATUSES = ("open", "claimed", "escalated", "decided")
MAX_NOTE_CHARS = 10_000
LEGACY_BATCH = 500
SEALED_NOTE = "sg-sealed:v1:"  # a stored note body: this prefix, the month, ":", base64(nonce + AES-GCM)


class QueueNote(BaseModel):
    author: str
    kind: str
    body: str
    created_at: dt.datetime


class QueueItem(BaseModel):
    schema_: int = Field(default=1, alias="schema")
    id: int
    decision_id: int | None
    status: str
    level: int
    priority: int
    service: str
    direction: str
    user_id: str
    categories: list[str]
    content: str
    created_at: dt.datetime
    due_at: dt.datetime
    overdue: bool
    claimed_by: str
    decided_by: str
    outcome: str
    notes: list[QueueNote] = Field(default_factory=list)
    content_sha256: str = ""
    media_type: str = Field(default="", description="Sniffed type of the kept media; '' if none.")
    media_size: int = 0
    media_note: str = Field(default="", description="'too_large' (digest only) or 'erased' (retention).")
    erased: bool = False

    model_config = {"populate_by_name": True}

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _view(
    row: ReviewQueueItem,
    notes: list[tuple[ReviewQueueNote, str]] | None = None,
    *,
    text: str | None = None,
    payload: Any = None,
) -> QueueItem:
    due = _aware(row.due_at)
    return QueueItem(
        id=row.id,
        decision_id=row.decision_id,
        status=row.status,
        level=row.level,
        priority=row.priority,
        service=row.service,
        direction=row.direction,
        user_id=row.user_id,
        categories=list(row.categories or []),
        content=row.content if text is None else text,
        created_at=_aware(row.created_at),
        due_at=due,
        overdue=row.status != "decided" and due < utcnow(),
        claimed_by=row.claimed_by,
        decided_by=row.decided_by,
        outcome=row.outcome,
        notes=[
            QueueNote(author=n.author, kind=n.kind, body=body, created_at=_aware(n.created_at))
            for n, body in notes or []
        ],
        content_sha256=row.content_sha256,
        media_type=payload.media_type if payload is not None else "",
        media_size=int(payload.media_size or 0) if payload is not None else 0,
        media_note=payload.media_note if payload is not None else "",
        erased=payload is not None and payload.erased_at is not None,
    )


# The payload columns a view needs; the sealed media is read only when it is served.
_PAYLOAD_COLUMNS = (
    ReviewPayload.item_id,
    ReviewPayload.period,
    ReviewPayload.text_sealed,
    ReviewPayload.media_type,
    ReviewPayload.media_size,
    ReviewPayload.media_note,
    ReviewPayload.erased_at,
)


def _digest(content: str, media: bytes | None) -> str:
    return hashlib.sha256(
        media if media is not None else content.encode("utf-8", "surrogatepass")
    ).hexdigest()


def _require_name(reviewer: str) -> str:
    name = reviewer.strip()
    if not name or len(name) > 128:
        raise SynthguardError("a reviewer name (1-128 characters) is required", message_zh="须提供审核员名称")
    return name


class ReviewQueue:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        vault: ReviewVault,
        deadline_h: float = 24.0,
        media_max_bytes: int = 20 * 1024**2,
        retention_days: int = 184,
    ) -> None:
        self.sessions = sessions
        self.vault = vault
        self.deadline = dt.timedelta(hours=deadline_h)
        self.media_max_bytes = media_max_bytes
        self.retention = dt.timedelta(days=retention_days)
        self.seal_legacy()

    # --- sealed payloads -----------------------------------------------------------------------------

    def _store_payload(
        self, session: Session, item_id: int, created: dt.datetime, text: str, media: bytes | None
    ) -> None:
        period = period_of(created)
        row = ReviewPayload(
            item_id=item_id,
            period=period,
            text_sealed=self.vault.seal(
                session, item_id, period, "text", text.encode("utf-8", "surrogatepass")
            ),
            media_type="",
            media_size=0,
            media_note="",
        )
        if media is not None:
            row.media_size = len(media)
            if len(media) > self.media_max_bytes:
                row.media_note = "too_large"  # the item keeps its SHA-256 digest only
            else:
                row.media_type = sniff_media_type(media)
                row.media_sealed = self.vault.seal(session, item_id, period, "media", media)
        session.add(row)

    def _text(self, session: Session, payload: Any) -> str:
        if payload is None or payload.text_sealed is None:
            return ""
        plain = self.vault.open(session, payload.item_id, payload.period, "text", bytes(payload.text_sealed))
        return "" if plain is None else plain.decode("utf-8", "surrogatepass")

    def _seal_note(self, session: Session, item_id: int, body: str) -> str:
        """A note as stored: reviewers quote what they review, so a note is sealed like the item's
        text, under the item's month key (erased with it); an empty state-change note stays empty."""
        if not body:
            return ""
        period = session.scalar(select(ReviewPayload.period).where(ReviewPayload.item_id == item_id))
        period = period or period_of(utcnow())
        sealed = self.vault.seal(session, item_id, period, "note", body.encode("utf-8", "surrogatepass"))
        return f"{SEALED_NOTE}{period}:{base64.b64encode(sealed).decode('ascii')}"

    def _open_note(self, session: Session, item_id: int, stored: str) -> str:
        """A note's text: sealed ones opened, notes from before sealing as they were, "" once
        retention erased the note or destroyed its month's key."""
        if not stored.startswith(SEALED_NOTE):
            return stored
        period, _, encoded = stored[len(SEALED_NOTE) :].partition(":")
        try:
            sealed = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise SynthguardError(
                f"a sealed note of review item {item_id} is damaged",
                message_zh=f"审核任务 {item_id} 的加密备注已损坏",
            ) from None
        plain = self.vault.open(session, item_id, period, "note", sealed)
        return "" if plain is None else plain.decode("utf-8", "surrogatepass")

    def media(self, item_id: int) -> tuple[bytes, str] | None:
        """The kept media of an item and its sniffed type; None if it has none (any more)."""
        with self.sessions() as session:
            row = session.execute(
                select(ReviewPayload.period, ReviewPayload.media_type, ReviewPayload.media_sealed).where(
                    ReviewPayload.item_id == item_id
                )
            ).one_or_none()
            if row is None or row.media_sealed is None:
                return None
            plain = self.vault.open(session, item_id, row.period, "media", bytes(row.media_sealed))
        return None if plain is None else (plain, row.media_type)

    def seal_legacy(self) -> int:
        """Move text and notes stored in clear before sealing into sealed form; returns the count.

        Alembic never holds the keys, so this runs when a queue is opened with them. Each batch is
        one transaction: the sealed copy and the blanked clear column commit together."""
        moved = 0
        while True:
            with self.sessions.begin() as session:
                rows = list(
                    session.scalars(
                        select(ReviewQueueItem)
                        .where(ReviewQueueItem.content != "")
                        .order_by(ReviewQueueItem.id)
                        .limit(LEGACY_BATCH)
                    )
                )
                for row in rows:
                    existing = session.get(ReviewPayload, row.id)
                    if existing is None:
                        self._store_payload(session, row.id, _aware(row.created_at), row.content, None)
                    row.content = ""
                notes = list(
                    session.scalars(
                        select(ReviewQueueNote)
                        .where(ReviewQueueNote.body != "", ReviewQueueNote.body.not_like(f"{SEALED_NOTE}%"))
                        .order_by(ReviewQueueNote.id)
                        .limit(LEGACY_BATCH)
                    )
                )
                for note in notes:
                    note.body = self._seal_note(session, note.item_id, note.body)
                moved += len(rows) + len(notes)
            if len(rows) < LEGACY_BATCH and len(notes) < LEGACY_BATCH:
                return moved

    def purge(self, *, now: dt.datetime | None = None) -> dict[str, Any]:
        """Erase the sealed text and media of decided items past retention, then destroy the data
        keys of months with nothing sealed left. Items still open keep theirs: a reviewer must see
        what they decide. Idempotent; run it from cron like ``synthguard ledger purge``."""
        at = now or utcnow()
        cutoff = at - self.retention
        with self.sessions.begin() as session:
            doomed = select(ReviewQueueItem.id).where(
                ReviewQueueItem.status == "decided", ReviewQueueItem.created_at < cutoff
            )
            # Items that kept media say it was erased; text-only items just carry erased_at.
            session.execute(
                update(ReviewPayload)
                .where(
                    ReviewPayload.item_id.in_(doomed),
                    ReviewPayload.erased_at.is_(None),
                    ReviewPayload.media_sealed.is_not(None),
                )
                .values(media_note="erased")
            )
            session.execute(
                update(ReviewQueueNote)
                .where(ReviewQueueNote.item_id.in_(doomed), ReviewQueueNote.body != "")
                .values(body="")
            )
            erased = session.execute(
                update(ReviewPayload)
                .where(ReviewPayload.item_id.in_(doomed), ReviewPayload.erased_at.is_(None))
                .values(text_sealed=None, media_sealed=None, erased_at=at)
            ).rowcount  # type: ignore[attr-defined]
            still_sealed = set(
                session.scalars(
                    select(ReviewPayload.period)
                    .where(
                        (ReviewPayload.text_sealed.is_not(None)) | (ReviewPayload.media_sealed.is_not(None))
                    )
                    .group_by(ReviewPayload.period)
                )
            )
            months = sorted(
                p for p in self.vault.live_periods(session) if p < period_of(cutoff) and p not in still_sealed
            )
            self.vault.destroy_keys(session, months)
        return {
            "ran_at": at.isoformat(),
            "cutoff": cutoff.isoformat(),
            "retention_days": self.retention.days,
            "payloads_erased": int(erased or 0),
            "keys_destroyed": months,
        }

    # --- the queue -----------------------------------------------------------------------------------

    def enqueue(
        self,
        content: str,
        *,
        decision_id: int | None = None,
        service: str = "",
        direction: str = "",
        user_id: str = "",
        categories: list[str] | None = None,
        priority: int = 3,
        content_sha256: str = "",
        media: bytes | None = None,
        session: Session | None = None,
    ) -> int:
        """Queue ``content`` (and ``media``, the bytes of an image/audio/video item) for a human;
        both are sealed, never stored in clear."""
        now = utcnow()
        row = ReviewQueueItem(
            decision_id=decision_id,
            created_at=now,
            updated_at=now,
            status="open",
            level=1,
            priority=priority,
            service=service,
            direction=direction,
            user_id=user_id,
            categories=categories or [],
            content="",
            content_sha256=content_sha256
            or hashlib.sha256(
                media if media is not None else content.encode("utf-8", "surrogatepass")
            ).hexdigest(),
            due_at=now + self.deadline,
            lock_version=0,
        )
        if session is not None:
            session.add(row)
            session.flush()
            self._store_payload(session, row.id, now, content, media)
            return row.id
        with self.sessions.begin() as own:
            own.add(row)
            own.flush()
            self._store_payload(own, row.id, now, content, media)
            return row.id

    def get(self, item_id: int) -> QueueItem:
        with self.sessions() as session:
            row = session.get(ReviewQueueItem, item_id)
            if row is None:
                raise NotFound(
                    f"review item {item_id} does not exist", message_zh=f"审核任务 {item_id} 不存在"
                )
            notes = list(
                session.scalars(
                    select(ReviewQueueNote)
                    .where(ReviewQueueNote.item_id == item_id)
                    .order_by(ReviewQueueNote.id)
                )
            )
            payload = session.execute(
                select(*_PAYLOAD_COLUMNS).where(ReviewPayload.item_id == item_id)
            ).one_or_none()
            opened = [(n, self._open_note(session, item_id, n.body)) for n in notes]
            return _view(row, opened, text=self._text(session, payload), payload=payload)

    def list(self, *, status: str | None = None, overdue: bool = False, limit: int = 100) -> list[QueueItem]:
        query = select(ReviewQueueItem)
        if status:
            if status not in STATUSES:
                raise SynthguardError(f"unknown status {status!r}; use one of {', '.join(STATUSES)}")
            query = query.where(ReviewQueueItem.status == status)
        if overdue:
            query = query.where(ReviewQueueItem.status != "decided").where(ReviewQueueItem.due_at < utcnow())
        query = query.order_by(ReviewQueueItem.priority.desc(), ReviewQueueItem.due_at).limit(
            max(1, min(limit, 1000))
        )
        with self.sessions() as session:
            rows = list(session.scalars(query))
            payloads = {
                p.item_id: p
                for p in session.execute(
                    select(*_PAYLOAD_COLUMNS).where(ReviewPayload.item_id.in_([r.id for r in rows]))
                )
            }
            return [
                _view(r, text=self._text(session, payloads.get(r.id)), payload=payloads.get(r.id))
                for r in rows
            ]

    def claim(self, item_id: int, reviewer: str) -> QueueItem:
        name = _require_name(reviewer)
        now = utcnow()
        with self.sessions.begin() as session:
            result = session.execute(
                update(ReviewQueueItem)
                .where(ReviewQueueItem.id == item_id, ReviewQueueItem.status.in_(CLAIMABLE))
                .values(
                    status="claimed",
                    claimed_by=name,
                    claimed_at=now,
                    updated_at=now,
                    lock_version=ReviewQueueItem.lock_version + 1,
                )
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                self._conflict(session, item_id, "claim")
            session.add(ReviewQueueNote(item_id=item_id, author=name, kind="claim", body="", created_at=now))
        return self.get(item_id)

    def claim_next(self, reviewer: str) -> QueueItem | None:
        """Claim the most urgent claimable item; losing a race moves on to the next one."""
        for item in self.list(status=None, limit=50):
            if item.status not in CLAIMABLE:
                continue
            try:
                return self.claim(item.id, reviewer)
            except QueueConflict:
                continue
        return None

    def decide(self, item_id: int, reviewer: str, outcome: str, note: str = "") -> QueueItem:
        name = _require_name(reviewer)
        if outcome not in OUTCOMES:
            raise SynthguardError(
                f"outcome must be one of {', '.join(OUTCOMES)}",
                message_zh=f"审核结论须为 {'/'.join(OUTCOMES)}",
            )
        self._transition(
            item_id,
            name,
            "decide",
            note,
            status="decided",
            outcome=outcome,
            decided_by=name,
            decided_at=utcnow(),
        )
        return self.get(item_id)

    def escalate(self, item_id: int, reviewer: str, note: str = "") -> QueueItem:
        """Hand the item to a senior reviewer: claimable again one level up, with a new deadline."""
        name = _require_name(reviewer)
        self._transition(
            item_id,
            name,
            "escalate",
            note,
            status="escalated",
            claimed_by="",
            level=ReviewQueueItem.level + 1,
            due_at=utcnow() + self.deadline,
        )
        return self.get(item_id)

    def release(self, item_id: int, reviewer: str, note: str = "") -> QueueItem:
        name = _require_name(reviewer)
        self._transition(item_id, name, "release", note, status="open", claimed_by="")
        return self.get(item_id)

    def add_note(self, item_id: int, author: str, body: str) -> QueueItem:
        name = _require_name(author)
        if not body.strip() or len(body) > MAX_NOTE_CHARS:
            raise SynthguardError(f"a note needs 1-{MAX_NOTE_CHARS} characters", message_zh="备注长度无效")
        with self.sessions.begin() as session:
            if session.get(ReviewQueueItem, item_id) is None:
                raise NotFound(
                    f"review item {item_id} does not exist", message_zh=f"审核任务 {item_id} 不存在"
                )
            sealed = self._seal_note(session, item_id, body)
            session.add(
                ReviewQueueNote(item_id=item_id, author=name, kind="note", body=sealed, created_at=utcnow())
            )
        return self.get(item_id)

    def _transition(self, item_id: int, reviewer: str, kind: str, note: str, **values: Any) -> None:
        """Only the reviewer holding the claim may decide, escalate or release."""
        now = utcnow()
        with self.sessions.begin() as session:
            result = session.execute(
                update(ReviewQueueItem)
                .where(
                    ReviewQueueItem.id == item_id,
                    ReviewQueueItem.status == "claimed",
                    ReviewQueueItem.claimed_by == reviewer,
                )
                .values(updated_at=now, lock_version=ReviewQueueItem.lock_version + 1, **values)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                self._conflict(session, item_id, kind)
            body = self._seal_note(session, item_id, note[:MAX_NOTE_CHARS])
            session.add(
                ReviewQueueNote(item_id=item_id, author=reviewer, kind=kind, body=body, created_at=now)
            )

    @staticmethod
    def _conflict(session: Session, item_id: int, verb: str) -> None:
        row = session.get(ReviewQueueItem, item_id)
        if row is None:
            raise NotFound(f"review item {item_id} does not exist", message_zh=f"审核任务 {item_id} 不存在")
        holder = f" by {row.claimed_by}" if row.claimed_by else ""
        raise QueueConflict(
            f"cannot {verb} review item {item_id}: it is {row.status}{holder}",
            message_zh=f"无法对审核任务 {item_id} 执行 {verb}：当前状态为 {row.status}{holder}",
        )
