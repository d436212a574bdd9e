"""API keys: shown once, stored hashed, scoped, revocable; limits shared by replicas via the store."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from synthguard.config import Settings
from synthguard.core import Synthguard
from synthguard.errors import AuthenticationFailed, InvalidIdentity, NotFound, QuotaExceeded, RateLimited
from synthguard.store.models import ApiKey


def test_key_is_stored_only_as_a_hash_and_authenticates(sg: Synthguard) -> None:
    sg.users.add_user("bob", mobile="13912345678")
    plain, info = sg.apikeys.create("bob", name="laptop")
    assert plain.startswith("sk-") and info.user_name == "bob"
    with sg.sessions() as session:
        row = session.scalar(select(ApiKey))
        assert row is not None and row.secret_sha256 == hashlib.sha256(plain.encode()).hexdigest()
        assert plain not in repr(row.__dict__)
    assert sg.apikeys.authenticate(plain).key_id == info.key_id
    with pytest.raises(AuthenticationFailed):
        sg.apikeys.authenticate(plain[:-1] + ("A" if plain[-1] != "A" else "B"))
    sg.apikeys.revoke(info.key_id)
    with pytest.raises(AuthenticationFailed):
        sg.apikeys.authenticate(plain)


def test_unknown_user_scope_or_role_is_refused(sg: Synthguard) -> None:
    with pytest.raises(NotFound):
        sg.apikeys.create("nobody")
    sg.users.add_user("bob")
    with pytest.raises(InvalidIdentity):
        sg.apikeys.create("bob", scopes=["root"])
    with pytest.raises(InvalidIdentity):
        sg.apikeys.create("bob", role="god")
    _, admin = sg.apikeys.create("bob", role="admin")
    assert "admin" in admin.scopes


def test_rate_limit_and_quota_are_shared_by_two_replicas(settings: Settings) -> None:
    with Synthguard.open(settings) as one, Synthguard.open(settings) as two:
        one.users.add_user("bob")
        plain, _ = one.apikeys.create("bob", rate_per_min=3, quota=5)
        key_one, key_two = one.apikeys.authenticate(plain), two.apikeys.authenticate(plain)
        now = 1_800_000_000.0
        one.apikeys.charge(key_one, now=now)
        two.apikeys.charge(key_two, now=now)
        one.apikeys.charge(key_one, now=now)
        with pytest.raises(RateLimited):
            two.apikeys.charge(key_two, now=now)
        two.apikeys.charge(key_two, now=now + 60)  # next minute
        two.apikeys.charge(key_two, now=now + 60)
        with pytest.raises(QuotaExceeded):
            one.apikeys.charge(key_one, now=now + 120)
        assert two.apikeys.list_keys(user="bob")[0].used == 5


def test_admission_lookup_reads_the_store_as_it_is_now(sg: Synthguard) -> None:
    """The gateway's admission read (the sqlite3 driver directly on a file store) returns what the
    ORM returns, sees a status change, a revocation and the minute's count at once, and works from
    any thread (each keeps its own connection)."""
    import datetime as dt
    from concurrent.futures import ThreadPoolExecutor

    sg.users.add_user("bob", mobile="13912345678")
    plain, _ = sg.apikeys.create("bob", name="laptop", rate_per_min=3, quota=9)
    assert sg.apikeys.reads_never_block()
    now = 1_800_000_000.0
    minute = int(now // 60)
    key, user, count = sg.apikeys.lookup(plain, minute)
    assert key == sg.apikeys.authenticate(plain)
    assert user == sg.users.show("bob") and count == 0
    sg.apikeys.charge(key, now=now)
    until = dt.datetime(2031, 1, 1, tzinfo=dt.UTC)
    sg.users.set_status("bob", "suspended", reason="test", until=until)
    key, user, count = sg.apikeys.lookup(plain, minute)
    assert (user.status, user.status_until, count, key.used) == ("suspended", until, 1, 1)
    with ThreadPoolExecutor(2) as pool:
        assert pool.submit(sg.apikeys.lookup, plain, minute + 1).result()[2] == 0
    with pytest.raises(AuthenticationFailed):
        sg.apikeys.lookup(plain[:-1] + ("A" if plain[-1] != "A" else "B"), minute)
    sg.apikeys.revoke(key.key_id)
    with pytest.raises(AuthenticationFailed, match="revoked"):
        sg.apikeys.lookup(plain, minute)


def test_admission_charges_store_what_a_single_charge_stores(sg: Synthguard) -> None:
    """``apply_charges`` (the gateway's, on SQLite's driver cursor inside a ledger commit) leaves
    the same counters and the same stored timestamp text as ``charge`` (SQLAlchemy Core)."""
    import re
    import time

    from sqlalchemy import text

    from synthguard.identity.keys import Charge

    sg.users.add_user("bob")
    one, _ = sg.apikeys.create("bob", rate_per_min=5)
    two, _ = sg.apikeys.create("bob", rate_per_min=5)
    minute = int(time.time() // 60)
    key_one = sg.apikeys.lookup(one, minute)[0]
    key_two = sg.apikeys.lookup(two, minute)[0]
    sg.apikeys.charge(key_one, now=minute * 60.0)
    sg.apikeys.charge(key_one, now=minute * 60.0)
    with sg.ledger.transaction() as conn:
        sg.apikeys.apply_charges(conn, [Charge(key_two.key_id, minute, True, 2)])
    found = {k.key_id: k.used for k in sg.apikeys.list_keys(user="bob")}
    assert found == {key_one.key_id: 2, key_two.key_id: 2}
    assert sg.apikeys.lookup(one, minute)[2] == sg.apikeys.lookup(two, minute)[2] == 2
    with sg.sessions() as session:
        stamps = session.execute(text("SELECT last_used_at FROM api_keys ORDER BY key_id")).scalars().all()
    shapes = {re.sub(r"\d", "0", s) for s in stamps}  # the same text format, digit for digit
    assert len(stamps) == 2 and len(shapes) == 1
