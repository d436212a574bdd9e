"""`synthguard detect` and POST /v1/detect end to end: labels, watermark, content ID, Art. 6 verdict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from fastapi.testclient import TestClient

from synthguard.config import Settings
from synthguard.core import Synthguard
from synthguard.gateway.app import create_app
from synthguard.governance import Actor
from synthguard.watermark import audio
from tests.conftest import PLATFORM, PRODUCER, make_png
from tests.watermark.audio_clips import speech


def _files(sg: Synthguard, tmp_path: Path) -> dict[str, Path]:
    plain_png = make_png(tmp_path / "plain.png")
    labeled = tmp_path / "labeled.png"
    sg.label_file(plain_png, labeled, label="1")
    wav = tmp_path / "voice.wav"
    sf.write(str(wav), np.concatenate([speech(0), speech(1)]), 44_100, subtype="PCM_16")
    marked = tmp_path / "marked.wav"
    mark_id = sg.issue_mark_id("content-under-test", "audio")
    audio.embed_file(wav, marked, mark_id, sg.watermark_keys.active)
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00")
    return {"plain": plain_png, "labeled": labeled, "voice": wav, "marked": marked, "bad": bad}


def test_cli_detect_json_reports_label_watermark_and_verdict(settings: Settings, tmp_path: Path) -> None:
    with Synthguard.open(settings) as sg:
        files = _files(sg, tmp_path)
    env = {
        **os.environ,
        "SYNTHGUARD_DATA_DIR": str(settings.data_dir),
        "SYNTHGUARD_PROVIDER_CODE": PRODUCER,
        "SYNTHGUARD_PROPAGATOR_CODE": PLATFORM,
    }
    proc = subprocess.run(
        [sys.executable, "-m", "synthguard", "detect", "--json", *map(str, files.values())],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 1  # one unreadable file
    rows = {Path(r["source"]).stem: r for r in map(json.loads, proc.stdout.splitlines())}
    assert rows["labeled"]["art6"] == "confirmed"
    assert rows["labeled"]["implicit"]["label"]["Label"] == "1"
    assert rows["plain"]["art6"] == "none"
    assert rows["marked"]["art6"] == "suspected"
    assert rows["marked"]["watermark"]["found"] and rows["marked"]["content_id"] == "content-under-test"
    assert rows["marked"]["watermark"]["p_value"] <= 1e-6
    assert rows["voice"]["watermark"]["checked"] and not rows["voice"]["watermark"]["found"]
    assert rows["voice"]["art6"] == "none"
    assert not rows["broken"]["ok"] and rows["broken"]["error"]["message"]

    csv_out = subprocess.run(
        [sys.executable, "-m", "synthguard", "detect", "--csv", str(files["marked"]), str(files["plain"])],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    ).stdout.splitlines()
    assert csv_out[0].startswith("source,kind,art6") and ",suspected,content-under-test," in csv_out[1]


def test_http_detect_returns_the_same_verdicts(settings: Settings, tmp_path: Path) -> None:
    with Synthguard.open(settings) as sg:
        files = _files(sg, tmp_path)
        [draft] = sg.governance.refutations.create(
            Actor("editor", "admin"), ["content-under-test"], "该音频系伪造", notice_en="This audio is fake"
        )
        sg.governance.refutations.publish(Actor("editor", "admin"), draft.id)
        with TestClient(create_app(settings, sg)) as client:
            resp = client.post(
                "/v1/detect",
                files=[
                    ("file", (p.name, p.read_bytes()))
                    for p in (files["marked"], files["labeled"], files["bad"])
                ],
            )
    assert resp.status_code == 200
    results = {r["source"]: r for r in resp.json()["results"]}
    assert results["marked.wav"]["watermark"]["mark_id"] is not None
    assert results["marked.wav"]["content_id"] == "content-under-test"
    assert results["marked.wav"]["refutation"]["notice_en"] == "This audio is fake"
    assert results["labeled.png"]["refutation"] is None
    assert results["labeled.png"]["art6"] == "confirmed"
    assert results["broken.wav"]["ok"] is False
