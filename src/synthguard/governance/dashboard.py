"""Figures for the console dashboard: volumes, block rates by risk, queue age, overdue complaints.

Read-only aggregate queries over the review, label and governance tables; the console draws them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict

from pydantic import BaseModel
from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session, sessionmaker

from synthguard.governance._common import aware, utcnow
from synthguard.store.models import (
    GovComplaint,
    GovIncident,
    LabelRecord,
    ReviewDecision,
    ReviewQueueItem,
)

DAYS = 14
BAD = ("block", "sanction")
AGE_BUCKETS_H = ((0, 1, "<1h"), (1, 4, "1-4h"), (4, 24, "4-24h"), (24, 72, "1-3d"), (72, 10**9, ">3d"))


class RiskRate(BaseModel):
    risk: str
    total: int
    blocked: int
    rate: float


class Dashboard(BaseModel):
    days: list[str]
    reviews_per_day: list[int]
    blocks_per_day: list[int]
    labels_per_day: list[int]
    block_rates: list[RiskRate]
    queue_open: int
    queue_overdue: int
    queue_age: list[tuple[str, int]]
    oldest_open_h: float
    complaints_open: int
    complaints_overdue: int
    incidents_open: int


def build(sessions: sessionmaker[Session], *, now: dt.datetime | None = None) -> Dashboard:
    now = now or utcnow()
    start = (now - dt.timedelta(days=DAYS - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    days = [(start + dt.timedelta(days=i)).date().isoformat() for i in range(DAYS)]
    reviews: Counter[str] = Counter()
    blocks: Counter[str] = Counter()
    labels: Counter[str] = Counter()
    per_risk: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    with sessions() as session:
        # Aggregated in SQL: a dashboard over months of decisions must not pull every row.
        day = func.date(ReviewDecision.created_at)
        for d, action, n in session.execute(
            select(day, ReviewDecision.action, func.count())
            .where(ReviewDecision.created_at >= start)
            .group_by(day, ReviewDecision.action)
        ):
            key = str(d)[:10]
            reviews[key] += n
            if action in BAD:
                blocks[key] += n
        # JSON has no equality on PostgreSQL, so group on its text form; the combinations are few.
        cats = cast(ReviewDecision.categories, String)
        for text, action, n in session.execute(
            select(cats, ReviewDecision.action, func.count())
            .where(ReviewDecision.created_at >= start)
            .group_by(cats, ReviewDecision.action)
        ):
            for risk in json.loads(text or "[]") or ["(none)"]:
                per_risk[risk][0] += n
                per_risk[risk][1] += n if action in BAD else 0
        label_day = func.date(LabelRecord.created_at)
        for d, n in session.execute(
            select(label_day, func.count()).where(LabelRecord.created_at >= start).group_by(label_day)
        ):
            labels[str(d)[:10]] += n
        open_items = [
            aware(c) or now
            for (c,) in session.execute(
                select(ReviewQueueItem.created_at).where(ReviewQueueItem.status != "decided")
            )
        ]
        queue_overdue = session.scalar(
            select(func.count())
            .select_from(ReviewQueueItem)
            .where(ReviewQueueItem.status != "decided", ReviewQueueItem.due_at < now)
        )
        complaints_open = session.scalar(
            select(func.count()).select_from(GovComplaint).where(GovComplaint.status != "answered")
        )
        complaints_overdue = session.scalar(
            select(func.count())
            .select_from(GovComplaint)
            .where(GovComplaint.status != "answered", GovComplaint.due_at < now)
        )
        incidents_open = session.scalar(
            select(func.count()).select_from(GovIncident).where(GovIncident.status == "open")
        )
    ages_h = [(now - c).total_seconds() / 3600 for c in open_items]
    buckets = [(name, sum(1 for a in ages_h if lo <= a < hi)) for lo, hi, name in AGE_BUCKETS_H]
    rates = sorted(
        (RiskRate(risk=r, total=t, blocked=b, rate=b / t if t else 0.0) for r, (t, b) in per_risk.items()),
        key=lambda x: (-x.total, x.risk),
    )[:12]
    return Dashboard(
        days=days,
        reviews_per_day=[reviews[d] for d in days],
        blocks_per_day=[blocks[d] for d in days],
        labels_per_day=[labels[d] for d in days],
        block_rates=rates,
        queue_open=len(open_items),
        queue_overdue=int(queue_overdue or 0),
        queue_age=buckets,
        oldest_open_h=max(ages_h, default=0.0),
        complaints_open=int(complaints_open or 0),
        complaints_overdue=int(complaints_overdue or 0),
        incidents_open=int(incidents_open or 0),
    )
