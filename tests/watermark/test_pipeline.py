"""The watermark inside labeling (explicit -> watermark -> signed implicit label), the CLI and the store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from synthguard.watermark.image import detect_file
from tests.conftest import PLATFORM, PRODUCER, make_jpeg
from tests.watermark.images import natural_like, photo

if TYPE_CHECKING:
    from synthguard.core import Synthguard


def _jpeg(path: Path, pixels: np.ndarray) -> Path:
    Image.fromarray(pixels).save(path, quality=92)
    return path


def test_label_marks_the_pixels_and_signs_over_the_marked_file(sg: Synthguard, tmp_path: Path) -> None:
    src = _jpeg(tmp_path / "photo.jpg", photo("coffee"))
    before = np.asarray(Image.open(src))
    outcome = sg.label_file(src)
    assert outcome.ok and outcome.watermark is not None
    mark_id = outcome.watermark["mark_id"]
    record = sg.resolve_mark_id(mark_id)
    assert record is not None and (record.content_id, record.modality) == (outcome.content_id, "image")
    # The implicit label's signature covers the watermarked pixels: the file verifies intact.
    assert sg.inspect_file(src).integrity == "intact"
    found = detect_file(src, sg.watermark_keys).payload
    assert found is not None and found.mark_id == mark_id
    assert not np.array_equal(np.asarray(Image.open(src)), before)
    assert not list(tmp_path.glob(".*"))  # the staged watermarked copy is gone


def test_no_watermark_leaves_pixels_identical(sg: Synthguard, tmp_path: Path) -> None:
    src = _jpeg(tmp_path / "photo.jpg", natural_like(300, 400, seed=4))
    out = tmp_path / "out.jpg"
    outcome = sg.label_file(src, out, watermark=False)
    assert outcome.watermark is None
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(src)))


def test_images_too_small_for_a_mark_are_still_labeled_by_default(sg: Synthguard, tmp_path: Path) -> None:
    small = make_jpeg(tmp_path / "small.jpg")
    outcome = sg.label_file(small)
    assert outcome.ok and outcome.watermark is None
    assert sg.inspect_file(small).integrity == "intact"


def test_explicit_label_then_watermark_then_implicit_label(sg: Synthguard, tmp_path: Path) -> None:
    src = _jpeg(tmp_path / "photo.jpg", photo("coffee"))
    out = tmp_path / "out.jpg"
    outcome = sg.label_file(src, out, explicit=True)
    assert outcome.explicit is not None and outcome.watermark is not None
    assert sg.inspect_file(out).integrity == "intact"
    found = detect_file(out, sg.watermark_keys).payload
    assert found is not None and found.mark_id == outcome.watermark["mark_id"]


def test_a_second_replica_resolves_marks_issued_by_the_first(sg: Synthguard) -> None:
    from synthguard.core import Synthguard as Core

    mark_id = sg.issue_mark_id("sg-content-1", "audio")
    assert 0 < mark_id < (1 << 20)  # audio payloads carry 20-bit ids
    with Core.open(sg.settings) as other:
        record = other.resolve_mark_id(mark_id)
        assert record is not None and record.content_id == "sg-content-1"
        assert other.watermark_keys.active == sg.watermark_keys.active
    assert sg.resolve_mark_id(0) is None


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SYNTHGUARD_DATA_DIR": str(tmp_path / "var"),
        "SYNTHGUARD_PROVIDER_CODE": PRODUCER,
        "SYNTHGUARD_PROPAGATOR_CODE": PLATFORM,
        "SYNTHGUARD_FSYNC": "false",
    }
    return subprocess.run(
        [sys.executable, "-m", "synthguard", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_cli_embed_then_detect_resolves_the_content_id(tmp_path: Path) -> None:
    src = _jpeg(tmp_path / "a.jpg", photo("chelsea"))
    out_dir = tmp_path / "out"
    embedded = _run(
        tmp_path, "watermark", "embed", str(src), "--out", str(out_dir), "--content-id", "cid-42", "--json"
    )
    assert embedded.returncode == 0, embedded.stderr
    row = json.loads(embedded.stdout)
    assert row["ok"] and row["content_id"] == "cid-42"
    detected = _run(tmp_path, "watermark", "detect", str(out_dir / "a.jpg"), str(src), "--json")
    assert detected.returncode == 0, detected.stderr
    marked, plain = (json.loads(line) for line in detected.stdout.splitlines())
    assert marked["found"] and marked["mark_id"] == row["mark_id"] and marked["content_id"] == "cid-42"
    assert marked["p_value"] < 1e-6
    assert not plain["found"]


def test_cli_label_watermarks_by_default_and_not_with_no_watermark(tmp_path: Path) -> None:
    a = _jpeg(tmp_path / "a.jpg", photo("chelsea"))
    b = _jpeg(tmp_path / "b.jpg", photo("chelsea"))
    on = _run(tmp_path, "label", str(a), "--json")
    off = _run(tmp_path, "label", str(b), "--no-watermark", "--json")
    assert on.returncode == 0 and off.returncode == 0, on.stderr + off.stderr
    assert json.loads(on.stdout)["watermark"]["mark_id"] > 0
    assert json.loads(off.stdout)["watermark"] is None


def test_cli_reports_bad_files_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    result = _run(tmp_path, "watermark", "detect", str(bad), str(text), "--json")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["ok"] for r in rows] == [False, False]
