"""HTTP `/v1/labels`: the same core over uploads; errors are 4xx with a reason, never 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from synthguard.config import Settings
from synthguard.gateway import create_app
from tests.conftest import PLATFORM, make_jpeg, make_png


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def test_upload_returns_the_labeled_file(client: TestClient, tmp_path: Path) -> None:
    png = make_png(tmp_path / "a.png").read_bytes()
    r = client.post("/v1/labels", files={"file": ("a.png", png, "image/png")})
    assert r.status_code == 200, r.text
    assert r.headers["X-AIGC-Label"] == "1"
    content_id = r.headers["X-Synthguard-Content-Id"]
    inspected = client.post("/v1/labels/inspect", files={"file": ("a.png", r.content)}).json()
    assert inspected["verdict"] == "compliant"
    assert inspected["integrity"] == "intact"
    assert inspected["label"]["ProduceID"] == content_id


def test_propagate_endpoint(client: TestClient, tmp_path: Path) -> None:
    jpg = make_jpeg(tmp_path / "a.jpg").read_bytes()
    labeled = client.post("/v1/labels", files={"file": ("a.jpg", jpg)}).content
    r = client.post("/v1/labels/propagate", files={"file": ("a.jpg", labeled)})
    assert r.status_code == 200, r.text
    inspected = client.post("/v1/labels/verify", files={"file": ("a.jpg", r.content)}).json()
    assert inspected["label"]["ContentPropagator"] == PLATFORM
    assert inspected["integrity"] == "intact"


@pytest.mark.parametrize(
    ("name", "data", "status", "code"),
    [
        ("empty.png", b"", 422, "corrupt_file"),
        ("junk.bin", b"\x00\x01\x02\x03\x04garbage", 415, "unsupported_format"),
        ("cut.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00", 422, "corrupt_file"),
    ],
)
def test_bad_uploads_get_a_4xx_with_a_reason(
    client: TestClient, name: str, data: bytes, status: int, code: str
) -> None:
    r = client.post("/v1/labels", files={"file": (name, data)})
    assert r.status_code == status, r.text
    body = r.json()["error"]
    assert body["code"] == code
    assert body["message"] and body["message_zh"]


def test_bad_label_query_is_422(client: TestClient, tmp_path: Path) -> None:
    png = make_png(tmp_path / "a.png").read_bytes()
    assert client.post("/v1/labels?label=9", files={"file": ("a.png", png)}).status_code == 422


def test_missing_file_field_is_422(client: TestClient) -> None:
    assert client.post("/v1/labels").status_code == 422


def test_public_keys_and_console_page(client: TestClient) -> None:
    keys = client.get("/v1/labels/keys").json()
    assert keys["active_key_id"] in {k["key_id"] for k in keys["keys"]}
    page = client.get("/")
    assert page.status_code == 200 and "标识工作台" in page.text
    assert client.get("/static/console.js").status_code == 200
    assert client.get("/healthz").json()["status"] == "ok"
