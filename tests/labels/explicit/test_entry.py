"""One pass, every face: ``Synthguard.label_file(explicit=...)``, ``synthguard label --explicit``,
``synthguard explicit ...`` and ``POST /v1/labels?explicit=true`` / ``/v1/explicit/*``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from PIL import Image

from synthguard.config import Settings
from synthguard.core import Synthguard
from synthguard.errors import NoticeDoesNotFit
from synthguard.gateway import create_app
from synthguard.labels import implicit
from synthguard.labels.explicit import ExplicitOptions, Notice, badge_html, badge_json, find_image_notice
from tests.conftest import PLATFORM, PRODUCER, make_jpeg, make_png


def test_core_applies_explicit_then_a_signed_implicit_label(sg: Synthguard, tmp_path: Path) -> None:
    src = make_jpeg(tmp_path / "a.jpg", (640, 480))
    original = src.read_bytes()
    out = tmp_path / "out.jpg"
    outcome = sg.label_file(src, out, explicit=True)
    assert src.read_bytes() == original  # the input is untouched when writing elsewhere
    assert outcome.explicit is not None and outcome.explicit["kind"] == "image"
    assert outcome.source == str(src) and outcome.path == str(out)
    inspection = sg.inspect_file(out)
    assert inspection.verdict == "compliant" and inspection.integrity == "intact"
    assert find_image_notice(out) is not None
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staged copy left


def test_core_explicit_in_place_and_vary_uses_the_content_id(sg: Synthguard, tmp_path: Path) -> None:
    src = make_png(tmp_path / "b.png", (400, 300))
    outcome = sg.label_file(src, explicit=ExplicitOptions(position="vary"), produce_id="fixed-id-1")
    assert implicit.read_label(src).label is not None
    again = make_png(tmp_path / "c.png", (400, 300))
    second = sg.label_file(again, explicit=ExplicitOptions(position="vary"), produce_id="fixed-id-1")
    assert outcome.explicit and second.explicit
    assert outcome.explicit["position"] == second.explicit["position"]


def test_core_explicit_failure_leaves_the_input_and_no_temp_files(sg: Synthguard, tmp_path: Path) -> None:
    src = tmp_path / "tiny.png"
    Image.new("RGB", (1, 1)).save(src)
    snapshot = src.read_bytes()
    with pytest.raises(NoticeDoesNotFit):
        sg.label_file(src, explicit=True)
    assert src.read_bytes() == snapshot
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.png", "var"]


def test_core_batch_with_explicit_reports_each_file(sg: Synthguard, tmp_path: Path) -> None:
    good = make_png(tmp_path / "g.png", (320, 240))
    tiny = tmp_path / "t.png"
    Image.new("RGB", (2, 2)).save(tiny)
    outcomes = sg.label_files([good, tiny], explicit=True)
    assert outcomes[0].ok and outcomes[0].explicit
    assert not outcomes[1].ok and outcomes[1].error and outcomes[1].error.code == "notice_does_not_fit"


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "SYNTHGUARD_DATA_DIR": str(tmp_path / "var"),
        "SYNTHGUARD_PROVIDER_CODE": PRODUCER,
        "SYNTHGUARD_PROPAGATOR_CODE": PLATFORM,
        "SYNTHGUARD_FSYNC": "false",
        "SYNTHGUARD_FILING_NUMBER": "网信算备110108000000001230001号",
        "SYNTHGUARD_FILING_URL": "https://beian.cac.gov.cn/",
    }

    def _run(*args: str, ok: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "synthguard", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            input=stdin,
        )
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc

    return _run


def test_cli_label_explicit_then_inspect_and_find(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    img = make_jpeg(tmp_path / "a.jpg", (640, 480))
    proc = run("label", str(img), "--explicit", "--position", "top-left", "--lang", "zh", "--json")
    line = json.loads(proc.stdout)
    assert line["ok"] and line["explicit"]["kind"] == "image" and line["explicit"]["position"] == "top-left"
    inspected = json.loads(run("inspect", str(img), "--json").stdout)
    assert inspected["verdict"] == "compliant"
    found = json.loads(run("explicit", "find", str(img), "--json").stdout)
    assert found["found"] and found["text"] == "AI生成" and found["box"][0] < 64
    tiny = tmp_path / "t.png"
    Image.new("RGB", (1, 1)).save(tiny)
    bad = run("label", str(tiny), "--explicit", ok=False)
    assert bad.returncode == 1 and "does not fit" in bad.stdout + bad.stderr


def test_cli_explicit_apply_text_audio_and_badge(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    md = tmp_path / "a.md"
    md.write_text("---\ntitle: t\n---\n# H\n\nbody\n", encoding="utf-8")
    wav = tmp_path / "a.wav"
    sf.write(wav, np.zeros((16_000, 1), np.int16), 16_000, subtype="PCM_16")
    rows = [json.loads(x) for x in run("explicit", "apply", str(md), str(wav), "--json").stdout.splitlines()]
    assert [r["kind"] for r in rows] == ["text", "audio"]
    assert "本内容由人工智能生成" in md.read_text(encoding="utf-8")
    assert sf.info(str(wav)).frames > 16_000
    piped = run("explicit", "text", "--format", "plain", "--position", "end", "--lang", "en", stdin="hello\n")
    assert piped.stdout == "hello\n\nThis content is generated by AI\n"
    badge = json.loads(run("explicit", "badge", "--format", "json").stdout)
    assert badge["filing"] == {
        "number": "网信算备110108000000001230001号",
        "url": "https://beian.cac.gov.cn/",
    }
    assert "customElements.define" in run("explicit", "badge", "--format", "js").stdout


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    settings.filing_number = "网信算备0001号"
    settings.filing_url = "https://example.org/filing"
    with TestClient(create_app(settings)) as c:
        yield c


def test_http_label_explicit_returns_both_labels(client: TestClient, tmp_path: Path) -> None:
    png = make_png(tmp_path / "a.png", (480, 360)).read_bytes()
    r = client.post("/v1/labels?explicit=true&position=bottom-left", files={"file": ("a.png", png)})
    assert r.status_code == 200, r.text
    assert r.headers["X-Synthguard-Explicit"] == "image"
    out = tmp_path / "out.png"
    out.write_bytes(r.content)
    assert implicit.read_label(out).label is not None
    match = find_image_notice(out)
    assert match is not None and match.box[0] < 40
    bad = client.post("/v1/labels?explicit=true&position=nowhere", files={"file": ("a.png", png)})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_notice_options"
    tiny = tmp_path / "t.png"
    Image.new("RGB", (1, 1)).save(tiny)
    small = client.post("/v1/labels?explicit=true", files={"file": ("t.png", tiny.read_bytes())})
    assert small.status_code == 422 and small.json()["error"]["message_zh"]


def test_http_badge_text_and_find(client: TestClient, tmp_path: Path) -> None:
    data = client.get("/v1/explicit/badge.json?lang=zh&level=3").json()
    assert data["text"] == "本内容疑似由人工智能生成" and data["filing"]["number"] == "网信算备0001号"
    html = client.get("/v1/explicit/badge.html").text
    assert 'href="https://example.org/filing"' in html and 'role="note"' in html
    assert client.get("/v1/explicit/badge.js").headers["content-type"].startswith("text/javascript")
    text = client.post("/v1/explicit/text", json={"text": "<p>x</p>", "format": "html", "lang": "en"}).text
    assert text.startswith('\n<p class="aigc-notice"') or "aigc-notice" in text
    png = make_png(tmp_path / "a.png", (480, 360))
    assert (
        client.post("/v1/explicit/find", files={"file": ("a.png", png.read_bytes())}).json()["found"] is False
    )


def test_badge_escapes_values_and_refuses_script_links() -> None:
    html = badge_html(Notice(lang="en"), filing_number='<script>"x"</script>', content_id="a&b")
    assert "<script>" not in html and "&lt;script&gt;" in html and 'data-content-id="a&amp;b"' in html
    with pytest.raises(Exception, match="http"):
        badge_json(filing_number="1", filing_url="javascript:alert(1)")
    assert badge_json()["filing"] is None
