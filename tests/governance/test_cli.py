"""``synthguard console`` and ``synthguard gov`` in a subprocess, as an operator runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PRODUCER

FILING = "网信算备110108823483901230031号"


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {**os.environ, "SYNTHGUARD_DATA_DIR": str(tmp_path / "var"), "SYNTHGUARD_PROVIDER_CODE": PRODUCER}

    def _run(*args: str, stdin: str = "", code: int = 0) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "synthguard", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            input=stdin,
        )
        assert proc.returncode == code, proc.stderr
        return proc

    return _run


def _json(proc: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def test_create_admin_then_log_in_with_that_password(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    [user] = _json(
        run("console", "create-admin", "root", "--password-stdin", "--json", stdin="a-strong-password\n")
    )
    assert user == {"schema": 1, "username": "root", "role": "admin"}
    bad = run("console", "create-admin", "li", "--password-stdin", stdin="short\n", code=1)
    assert "at least 10" in bad.stderr and "密码至少" in bad.stderr
    from synthguard.config import Settings
    from synthguard.core import Synthguard

    with Synthguard.open(Settings(data_dir=tmp_path / "var", provider_code=PRODUCER)) as core:
        _token, session = core.governance.staff.login("root", "a-strong-password")
        assert session.role == "admin"


def test_gov_commands_record_and_report_as_json(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    [filing] = _json(run("gov", "filing", "--number", FILING, "--reason", "filed", "--json"))
    assert filing["algorithm_number"] == FILING
    run("gov", "filing", "--number", "网信算备1号", "--reason", "x", code=1)
    [ref] = _json(run("gov", "refute", "add", "sg-42", "--notice-zh", "谣言", "--publish", "--json"))
    assert ref["status"] == "published"
    assert _json(run("gov", "refute", "show", "sg-42", "--json"))[0]["notice_zh"] == "谣言"
    run("gov", "refute", "show", "sg-none", code=1)
    evidence = tmp_path / "form.pdf"
    evidence.write_bytes(b"%PDF-1.4\nsigned\n")
    [consent] = _json(
        run(
            "gov",
            "consent",
            "add",
            "--user",
            "alice",
            "--subject",
            "张三",
            "--use",
            "face_swap",
            "--evidence",
            str(evidence),
            "--json",
        )
    )
    cid = consent["consent_id"]
    run("gov", "consent", "check", cid, "alice", "face_swap")
    run("gov", "consent", "check", cid, "alice", "voice_clone", code=1)
    run("gov", "consent", "revoke", cid, "withdrawn")
    run("gov", "consent", "check", cid, "alice", "face_swap", code=1)
    [inc] = _json(run("gov", "incidents", "open", "事件", "--content-ids", "sg-42", "--json"))
    out = tmp_path / "report.pdf"
    run("gov", "incidents", "report", str(inc["id"]), "-o", str(out))
    assert out.read_bytes().startswith(b"%PDF")
    run("gov", "incidents", "report", str(inc["id"]), "-o", str(tmp_path / "r.txt"), code=1)
    audit = _json(run("gov", "audit", "--json"))
    assert {a["action"] for a in audit} >= {
        "filing.set",
        "refutation.published",
        "consent.revoke",
        "incident.open",
    }
    assert all(a["ledger_seq"] is not None for a in audit)
    schedule = _json(run("gov", "assessments", "--json"))
    assert [s["kind"] for s in schedule] == ["algorithm_review", "security_self"]
    assert _json(run("gov", "complaints", "list", "--overdue", "--json")) == []
