"""The human review queue: items, claim / decide / escalate / release, reviewer notes, deadlines.

Deep Synthesis Provisions Art. 10 asks for manual review beside technical review. An item is open
until a reviewer claims it; a claim is one conditional ``UPDATE ... WHERE status IN (open,
escalated)``, so when two reviewers (or two replicas) claim at once exactly one row count is 1 and
the other gets ``QueueConflict``. Every state change is also written as a note, so the item's
history is its audit trail.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from synthguard.errors import NotFound, QueueConflict, SynthguardError
from synthguard.store.models import ReviewQueueItem, ReviewQueueNote, utcnow

CLAIMABLE = ("open", "escalated")
OUTCOMES = ("pass", "mask", "block", "sanction")
STATUSES = ("open", "claimed", "escalated", "decided")
MAX_NOTE_CHARS = 10_000


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

    model_config = {"populate_by_name": True}

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _view(row: ReviewQueueItem, notes: list[ReviewQueueNote] | None = None) -> QueueItem:
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
        content=row.content,
        created_at=_aware(row.created_at),
        due_at=due,
        overdue=row.status != "decided" and due < utcnow(),
        claimed_by=row.claimed_by,
        decided_by=row.decided_by,
        outcome=row.outcome,
        notes=[
            QueueNote(author=n.author, kind=n.kind, body=n.body, created_at=_aware(n.created_at))
            for n in notes or []
        ],
    )


def _require_name(reviewer: str) -> str:
    name = reviewer.strip()
    if not name or len(name) > 128:
        raise SynthguardError("a reviewer name (1-128 characters) is required", message_zh="须提供审核员名称")
    return name


class ReviewQueue:
    def __init__(self, sessions: sessionmaker[Session], *, deadline_h: float = 24.0) -> None:
        self.sessions = sessions
        self.deadline = dt.timedelta(hours=deadline_h)

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
        session: Session | None = None,
    ) -> int:
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
            content=content,
            content_sha256=content_sha256,
            due_at=now + self.deadline,
            lock_version=0,
        )
        if session is not None:
            session.add(row)
            session.flush()
            return row.id
        with self.sessions.begin() as own:
            own.add(row)
            own.flush()
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
            return _view(row, notes)

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
            return [_view(row) for row in session.scalars(query)]

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
            session.add(
                ReviewQueueNote(item_id=item_id, author=name, kind="note", body=body, created_at=utcnow())
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
            session.add(
                ReviewQueueNote(
                    item_id=item_id, author=reviewer, kind=kind, body=note[:MAX_NOTE_CHARS], created_at=now
                )
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
