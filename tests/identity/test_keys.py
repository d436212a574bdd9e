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
