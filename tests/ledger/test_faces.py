"""The ledger through its faces: the `synthguard ledger` commands in a subprocess, and HTTP
`/v1/ledger/*`. Labeling a file logs it; the export verifies offline; bad input exits 1 / 4xx."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from synthguard.config import Settings
from synthguard.gateway import create_app
from synthguard.ledger import Hash, InclusionProof, leaf_hash, verify_inclusion
from synthguard.ledger.checkpoint import CheckpointVerifier, verify_checkpoint
from tests.conftest import PRODUCER, make_jpeg, make_png


def _run(tmp_path: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SYNTHGUARD_DATA_DIR": str(tmp_path / "var"),
        "SYNTHGUARD_PROVIDER_CODE": PRODUCER,
        "SYNTHGUARD_FSYNC": "false",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "synthguard", *args], capture_output=True, text=True, env=env, timeout=120
    )
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_cli_label_append_proof_export_verify_purge(tmp_path: Path) -> None:
    files = [make_png(tmp_path / "a.png"), make_jpeg(tmp_path / "b.jpg")]
    labeled = [json.loads(x) for x in _run(tmp_path, "label", *map(str, files), "--json").stdout.splitlines()]
    appended = json.loads(
        _run(
            tmp_path, "ledger", "append", "admin.action", "--ref", "action=suspend", "--user", "u9", "--json"
        ).stdout
    )
    assert appended["seq"] == 2
    cp = json.loads(_run(tmp_path, "ledger", "checkpoint", "--json").stdout)
    assert cp["size"] == 3
    verifier = CheckpointVerifier.from_vkey(cp["verifier_key"])
    assert verify_checkpoint(_run(tmp_path, "ledger", "checkpoint").stdout, verifier).size == 3

    proof = json.loads(_run(tmp_path, "ledger", "proof", labeled[1]["content_id"], "--json").stdout)
    (entry,) = proof["entries"]
    assert json.loads(entry["leaf"])["type"] == "label.issued"
    verify_inclusion(
        InclusionProof(
            entry["seq"], proof["checkpoint"]["size"], tuple(Hash.parse(h) for h in entry["proof"])
        ),
        leaf_hash(entry["leaf"].encode()),
        Hash.parse(proof["checkpoint"]["root"]),
    )
    consistency = json.loads(_run(tmp_path, "ledger", "consistency", "--first", "1", "--json").stdout)
    assert consistency["second"] == 3

    key = tmp_path / "provider.vkey"
    key.write_text(cp["verifier_key"] + "\n")
    _run(
        tmp_path,
        "ledger",
        "export",
        "--from",
        "2000-01-01",
        "--to",
        "2100-12-31",
        "--out",
        str(tmp_path / "b.zip"),
    )
    report = json.loads(
        _run(tmp_path, "ledger", "verify", str(tmp_path / "b.zip"), "--key", str(key), "--json").stdout
    )
    assert report["ok"] and report["entries_checked"] == 3

    # A wrong key is a verdict with exit status 1, not a traceback.
    other = tmp_path / "other.vkey"
    other.write_text(cp["verifier_key"].rsplit("+", 1)[0] + "+" + "AQ" + "A" * 42 + "=\n")
    bad = _run(tmp_path, "ledger", "verify", str(tmp_path / "b.zip"), "--key", str(other), ok=False)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr

    purge = json.loads(_run(tmp_path, "ledger", "purge", "--json").stdout)
    assert purge["retention_days"] == 184 and purge["personal_records_erased"] == 0
    stats = json.loads(_run(tmp_path, "ledger", "stats", "--json").stdout)
    assert stats["event_types"] == {
        "label.issued": 2,
        "admin.action": 1,
        "ledger.export": 1,
        "ledger.purge": 1,
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ledger", "append", "Bad Type"), "event type"),
        (("ledger", "append", "x.y", "--ref", "novalue"), "key=value"),
        (("ledger", "proof", "NOPE"), "no ledger entry"),
        (("ledger", "consistency", "--first", "5"), "first"),
        (("ledger", "export", "--from", "yesterday", "--out", "x"), "ISO"),
    ],
)
def test_cli_bad_input_exits_1_with_a_bilingual_message(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    proc = _run(tmp_path, *args, ok=False)
    assert proc.returncode == 1, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert any("\u4e00" <= c <= "\u9fff" for c in proc.stderr)  # and the Chinese one


def test_cli_retention_below_six_months_is_refused(tmp_path: Path) -> None:
    env_args = ("ledger", "stats")
    proc = subprocess.run(
        [sys.executable, "-m", "synthguard", *env_args],
        capture_output=True,
        text=True,
        env={**os.environ, "SYNTHGUARD_DATA_DIR": str(tmp_path), "SYNTHGUARD_LEDGER_RETENTION_DAYS": "90"},
        timeout=120,
    )
    assert proc.returncode == 1 and "6 months" in proc.stderr


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def test_http_checkpoint_proof_and_consistency(client: TestClient, tmp_path: Path) -> None:
    png = make_png(tmp_path / "a.png").read_bytes()
    first = client.post("/v1/labels", files={"file": ("a.png", png, "image/png")})
    content_id = first.headers["X-Synthguard-Content-Id"]
    client.post("/v1/labels", files={"file": ("b.png", png, "image/png")})

    note = client.get("/v1/ledger/checkpoint")
    assert note.status_code == 200 and note.headers["content-type"].startswith("text/plain")
    verifier = CheckpointVerifier.from_vkey(note.headers["X-Synthguard-Verifier-Key"])
    assert verify_checkpoint(note.text, verifier).size == 2
    as_json = client.get("/v1/ledger/checkpoint", headers={"Accept": "application/json"}).json()
    assert as_json["note"] == note.text

    proof = client.get(f"/v1/ledger/proof/{content_id}").json()
    entry = proof["entries"][0]
    verify_inclusion(
        InclusionProof(
            entry["seq"], proof["checkpoint"]["size"], tuple(Hash.parse(h) for h in entry["proof"])
        ),
        leaf_hash(entry["leaf"].encode()),
        Hash.parse(proof["checkpoint"]["root"]),
    )
    consistency = client.get("/v1/ledger/consistency", params={"first": 1, "second": 2}).json()
    assert consistency["first"] == 1 and len(consistency["proof"]) == 1


def test_http_errors_are_4xx_with_a_reason(client: TestClient) -> None:
    missing = client.get("/v1/ledger/proof/NOPE")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    too_far = client.get("/v1/ledger/consistency", params={"first": 9})
    assert too_far.status_code == 400 and too_far.json()["error"]["message_zh"]
    assert client.get("/v1/ledger/consistency", params={"first": 0}).status_code == 422


def test_label_files_logs_every_file_in_one_batch(settings: Settings, tmp_path: Path) -> None:
    from synthguard.core import Synthguard

    paths = [make_png(tmp_path / f"{i}.png") for i in range(5)]
    with Synthguard.open(settings) as sg:
        outcomes = sg.label_files(paths)
        entries = sg.ledger.select()
        assert [e.content_id for e in entries] == [o.content_id for o in outcomes]
        refs = json.loads(entries[0].leaf)["refs"]
        # The content digest is named by its algorithm: BLAKE3 for the default SG2 signatures.
        assert set(refs) == {"format", "content_blake3", "label_sha256", "key_id"}
        propagated = sg.propagate_file(paths[0])
        assert sg.ledger.select(content_id=propagated.content_id)[0].event_type == "label.propagated"
