"""API keys for the gateway: issued per user, shown once, stored hashed, scoped, revocable, rate-limited.

A key is ``sk-<key_id>-<secret>``; the store keeps ``key_id`` (to list and revoke) and the SHA-256
of the whole key. SHA-256 rather than a password hash: the secret is 192 random bits, so there is
nothing to brute-force and the lookup must cost microseconds on every request.

The per-minute counter and the quota live in the store (``api_key_windows``, ``api_keys.used``), so
two gateway replicas enforce one limit between them. :meth:`ApiKeys.charge` bumps them with one
conditional UPDATE each (exact across replicas); the gateway instead reads them at admission and
charges through a :class:`ChargeBook` written with its next evidence commit (exact within one
gateway, soft between replicas by one commit window: see the class).
Admin keys (``role="admin"``) open the admin endpoints; scopes narrow what a key may call.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import sqlite3
import threading
import time
from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Engine,
    Executable,
    Insert,
    Row,
    Select,
    Table,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from synthguard.errors import (
    AuthenticationFailed,
    InvalidIdentity,
    NotFound,
    QuotaExceeded,
    RateLimited,
)
from synthguard.identity.users import UserView, user_view
from synthguard.store.models import ApiKey, ApiKeyWindow, IdentityOrg, IdentityUser, utcnow

SCOPES = ("chat", "completions", "images", "audio", "publish", "admin")
DEFAULT_SCOPES = ("chat", "completions", "images", "audio", "publish")
ROLES = ("user", "admin")
PREFIX = "sk-"
WINDOW_KEEP_MINUTES = 10


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    user_id: int
    user_name: str
    role: str
    scopes: tuple[str, ...]
    rate_per_min: int
    quota: int
    used: int
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    name: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "key_id": self.key_id,
            "user": self.user_name,
            "name": self.name,
            "role": self.role,
            "scopes": list(self.scopes),
            "rate_per_min": self.rate_per_min,
            "quota": self.quota,
            "used": self.used,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _info(row: ApiKey, user_name: str) -> KeyInfo:
    return KeyInfo(
        key_id=row.key_id,
        user_id=row.user_id,
        user_name=user_name,
        role=row.role,
        scopes=tuple(row.scopes or ()),
        rate_per_min=row.rate_per_min,
        quota=row.quota,
        used=int(row.used or 0),
        created_at=_aware(row.created_at) or utcnow(),
        revoked_at=_aware(row.revoked_at),
        name=row.name,
    )


class ApiKeys:
    def __init__(self, sessions: sessionmaker[Session], *, rate_per_min: int = 0, quota: int = 0) -> None:
        self.sessions = sessions
        self._engine: Engine = sessions.kw["bind"]
        url = self._engine.url
        self._file_sqlite = url.get_backend_name() == "sqlite" and (url.database or ":memory:") != ":memory:"
        self._reader: _AdmissionReader | None = None
        self.default_rate = rate_per_min
        self.default_quota = quota

    def create(
        self,
        user: str,
        *,
        name: str = "",
        role: str = "user",
        scopes: tuple[str, ...] | list[str] | None = None,
        rate_per_min: int | None = None,
        quota: int | None = None,
    ) -> tuple[str, KeyInfo]:
        """Issue a key; the plain key is returned here once and never again."""
        if role not in ROLES:
            raise InvalidIdentity(
                f"role must be one of {', '.join(ROLES)}", message_zh="角色须为 user 或 admin"
            )
        chosen = tuple(scopes) if scopes else (DEFAULT_SCOPES + (("admin",) if role == "admin" else ()))
        unknown = [s for s in chosen if s not in SCOPES]
        if unknown:
            raise InvalidIdentity(
                f"unknown scope(s) {', '.join(unknown)}; use {', '.join(SCOPES)}", message_zh="未知的权限范围"
            )
        rate = self.default_rate if rate_per_min is None else rate_per_min
        limit = self.default_quota if quota is None else quota
        if rate < 0 or limit < 0:
            raise InvalidIdentity("rate and quota must be >= 0", message_zh="速率与配额须为非负数")
        with self.sessions.begin() as session:
            owner = session.scalar(select(IdentityUser).where(IdentityUser.name == user))
            if owner is None:
                raise NotFound(f"no user {user!r}", message_zh=f"用户 {user!r} 不存在")
            key_id = secrets.token_hex(8)
            plain = f"{PREFIX}{key_id}-{secrets.token_urlsafe(24)}"
            row = ApiKey(
                key_id=key_id,
                secret_sha256=_hash(plain),
                user_id=owner.id,
                name=name[:128],
                role=role,
                scopes=list(chosen),
                rate_per_min=rate,
                quota=limit,
                used=0,
            )
            session.add(row)
            session.flush()
            return plain, _info(row, owner.name)

    def list_keys(self, *, user: str = "") -> list[KeyInfo]:
        with self.sessions() as session:
            query = select(ApiKey, IdentityUser.name).join(IdentityUser, IdentityUser.id == ApiKey.user_id)
            if user:
                query = query.where(IdentityUser.name == user)
            return [_info(k, n) for k, n in session.execute(query.order_by(ApiKey.created_at))]

    def revoke(self, key_id: str) -> KeyInfo:
        key_id = key_id.removeprefix(PREFIX).split("-", 1)[0]
        with self.sessions.begin() as session:
            row = session.get(ApiKey, key_id)
            if row is None:
                raise NotFound(f"no API key {key_id!r}", message_zh=f"API 密钥 {key_id!r} 不存在")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
            owner = session.get(IdentityUser, row.user_id)
            return _info(row, owner.name if owner else "")

    def authenticate(self, plain: str) -> KeyInfo:
        """The key's owner and limits; 401 for a missing, unknown or revoked key."""
        if not plain.startswith(PREFIX) or len(plain) > 200:
            raise AuthenticationFailed(
                "send your API key as 'Authorization: Bearer sk-...'",
                message_zh="请以 Authorization: Bearer sk-... 发送 API 密钥",
            )
        with self.sessions() as session:
            found = session.execute(
                select(ApiKey, IdentityUser.name)
                .join(IdentityUser, IdentityUser.id == ApiKey.user_id)
                .where(ApiKey.secret_sha256 == _hash(plain))
            ).first()
        if found is None:
            raise AuthenticationFailed("incorrect API key provided", message_zh="API 密钥不正确")
        row, user_name = found
        if row.revoked_at is not None:
            raise AuthenticationFailed("this API key has been revoked", message_zh="该 API 密钥已被吊销")
        return _info(row, user_name)

    def charge(self, key: KeyInfo, *, now: float | None = None) -> None:
        """Count one request against the key's minute window and quota, or refuse it (429).

        Both checks are conditional UPDATEs, atomic in SQLite and PostgreSQL, so concurrent
        requests on several replicas can never overshoot the limit together.
        """
        minute = _minute(now)
        if key.rate_per_min:
            _ensure_window(self.sessions, key.key_id, minute)
        with self.sessions.begin() as session:
            _bump(session.connection(), key, minute)

    def lookup(self, plain: str, minute: int) -> tuple[KeyInfo, UserView, int]:
        """Key, owner and the key's request count in ``minute`` as the store has them now, read
        only (no transaction, no write lock): the gateway's admission before :class:`ChargeBook`.

        On SQLite a WAL read never waits for a writer, so the gateway calls this on its event loop
        (one connection kept for that thread, no pool checkout); see :meth:`reads_never_block`.
        There the statement runs on the driver's own connection (:class:`_AdmissionReader`):
        SQLAlchemy's connect and execute cost twice the read itself, on the loop of every request.
        """
        if not plain.startswith(PREFIX) or len(plain) > 200:
            _lookup_row(plain, None)  # raises the "send your key" error without a store read
        secret = _hash(plain)
        if self._file_sqlite:
            if self._reader is None:
                self._reader = _AdmissionReader(self._engine)
            row = self._reader.read(secret, minute)
        else:
            with self._engine.connect() as conn:
                row = conn.execute(_ADMIT_NOW, {"secret": secret, "minute": minute}).first()
        key, user = _lookup_row(plain, row)
        return key, user, int(row.w_count or 0) if row is not None else 0

    def reads_never_block(self) -> bool:
        """Whether :meth:`lookup` can run on an event loop: a file SQLite store in WAL mode, where a
        read takes no lock a writer holds (PostgreSQL is a network round trip: a worker thread)."""
        return self._file_sqlite

    def close(self) -> None:
        """Release the event-loop read connection (the gateway's shutdown)."""
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()

    def apply_charges(self, conn: Connection, charges: Sequence[Charge]) -> None:
        """Write charges admitted by a :class:`ChargeBook` in the caller's transaction: one UPDATE
        per key and minute (``used``, ``last_used_at`` and, for a rate-limited key, the minute
        window), whatever the number of requests."""
        at = utcnow()
        run = _driver_runner(conn) if conn.dialect.name == "sqlite" else _core_runner(conn)
        for charge in charges:
            run(_ADD_USED, {"b_key": charge.key_id, "b_n": charge.n, "b_at": at})
            if not charge.windowed:
                continue
            window = {"b_key": charge.key_id, "b_minute": charge.minute, "b_n": charge.n}
            if not run(_ADD_WINDOW, window):
                _open_window(conn, charge.key_id, charge.minute)
                conn.execute(_ADD_WINDOW, window)
            if charge.minute % WINDOW_KEEP_MINUTES == 0:
                conn.execute(
                    _PRUNE_WINDOWS, {"b_key": charge.key_id, "b_before": charge.minute - WINDOW_KEEP_MINUTES}
                )


@dataclass(frozen=True)
class Charge:
    """``n`` admitted requests of one key in one minute, not yet written to the store."""

    key_id: str
    minute: int
    windowed: bool  # the key has a per-minute limit: its window row counts these too
    n: int


class ChargeBook:
    """The gateway's admission charges between its admission and its next group commit.

    Charging each request with its own store transaction and worker-thread hop cost more than
    the rest of the request's store work (measured); here admission reads the counters (no
    write), :meth:`take` checks the limits against them plus what this book holds and counts the
    request, and the evidence writer writes the book's charges in the same transaction as the
    next group commit (:meth:`drain`, :meth:`settle`).

    What that means for the limits, documented and tested: within one gateway process they are
    exact (the book adds every request admitted here and not yet written, and a read that may
    already include a written charge is only counted twice, never missed, so the error is on
    the refusing side). Between replicas they are soft by one commit window: another replica
    sees this one's charges once they are committed, a few milliseconds under load (at most
    ``CHARGE_FLUSH_S`` when idle), so replicas admitting the same key in that window can pass
    its limit by the requests they admitted in it. A process killed before the commit loses its
    pending charges (never the evidence: no answer leaves before its own commit).

    Not thread-safe: one book per event loop, used from that loop only.
    """

    def __init__(self) -> None:
        self._pending: dict[tuple[str, int, bool], int] = {}
        self._inflight: dict[tuple[str, int, bool], int] = {}

    def take(self, key: KeyInfo, window_count: int, minute: int) -> None:
        """Count one request of ``key`` or refuse it (429): ``key.used`` and ``window_count`` are
        the store's counters as read at admission, this book adds its own."""
        if key.rate_per_min:
            local = self._held(key.key_id, minute)
            if window_count + local >= key.rate_per_min:
                raise RateLimited(
                    f"rate limit of {key.rate_per_min} requests per minute reached for this key",
                    message_zh=f"该密钥每分钟最多 {key.rate_per_min} 次请求",
                )
        if key.quota and key.used + self._held(key.key_id, None) >= key.quota:
            raise QuotaExceeded(
                f"this key's quota of {key.quota} requests is used up",
                message_zh=f"该密钥 {key.quota} 次配额已用完",
            )
        slot = (key.key_id, minute, bool(key.rate_per_min))
        self._pending[slot] = self._pending.get(slot, 0) + 1

    def pending(self) -> bool:
        return bool(self._pending)

    def drain(self) -> list[Charge]:
        """The charges to write in the transaction about to start (held until :meth:`settle`)."""
        out = [Charge(k, m, w, n) for (k, m, w), n in self._pending.items()]
        for slot, n in self._pending.items():
            self._inflight[slot] = self._inflight.get(slot, 0) + n
        self._pending.clear()
        return out

    def settle(self, charges: Sequence[Charge], committed: bool) -> None:
        """After the transaction: committed charges are the store's now; failed ones wait for the
        next transaction."""
        for c in charges:
            slot = (c.key_id, c.minute, c.windowed)
            left = self._inflight.get(slot, 0) - c.n
            if left > 0:
                self._inflight[slot] = left
            else:
                self._inflight.pop(slot, None)
            if not committed:
                self._pending[slot] = self._pending.get(slot, 0) + c.n

    def _held(self, key_id: str, minute: int | None) -> int:
        total = 0
        for book in (self._pending, self._inflight):
            for (k, m, _), n in book.items():
                if k == key_id and (minute is None or m == minute):
                    total += n
        return total


_KEYS = cast(Table, ApiKey.__table__)
_WINDOWS = cast(Table, ApiKeyWindow.__table__)
# The per-request statements, built once: reused statement objects skip SQLAlchemy's statement
# construction and cache-key walk on every call. Each is one conditional UPDATE, atomic in SQLite
# and PostgreSQL, so replicas sharing the store never overshoot a limit together.
_CHARGE_WINDOW = (
    update(_WINDOWS)
    .where(
        _WINDOWS.c.key_id == bindparam("b_key"),
        _WINDOWS.c.minute == bindparam("b_minute"),
        _WINDOWS.c.count < bindparam("b_limit"),
    )
    .values(count=_WINDOWS.c.count + 1)
)
_CHARGE = (
    update(_KEYS)
    .where(_KEYS.c.key_id == bindparam("b_key"))
    .values(used=_KEYS.c.used + 1, last_used_at=bindparam("b_at"))
)
_CHARGE_QUOTA = _CHARGE.where(_KEYS.c.used < _KEYS.c.quota)
# ChargeBook charges, already admitted: plain increments by the number of requests.
_ADD_USED = (
    update(_KEYS)
    .where(_KEYS.c.key_id == bindparam("b_key"))
    .values(used=_KEYS.c.used + bindparam("b_n"), last_used_at=bindparam("b_at"))
)
_ADD_WINDOW = (
    update(_WINDOWS)
    .where(_WINDOWS.c.key_id == bindparam("b_key"), _WINDOWS.c.minute == bindparam("b_minute"))
    .values(count=_WINDOWS.c.count + bindparam("b_n"))
)
# A minute's window row, created by whichever replica charges first; the others' inserts do nothing.
_OPEN_WINDOW: dict[str, Insert] = {
    "sqlite": sqlite.insert(_WINDOWS).on_conflict_do_nothing(),
    "postgresql": postgresql.insert(_WINDOWS).on_conflict_do_nothing(),
}
_PRUNE_WINDOWS = delete(_WINDOWS).where(
    _WINDOWS.c.key_id == bindparam("b_key"), _WINDOWS.c.minute < bindparam("b_before")
)


_Runner = Callable[[Executable, dict[str, Any]], int]
_driver_sql: dict[tuple[int, int], tuple[str, list[tuple[str, Any]]]] = {}


def _core_runner(conn: Connection) -> _Runner:
    """Run a statement through SQLAlchemy; the rows it touched."""
    return lambda statement, values: int(conn.execute(statement, values).rowcount)


def _driver_runner(conn: Connection) -> _Runner:
    """Run a statement on SQLite's driver cursor in ``conn``'s transaction (the admission charges
    ride on every group commit, and SQLAlchemy's per-statement work cost more than the UPDATE):
    the SQL is SQLAlchemy's own compilation and each value goes through its bind processor, so
    what is stored is what the Core statement stores."""
    dialect = conn.dialect
    driver = conn.connection.driver_connection
    assert driver is not None

    def run(statement: Executable, values: dict[str, Any]) -> int:
        found = _driver_sql.get((id(statement), id(dialect)))
        if found is None:
            compiled = cast(Any, statement).compile(dialect=dialect)
            binds = [
                (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
                for name in compiled.positiontup or ()
            ]
            found = _driver_sql[(id(statement), id(dialect))] = (str(compiled), binds)
        sql, binds = found
        params = [values[name] if f is None else f(values[name]) for name, f in binds]
        return int(driver.execute(sql, params).rowcount)

    return run


def _admit_query() -> Select[Any]:
    """Key, owner and organisation in one row; user columns keep the model's attribute names
    (``user_view`` reads them), key columns are ``k_``-prefixed."""
    k, u, o = ApiKey.__table__.c, IdentityUser.__table__.c, IdentityOrg.__table__.c
    names = ("key_id", "role", "scopes", "rate_per_min", "quota", "used", "created_at", "revoked_at", "name")
    key_cols = [k[name].label(f"k_{name}") for name in names]
    return (
        select(*key_cols, *u, o.name.label("org_name"))
        .select_from(ApiKey.__table__.join(IdentityUser.__table__, u.id == k.user_id))
        .outerjoin(IdentityOrg.__table__, o.id == u.org_id)
        .where(k.secret_sha256 == bindparam("secret"))
    )


_ADMIT = _admit_query()
# The same row plus the key's request count in one minute (NULL: no request yet that minute).
_ADMIT_NOW = _ADMIT.add_columns(
    select(_WINDOWS.c.count)
    .where(_WINDOWS.c.key_id == ApiKey.__table__.c.key_id, _WINDOWS.c.minute == bindparam("minute"))
    .scalar_subquery()
    .label("w_count")
)


class _AdmissionReader:
    """``_ADMIT_NOW`` on a file SQLite store through the sqlite3 driver directly: one read-only
    connection per thread (the event loop's, in the gateway), the statement compiled once for
    SQLite, and each column converted by the processor SQLAlchemy itself would apply (dates,
    JSON), so the row reads exactly like the Core row it replaces."""

    def __init__(self, engine: Engine) -> None:
        dialect = engine.dialect
        compiled = _ADMIT_NOW.compile(dialect=dialect)
        self._sql = str(compiled)
        self._params = tuple(compiled.positiontup or ())
        columns = list(_ADMIT_NOW.selected_columns)
        make_row: Callable[..., Any] = namedtuple  # the column names are known only here
        self._row_type = make_row("_AdmitRow", [c.name for c in columns])
        self._convert = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
        args, kwargs = dialect.create_connect_args(engine.url)
        self._args: list[Any] = list(args)
        self._kwargs: dict[str, Any] = dict(kwargs)
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # autocommit: a SELECT holds no transaction (no WAL snapshot kept between requests).
            kwargs: dict[str, Any] = {**self._kwargs, "check_same_thread": False, "isolation_level": None}
            kwargs.setdefault("timeout", 30)
            conn = sqlite3.connect(*self._args, **kwargs)
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
            with self._lock:
                self._opened.append(conn)
        return conn

    def read(self, secret: str, minute: int) -> Any:
        """The admission row for ``secret`` (None when no key has that hash)."""
        values = {"secret": secret, "minute": minute}
        raw = self._conn().execute(self._sql, [values[name] for name in self._params]).fetchone()
        if raw is None:
            return None
        return self._row_type(*[v if f is None else f(v) for f, v in zip(self._convert, raw, strict=True)])

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()
        self._local = threading.local()


def _admitted_key(row: Row[Any]) -> KeyInfo:
    return KeyInfo(
        key_id=row.k_key_id,
        user_id=row.id,
        user_name=row.name,
        role=row.k_role,
        scopes=tuple(row.k_scopes or ()),
        rate_per_min=row.k_rate_per_min,
        quota=row.k_quota,
        used=int(row.k_used or 0),
        created_at=_aware(row.k_created_at) or utcnow(),
        revoked_at=_aware(row.k_revoked_at),
        name=row.k_name,
    )


def _minute(now: float | None) -> int:
    return int((now if now is not None else time.time()) // 60)


def _lookup_row(plain: str, row: Any) -> tuple[KeyInfo, UserView]:
    if not plain.startswith(PREFIX) or len(plain) > 200:
        raise AuthenticationFailed(
            "send your API key as 'Authorization: Bearer sk-...'",
            message_zh="请以 Authorization: Bearer sk-... 发送 API 密钥",
        )
    if row is None:
        raise AuthenticationFailed("incorrect API key provided", message_zh="API 密钥不正确")
    if row.k_revoked_at is not None:
        raise AuthenticationFailed("this API key has been revoked", message_zh="该 API 密钥已被吊销")
    return _admitted_key(row), user_view(row, row.org_name or "")


def _bump(conn: Connection, key: KeyInfo, minute: int) -> None:
    """The two conditional UPDATEs of :meth:`ApiKeys.charge`, in the caller's transaction."""
    if key.rate_per_min:
        bumped = conn.execute(
            _CHARGE_WINDOW, {"b_key": key.key_id, "b_minute": minute, "b_limit": key.rate_per_min}
        )
        if bumped.rowcount == 0:
            raise RateLimited(
                f"rate limit of {key.rate_per_min} requests per minute reached for this key",
                message_zh=f"该密钥每分钟最多 {key.rate_per_min} 次请求",
            )
    bumped = conn.execute(_CHARGE_QUOTA if key.quota else _CHARGE, {"b_key": key.key_id, "b_at": utcnow()})
    if bumped.rowcount == 0:
        # Raising rolls back the minute-window bump too: a refused request costs nothing.
        raise QuotaExceeded(
            f"this key's quota of {key.quota} requests is used up",
            message_zh=f"该密钥 {key.quota} 次配额已用完",
        )
    if minute % WINDOW_KEEP_MINUTES == 0:
        conn.execute(_PRUNE_WINDOWS, {"b_key": key.key_id, "b_before": minute - WINDOW_KEEP_MINUTES})


def _ensure_window(sessions: sessionmaker[Session], key_id: str, minute: int) -> None:
    # Insert the window row in its own transaction; a concurrent insert by another replica is fine.
    try:
        with sessions.begin() as session:
            if session.get(ApiKeyWindow, (key_id, minute)) is None:
                session.add(ApiKeyWindow(key_id=key_id, minute=minute, count=0))
    except IntegrityError:
        pass


def _open_window(conn: Connection, key_id: str, minute: int) -> bool:
    """Create ``key_id``'s window row for ``minute`` in the caller's transaction unless another
    request or replica already did; True if this call created it."""
    values = {"key_id": key_id, "minute": minute, "count": 0}
    statement = _OPEN_WINDOW.get(conn.dialect.name)
    if statement is not None:
        return bool(conn.execute(statement, values).rowcount)
    try:  # another database: a savepoint keeps a concurrent insert's clash from ending our transaction
        with conn.begin_nested():
            conn.execute(insert(_WINDOWS), values)
    except IntegrityError:
        return False
    return True
