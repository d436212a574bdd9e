"""HTTP `/v1/review`: the same core; bad input is a 4xx with a bilingual reason, never a 500."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from synthguard.config import Settings
from synthguard.gateway import create_app
from synthguard.review.library import sample_library


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        r = c.post("/v1/review/library", files={"file": ("sample.csv", sample_library(), "text/csv")})
        assert r.status_code == 200, r.text
        yield c


def test_post_review_returns_decision_categories_and_spans(client: TestClient) -> None:
    r = client.post("/v1/review", json={"text": "输出：示-例-违-禁-词", "direction": "out"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["action"] == "block" and body["categories"] == ["A.1.h"]
    f = body["findings"][0]
    assert "输出：示-例-违-禁-词"[f["start"] : f["end"]] == "示-例-违-禁-词"
    assert body["refusal_zh"] and body["refusal_en"]


def test_library_stats_and_export(client: TestClient) -> None:
    stats = client.get("/v1/review/library/stats").json()
    assert stats["version"] == 1 and stats["total"] == 16
    exported = client.get("/v1/review/library", params={"format": "json"})
    assert exported.status_code == 200 and len(exported.json()["entries"]) == 16


def test_malformed_library_upload_is_422(client: TestClient) -> None:
    r = client.post("/v1/review/library", files={"file": ("x.csv", b"term,category\n,A.1.h\n", "text/csv")})
    assert r.status_code == 422 and r.json()["error"]["code"] == "library_invalid"
    r = client.post(
        "/v1/review/library", files={"file": ("x.csv", b"term,category\n\xff\xfe,A\n", "text/csv")}
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_text"


def test_oversized_text_is_413(client: TestClient, settings: Settings) -> None:
    r = client.post("/v1/review", json={"text": "a" * (settings.review_max_bytes + 1)})
    assert r.status_code == 413 and r.json()["error"]["code"] == "text_too_large"


def test_invalid_json_body_is_a_4xx(client: TestClient) -> None:
    r = client.post("/v1/review", content=b'{"text": "\xff"}', headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500


def test_queue_endpoints_claim_once(client: TestClient) -> None:
    d = client.post("/v1/review", json={"text": "示例甲方与示例回扣"}).json()
    item = d["queue_item_id"]
    assert [i["id"] for i in client.get("/v1/review/queue", params={"status": "open"}).json()] == [item]
    assert client.post(f"/v1/review/queue/{item}/claim", json={"reviewer": "alice"}).status_code == 200
    lost = client.post(f"/v1/review/queue/{item}/claim", json={"reviewer": "bob"})
    assert lost.status_code == 409 and lost.json()["error"]["code"] == "queue_conflict"
    note = client.post(f"/v1/review/queue/{item}/notes", json={"author": "alice", "body": "看过了"})
    assert note.json()["notes"][-1]["body"] == "看过了"
    done = client.post(f"/v1/review/queue/{item}/decide", json={"reviewer": "alice", "outcome": "block"})
    assert done.json()["outcome"] == "block"
    assert client.get("/v1/review/queue/9999").status_code == 404


def test_media_review_flags_voice_for_voice_cloning(client: TestClient) -> None:
    import numpy as np
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.zeros(16000, np.float32), 16000, format="WAV")
    r = client.post(
        "/v1/review/media",
        files={"file": ("a.wav", buf.getvalue(), "audio/wav")},
        data={"modality": "audio", "service": "voice_clone"},
    )
    assert r.status_code == 200 and r.json()["action"] == "pass"
    bad = client.post(
        "/v1/review/media", files={"file": ("a.wav", b"not audio", "audio/wav")}, data={"modality": "audio"}
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "corrupt_file"


def test_eval_endpoint(client: TestClient) -> None:
    bank = "text,expected\n示例违禁词是什么,refuse\n你好,answer\n".encode()
    r = client.post("/v1/review/eval", files={"file": ("bank.csv", bank, "text/csv")})
    assert r.status_code == 200 and r.json()["refusal_set"]["rate"] == 1.0
