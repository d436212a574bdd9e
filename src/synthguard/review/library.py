"""The keyword library in the store: versioned imports, export, statistics and hot reload.

Deep Synthesis Provisions Art. 10 (feature library) and TC260-003 section 8 (>= 10,000 keywords,
>= 200 per A.1 risk, >= 100 per A.2 risk, updated at least weekly). Every import publishes a new
version number in ``review_library_versions``; entries live from ``added_version`` until
``removed_version``, so any past version can be rebuilt and audited. A replica notices a new version
by polling ``max(version)`` (one indexed query every ``poll_s`` seconds) and swaps in a freshly
compiled matcher without a restart.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from synthguard.errors import LibraryInvalid
from synthguard.review.keywords import Entry, Matcher, MatcherCache, RowProblem, write_csv, write_json
from synthguard.review.taxonomy import (
    BUILTIN_RISKS,
    GROUPS,
    REFUSAL_RISKS,
    Action,
    Risk,
    resolve_category,
)
from synthguard.store.models import ReviewLibraryEntry, ReviewLibraryVersion, ReviewRisk, utcnow

TC260_MIN_TOTAL = 10_000
TC260_MIN_PER_A1 = 200
TC260_MIN_PER_A2 = 100
TC260_UPDATE_DAYS = 7
MAX_SHOWN_PROBLEMS = 20


@dataclass
class ImportReport:
    version: int
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    total: int = 0
    created_categories: list[str] = field(default_factory=list)
    skipped: list[RowProblem] = field(default_factory=list)

    def to_json_dict(self) -> dict[str, Any]:
        """What ``library import`` and ``POST /v1/review/library`` both print."""
        return {
            "schema": 1,
            "version": self.version,
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "total": self.total,
            "created_categories": self.created_categories,
            "skipped": [{"row": p.row, "message": p.message} for p in self.skipped],
        }


@dataclass
class CategoryCount:
    code: str
    name_zh: str
    name_en: str
    count: int
    required: int  # TC260-003 minimum, 0 when the standard sets none

    @property
    def meets(self) -> bool:
        return self.count >= self.required


@dataclass
class LibraryStats:
    version: int
    total: int
    updated_at: dt.datetime | None
    modes: dict[str, int]
    categories: list[CategoryCount]

    @property
    def meets_total(self) -> bool:
        return self.total >= TC260_MIN_TOTAL

    @property
    def updated_within_week(self) -> bool:
        if self.updated_at is None:
            return False
        at = self.updated_at if self.updated_at.tzinfo else self.updated_at.replace(tzinfo=dt.UTC)
        return utcnow() - at <= dt.timedelta(days=TC260_UPDATE_DAYS)


def problems_message(problems: Sequence[RowProblem]) -> tuple[str, str]:
    shown = problems[:MAX_SHOWN_PROBLEMS]
    lines = "; ".join(f"row {p.row}: {p.message}" for p in shown)
    more = f" (and {len(problems) - len(shown)} more)" if len(problems) > len(shown) else ""
    return (
        f"{len(problems)} malformed row(s), nothing imported: {lines}{more}",
        f"{len(problems)} 行格式错误，未导入任何内容：{lines}{more}",
    )


class Library:
    """The store-backed library; ``matcher()`` is what every review call uses."""

    def __init__(self, sessions: sessionmaker[Session], *, poll_s: float = 1.0) -> None:
        self.sessions = sessions
        self.poll_s = poll_s
        self._cache = MatcherCache()
        self._checked = -1e18
        self._reload_lock = threading.Lock()

    # --- reading ----------------------------------------------------------------------------------

    def version(self) -> int:
        with self.sessions() as session:
            return int(session.scalar(select(func.max(ReviewLibraryVersion.version))) or 0)

    def risks(self) -> dict[str, Risk]:
        risks = dict(BUILTIN_RISKS)
        with self.sessions() as session:
            for row in session.scalars(select(ReviewRisk)):
                risks[row.code] = Risk(
                    row.code, row.group, row.name_zh, row.name_en, Action(row.default_action), builtin=False
                )
        return risks

    def entries(self, version: int | None = None) -> list[Entry]:
        """Entries live at ``version`` (default: the latest), in import order."""
        with self.sessions() as session:
            at = version if version is not None else self._version_in(session)
            rows = session.scalars(
                select(ReviewLibraryEntry)
                .where(ReviewLibraryEntry.added_version <= at)
                .where(
                    (ReviewLibraryEntry.removed_version.is_(None)) | (ReviewLibraryEntry.removed_version > at)
                )
                .order_by(ReviewLibraryEntry.id)
            ).all()
        return [_entry(row) for row in rows]

    def matcher(self) -> Matcher:
        """The compiled matcher of the latest version; polls the store at most every ``poll_s``."""
        current = self._cache.current
        now = time.monotonic()
        if current is not None and now - self._checked < self.poll_s:
            return current
        with self._reload_lock:
            current = self._cache.current
            if current is not None and time.monotonic() - self._checked < self.poll_s:
                return current
            latest = self.version()
            self._checked = time.monotonic()
            if current is not None and current.version == latest:
                return current
            return self._cache.install(Matcher.compile(self.entries(latest), latest))

    def fresh(self) -> Matcher | None:
        """The compiled matcher if it was checked against the store less than ``poll_s`` ago, else
        None: a caller on an event loop may then review with no store round trip (see
        ``ReviewEngine.text_review_is_local``)."""
        current = self._cache.current
        if current is not None and time.monotonic() - self._checked < self.poll_s:
            return current
        return None

    def refresh(self) -> Matcher:
        """Check the store now (after our own import, or when a caller knows it changed)."""
        self._checked = -1e18
        return self.matcher()

    def stats(self) -> LibraryStats:
        entries = self.entries()
        risks = self.risks()
        counts = Counter(e.category for e in entries)
        with self.sessions() as session:
            last = session.scalars(
                select(ReviewLibraryVersion).order_by(ReviewLibraryVersion.version.desc()).limit(1)
            ).first()
        categories: list[CategoryCount] = []
        for risk in REFUSAL_RISKS:
            required = TC260_MIN_PER_A1 if risk.group == "A.1" else TC260_MIN_PER_A2
            categories.append(
                CategoryCount(risk.code, risk.name_zh, risk.name_en, counts.pop(risk.code, 0), required)
            )
        for code, count in sorted(counts.items()):
            known = risks.get(code)
            categories.append(
                CategoryCount(
                    code, known.name_zh if known else code, known.name_en if known else code, count, 0
                )
            )
        return LibraryStats(
            version=last.version if last else 0,
            total=len(entries),
            updated_at=last.created_at if last else None,
            modes=dict(Counter(e.mode for e in entries)),
            categories=categories,
        )

    def export(self, fmt: str = "csv") -> str:
        entries = self.entries()
        if fmt == "json":
            return write_json(entries, self.version())
        if fmt == "csv":
            return write_csv(entries)
        raise LibraryInvalid(f"unknown export format {fmt!r}; use csv or json")

    # --- writing ----------------------------------------------------------------------------------

    def import_entries(
        self,
        entries: Sequence[Entry],
        *,
        problems: Sequence[RowProblem] = (),
        replace: bool = False,
        skip_invalid: bool = False,
        source: str = "",
        note: str = "",
    ) -> ImportReport:
        """Publish a new version: add new entries, update changed ones, (``replace``) drop the rest.

        Malformed rows abort the whole import unless ``skip_invalid``: a half-applied library is
        worse than none, because reviewers would not know which rows are live.
        """
        if problems and not skip_invalid:
            en, zh = problems_message(problems)
            raise LibraryInvalid(en, message_zh=zh)
        for attempt in range(5):
            try:
                report = self._import_once(entries, replace=replace, source=source, note=note)
                report.skipped = list(problems)
                self.refresh()
                return report
            except IntegrityError:
                # Another replica published the same version number first: recompute on top of it.
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def _import_once(
        self, entries: Sequence[Entry], *, replace: bool, source: str, note: str
    ) -> ImportReport:
        with self.sessions.begin() as session:
            version = self._version_in(session) + 1
            session.add(ReviewLibraryVersion(version=version, source=source[:255], note=note))
            session.flush()  # claim the version number now: a concurrent import fails here
            risks = self.risks_in(session)
            report = ImportReport(version=version)
            live = {
                _entry(row).key(): row
                for row in session.scalars(
                    select(ReviewLibraryEntry).where(ReviewLibraryEntry.removed_version.is_(None))
                )
            }
            seen: set[tuple[str, str, str, int]] = set()
            to_add: list[dict[str, object]] = []
            to_remove: list[int] = []
            for raw in entries:
                code, created = resolve_category(raw.category, risks)
                entry = Entry(**{**raw.__dict__, "category": code})
                if created:
                    risk = _provider_risk(code, raw.category, raw.action)
                    risks[code] = risk
                    session.add(
                        ReviewRisk(
                            code=code,
                            group="P",
                            name_zh=risk.name_zh,
                            name_en=risk.name_en,
                            default_action=risk.default_action.value,
                        )
                    )
                    report.created_categories.append(code)
                key = entry.key()
                if key in seen:
                    continue  # a file that lists a term twice: the first row wins
                seen.add(key)
                old = live.get(key)
                if old is not None and _entry(old) == entry:
                    report.unchanged += 1
                    continue
                if old is not None:
                    to_remove.append(old.id)
                    report.updated += 1
                else:
                    report.added += 1
                to_add.append(_row(entry, version))
            if replace:
                dropped = [row.id for key, row in live.items() if key not in seen]
                to_remove.extend(dropped)
                report.removed = len(dropped)
            for chunk in _chunks(to_remove, 500):
                session.execute(
                    update(ReviewLibraryEntry)
                    .where(ReviewLibraryEntry.id.in_(chunk))
                    .values(removed_version=version)
                )
            if to_add:
                session.execute(insert(ReviewLibraryEntry), to_add)
            report.total = len(live) - len(to_remove) + len(to_add)
            session.execute(
                update(ReviewLibraryVersion)
                .where(ReviewLibraryVersion.version == version)
                .values(added=report.added + report.updated, removed=len(to_remove), total=report.total)
            )
        return report

    def risks_in(self, session: Session) -> dict[str, Risk]:
        risks = dict(BUILTIN_RISKS)
        for row in session.scalars(select(ReviewRisk)):
            risks[row.code] = Risk(
                row.code, row.group, row.name_zh, row.name_en, Action(row.default_action), False
            )
        return risks

    @staticmethod
    def _version_in(session: Session) -> int:
        return int(session.scalar(select(func.max(ReviewLibraryVersion.version))) or 0)


def _provider_risk(code: str, name: str, action: str) -> Risk:
    label = name.strip()[:200] or code
    default = Action(action) if action else Action.REVIEW
    return Risk(code, "P", label, label, default, builtin=False)


def _entry(row: ReviewLibraryEntry) -> Entry:
    return Entry(
        term=row.term,
        category=row.category,
        action=row.action,
        severity=row.severity,
        mode=row.mode,
        near=row.near_term,
        within=row.within,
        pinyin=row.pinyin,
        initials=row.initials,
        source=row.source,
    )


def _row(entry: Entry, version: int) -> dict[str, object]:
    return {
        "term": entry.term,
        "category": entry.category,
        "severity": entry.severity,
        "mode": entry.mode,
        "near_term": entry.near,
        "within": entry.within,
        "pinyin": entry.pinyin,
        "initials": entry.initials,
        "action": entry.action,
        "source": entry.source,
        "added_version": version,
        "removed_version": None,
        "added_at": utcnow(),
    }


def _chunks(items: list[int], size: int) -> list[list[int]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def group_name(code: str) -> tuple[str, str]:
    group = code.rsplit(".", 1)[0] if code.startswith("A.") else code.split(".", 1)[0]
    return GROUPS.get(group, (group, group))


def sample_library() -> bytes:
    """The small, clearly synthetic demo library shipped with synthguard (no real prohibited terms)."""
    from importlib import resources

    return resources.files("synthguard.review").joinpath("data", "sample_library.csv").read_bytes()
