"""Real-name users: verification on sign-up, sealed ID numbers, statuses with history, Art. 8 record."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from synthguard.config import Settings
from synthguard.core import Synthguard
from synthguard.errors import InvalidIdentity, UserExists
from synthguard.identity import (
    FieldCipher,
    IdentityClaim,
    OfflineVerifier,
    agreement_text,
    identity_number_problem,
    resident_id_check_char,
)
from synthguard.store.models import IdentityUser

VALID = "11010519900307851" + resident_id_check_char("11010519900307851")


def test_valid_id_number_verifies_the_user_and_is_stored_sealed_and_masked(sg: Synthguard) -> None:
    view, verdict = sg.users.add_user("alice", id_number=VALID, mobile="13812345678")
    assert verdict is not None and verdict.ok and verdict.level == "format"
    assert view.status == "verified" and view.id_number == VALID[:4] + "*" * 10 + VALID[-4:]
    assert view.mobile == "138****5678"
    with sg.sessions() as session:
        row = session.scalar(select(IdentityUser).where(IdentityUser.name == "alice"))
        assert row is not None and row.id_number_sealed is not None
        assert VALID.encode() not in row.id_number_sealed and b"13812345678" not in (row.mobile_sealed or b"")
    assert sg.users.reveal_id_number("alice") == VALID


def test_bad_check_digit_future_birth_and_unknown_region_are_rejected(sg: Synthguard) -> None:
    wrong = VALID[:17] + ("0" if VALID[17] != "0" else "1")
    for number in (wrong, _with_check("11010520990101001"), _with_check("20010519900307851")):
        with pytest.raises(InvalidIdentity):
            sg.users.add_user(f"u{number}", id_number=number)
    assert sg.users.list_users() == []


def test_one_id_number_cannot_open_two_accounts(sg: Synthguard) -> None:
    sg.users.add_user("alice", id_number=VALID)
    with pytest.raises(UserExists):
        sg.users.add_user("alice2", id_number=VALID)


def test_status_changes_have_reasons_durations_and_history(sg: Synthguard) -> None:
    sg.users.add_user("alice", id_number=VALID)
    sg.users.set_status("alice", "warned", reason="rumour")
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    view = sg.users.set_status("alice", "suspended", reason="repeat", until=past)
    assert view.status == "verified"  # the suspension has already lapsed
    sg.users.set_status("alice", "banned", reason="fraud")
    assert sg.users.show("alice").status == "banned"
    history = sg.users.history("alice")
    assert [h["status"] for h in history] == ["verified", "warned", "suspended", "banned"]
    assert history[-1]["reason"] == "fraud" and history[2]["until"] is not None
    with pytest.raises(InvalidIdentity):
        sg.users.set_status("alice", "verified", reason="")


def test_unbanning_never_verifies_a_user_who_was_not_verified(sg: Synthguard) -> None:
    sg.users.add_user("bob", mobile="13912345678")
    sg.users.set_status("bob", "banned", reason="spam")
    assert sg.users.reinstate("bob", reason="appeal upheld").status == "unverified"


def test_agreement_acceptance_records_the_hash_of_the_exact_text(sg: Synthguard, settings: Settings) -> None:
    import hashlib

    sg.users.add_user("alice", id_number=VALID)
    digest = sg.users.accept_agreement("alice")
    assert digest == hashlib.sha256(agreement_text(settings.agreement_version).encode()).hexdigest()
    assert sg.users.accepted("alice")[0]["version"] == settings.agreement_version


def test_sealed_field_does_not_open_under_another_row(settings: Settings) -> None:
    from cryptography.exceptions import InvalidTag

    cipher = FieldCipher.from_settings(settings)
    sealed = cipher.seal(VALID, "user:1:id_number")
    assert cipher.open(sealed, "user:1:id_number") == VALID
    with pytest.raises(InvalidTag):
        cipher.open(sealed, "user:2:id_number")
    assert FieldCipher.from_settings(settings).open(sealed, "user:1:id_number") == VALID  # key persisted


def _with_check(body17: str) -> str:
    return body17 + resident_id_check_char(body17)


@given(
    st.from_regex(
        r"(11|31|44)0[1-9]0[1-9](19[5-9][0-9])(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}", fullmatch=True
    )
)
def test_every_valid_body_verifies_and_any_single_digit_change_does_not(body: str) -> None:
    number = _with_check(body)
    assert identity_number_problem(number) == ""
    assert OfflineVerifier().verify(IdentityClaim(number)).ok
    for i in range(17):
        for digit in "0123456789":
            if digit != number[i]:
                changed = number[:i] + digit + number[i + 1 :]
                assert identity_number_problem(changed) != ""
                break
