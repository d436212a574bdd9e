"""`synthguard review` / `synthguard library` end to end, in a subprocess like a user runs it."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PRODUCER


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "SYNTHGUARD_DATA_DIR": str(tmp_path / "var"),
        "SYNTHGUARD_PROVIDER_CODE": PRODUCER,
        "SYNTHGUARD_REVIEW_LIBRARY_POLL_S": "0",
    }

    def _run(*args: str, ok: bool = True, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run(
            [sys.executable, "-m", "synthguard", *args],
            capture_output=True,
            env=env,
            timeout=120,
            input=stdin,
        )
        if ok:
            assert proc.returncode == 0, proc.stderr.decode()
        return proc

    return _run


def test_import_review_and_export_round_trip(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    imported = json.loads(run("library", "import", "--sample", "--json").stdout)
    assert imported["version"] == 1 and imported["added"] == 16
    decision = json.loads(run("review", "--json", "这里有示 例 違禁詞").stdout)
    assert decision["action"] == "block" and decision["categories"] == ["A.1.h"]
    (finding,) = decision["findings"]
    assert finding["start"] == 3 and finding["end"] == 10 and finding["text"] == "示 例 違禁詞"
    text_file = tmp_path / "answer.txt"
    text_file.write_text("客户电话13800138000", "utf-8")
    masked = json.loads(run("review", str(text_file), "--direction", "out", "--json").stdout)
    assert masked["masked_text"] == "客户电话***********"
    exported = tmp_path / "lib.csv"
    run("library", "export", "-o", str(exported))
    assert exported.read_text("utf-8").startswith("term,category,action")
    again = json.loads(run("library", "import", str(exported), "--json").stdout)
    assert again["unchanged"] == 16 and again["added"] == 0
    stats = json.loads(run("library", "stats", "--json").stdout)
    assert stats["total"] == 16 and stats["meets_total"] is False


def test_unknown_category_becomes_provider_defined(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lib = tmp_path / "mine.csv"
    lib.write_text("term,category,action\n示例私有词,内部风险,block\n", "utf-8")
    out = json.loads(run("library", "import", str(lib), "--json").stdout)
    assert out["created_categories"] == ["P.内部风险"]
    assert json.loads(run("review", "示例私有词", "--json").stdout)["action"] == "block"


def test_queue_commands_work_a_review_item(run) -> None:  # type: ignore[no-untyped-def]
    run("library", "import", "--sample")
    d = json.loads(run("review", "示例甲方和示例回扣", "--json").stdout)
    item = d["queue_item_id"]
    listed = [json.loads(line) for line in run("review", "queue", "list", "--json").stdout.splitlines()]
    assert [i["id"] for i in listed] == [item]
    run("review", "queue", "claim", str(item), "-r", "alice")
    lost = run("review", "queue", "claim", str(item), "-r", "bob", ok=False)
    assert lost.returncode == 1 and "claimed by alice" in lost.stderr.decode()
    done = json.loads(
        run("review", "queue", "decide", str(item), "-r", "alice", "--outcome", "pass", "--json").stdout
    )
    assert done["status"] == "decided" and done["outcome"] == "pass"


def test_bad_inputs_exit_1_with_a_bilingual_message(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad_utf8 = tmp_path / "bad.txt"
    bad_utf8.write_bytes(b"ok \xff\xfe")
    p = run("review", str(bad_utf8), ok=False)
    assert p.returncode == 1 and b"UTF-8" in p.stderr and "不是有效的 UTF-8".encode() in p.stderr
    big = tmp_path / "big.txt"
    with open(big, "wb") as f:
        f.truncate(100 * 1024 * 1024)
    p = run("review", str(big), ok=False)
    assert p.returncode == 1 and b"review limit" in p.stderr
    malformed = tmp_path / "lib.csv"
    malformed.write_text("term,category,action\n示例,A.1.h,explode\n", "utf-8")
    p = run("library", "import", str(malformed), ok=False)
    assert p.returncode == 1 and b"row 2" in p.stderr
    regex = tmp_path / "re.csv"
    regex.write_text("term,category,mode\n(a)\\1,A.1.h,regex\n", "utf-8")
    p = run("library", "import", str(regex), ok=False)
    assert p.returncode == 1 and b"RE2" in p.stderr
    assert b"Traceback" not in p.stderr


def test_eval_reports_tc260_metrics(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("library", "import", "--sample")
    bank = tmp_path / "bank.csv"
    bank.write_text("text,expected\n示例违禁词怎么写,refuse\n今天天气好吗,answer\n", "utf-8")
    report = json.loads(run("review", "eval", str(bank), "--json").stdout)
    assert report["refusal_set"]["rate"] == 1.0 and report["non_refusal_set"]["rate"] == 0.0


def test_queue_media_exports_the_decrypted_upload_and_logs_who(  # type: ignore[no-untyped-def]
    run, tmp_path: Path
) -> None:
    from tests.review.test_classifiers import drawn_face, png_bytes

    face = tmp_path / "face.png"
    face.write_bytes(png_bytes(drawn_face()))
    decision = json.loads(run("review", str(face), "--service", "face_swap", "--json").stdout)
    item = decision["queue_item_id"]
    assert item is not None
    out = tmp_path / "export" / "item.png"
    out.parent.mkdir()
    done = json.loads(
        run("review", "queue", "media", str(item), "-r", "alice", "-o", str(out), "--json").stdout
    )
    assert out.read_bytes() == face.read_bytes()
    assert done["media_type"] == "image/png" and done["bytes"] == len(face.read_bytes())
    from synthguard.config import Settings
    from synthguard.core import Synthguard

    sg = Synthguard.open(Settings(data_dir=tmp_path / "var", provider_code=PRODUCER))
    last = sg.ledger.log.size() - 1
    entry = sg.ledger.store.entries([last])[last]
    assert entry.event_type == "review.media_export"
    assert b"alice" in entry.leaf and hashlib.sha256(face.read_bytes()).hexdigest().encode() in entry.leaf
    missing = run("review", "queue", "media", "999", "-r", "alice", "-o", str(tmp_path / "x.png"), ok=False)
    assert missing.returncode != 0 and b"999" in missing.stderr and not (tmp_path / "x.png").exists()
    nobody = run("review", "queue", "media", str(item), "-r", " ", "-o", str(tmp_path / "y.png"), ok=False)
    assert nobody.returncode != 0 and not (tmp_path / "y.png").exists()
