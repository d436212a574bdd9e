"""The `synthguard` command end to end, in a subprocess like a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PLATFORM, PRODUCER, make_jpeg, make_png


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "SYNTHGUARD_DATA_DIR": str(tmp_path / "var"),
        "SYNTHGUARD_PROVIDER_CODE": PRODUCER,
        "SYNTHGUARD_PROPAGATOR_CODE": PLATFORM,
        "SYNTHGUARD_FSYNC": "false",
    }

    def _run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "synthguard", *args], capture_output=True, text=True, env=env, timeout=120
        )
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc

    return _run


def _lines(text: str) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_label_in_place_then_inspect_json(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    files = [make_png(tmp_path / "a.png"), make_jpeg(tmp_path / "b.jpg")]
    labeled = _lines(run("label", *map(str, files), "--json").stdout)
    assert [o["ok"] for o in labeled] == [True, True]
    assert all(o["schema"] == 1 for o in labeled)
    found = _lines(run("inspect", *map(str, files), "--json").stdout)
    assert [f["verdict"] for f in found] == ["compliant", "compliant"]
    assert [f["label"]["ProduceID"] for f in found] == [o["content_id"] for o in labeled]


def test_label_with_out_keeps_names_and_sources(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = make_png(tmp_path / "a.png")
    before = source.read_bytes()
    out = tmp_path / "out"
    result = run("label", str(source), "--out", str(out), "--label", "2")
    assert "a.png" in result.stdout
    assert source.read_bytes() == before
    found = _lines(run("inspect", str(out / "a.png"), "--json").stdout)[0]
    assert found["label"]["Label"] == "2"


def test_verify_exit_code_follows_integrity(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = make_png(tmp_path / "a.png")
    assert run("verify", str(path), ok=False).returncode == 1  # absent
    run("label", str(path), "-q")
    assert _lines(run("verify", str(path), "--json").stdout)[0]["integrity"] == "intact"


def test_propagate_adds_platform_keys(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = make_png(tmp_path / "a.png")
    run("label", str(path), "-q")
    out = _lines(run("propagate", str(path), "--json").stdout)[0]
    assert out["label"]["ContentPropagator"] == PLATFORM
    assert _lines(run("verify", str(path), "--json").stdout)[0]["integrity"] == "intact"


def test_bad_files_exit_nonzero_and_stay_unchanged(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    truncated = tmp_path / "t.png"
    truncated.write_bytes(make_png(tmp_path / "x.png").read_bytes()[:60])
    before = truncated.read_bytes()
    proc = run("label", str(empty), str(truncated), "--json", ok=False)
    assert proc.returncode == 1
    codes = [o["error"]["code"] for o in _lines(proc.stdout)]
    assert codes == ["corrupt_file", "corrupt_file"]
    assert truncated.read_bytes() == before and empty.read_bytes() == b""


def test_invalid_label_value_is_refused(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    proc = run("label", str(make_png(tmp_path / "a.png")), "--label", "7", ok=False)
    assert proc.returncode == 1
    assert "Label" in proc.stderr


def test_keys_list_json_shows_the_active_key(run) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(run("keys", "list", "--json").stdout)
    assert sum(k["active"] for k in data["keys"]) == 1
