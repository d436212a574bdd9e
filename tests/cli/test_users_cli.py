"""`synthguard users` and `synthguard apikeys` in a subprocess; `synthguard keys` stays signing keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from synthguard.identity import resident_id_check_char
from tests.conftest import PRODUCER

Run = Callable[..., subprocess.CompletedProcess[str]]
ID = "11010519900307851" + resident_id_check_char("11010519900307851")


@pytest.fixture
def run(tmp_path: Path) -> Run:
    env = {**os.environ, "SYNTHGUARD_DATA_DIR": str(tmp_path / "var"), "SYNTHGUARD_PROVIDER_CODE": PRODUCER}

    def _run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "synthguard", *args], capture_output=True, text=True, env=env, timeout=120
        )
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc

    return _run


def test_user_lifecycle_from_the_command_line(run: Run) -> None:
    added = json.loads(
        run("users", "add", "alice", "--id-number", ID, "--mobile", "13812345678", "--json").stdout
    )
    assert added["user"]["status"] == "verified" and ID not in json.dumps(added)
    assert added["user"]["verdict"]["level"] == "format"
    run("users", "suspend", "alice", "--reason", "spam", "--days", "3")
    shown = json.loads(run("users", "show", "alice", "--json").stdout)["user"]
    assert shown["status"] == "suspended" and shown["status_until"]
    assert [h["status"] for h in shown["history"]] == ["verified", "suspended"]
    run("users", "unban", "alice", "--reason", "appeal")
    listed = json.loads(run("users", "list", "--json").stdout)["users"]
    assert [(u["name"], u["status"]) for u in listed] == [("alice", "verified")]


def test_bad_id_number_exits_1_with_both_languages(run: Run) -> None:
    bad = run("users", "add", "bob", "--id-number", ID[:17] + ("1" if ID[17] != "1" else "2"), ok=False)
    assert bad.returncode == 1 and "check character" in bad.stderr and "身份证件号码" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_api_key_is_printed_once_listed_without_secret_and_revocable(run: Run) -> None:
    run("users", "add", "alice", "--mobile", "13812345678")
    created = run("apikeys", "create", "--user", "alice", "--rate", "10")
    key = created.stdout.strip()
    assert key.startswith("sk-") and "not shown again" in created.stderr
    listed = run("apikeys", "list", "--json").stdout
    assert key not in listed and json.loads(listed)["keys"][0]["rate_per_min"] == 10
    key_id = json.loads(listed)["keys"][0]["key_id"]
    revoked = json.loads(run("apikeys", "revoke", key_id, "--json").stdout)
    assert revoked["key"]["revoked_at"]
    signing = json.loads(run("keys", "list", "--json").stdout)
    assert signing["keys"][0]["role"] == "producer"


def test_organisation_needs_a_valid_credit_code_and_holds_members(run: Run) -> None:
    bad = run("users", "add-org", "Acme", "--uscc", "91350100M000100Y44", ok=False)
    assert bad.returncode == 1 and "GB 32100" in bad.stderr
    run("users", "add-org", "Acme", "--uscc", "91350100M000100Y43")
    member = json.loads(run("users", "add", "carol", "--org", "Acme", "--json").stdout)["user"]
    assert member["org"] == "Acme" and member["status"] == "unverified"
