"""HTTP `/v1/labels` embeds the watermark by default, and `?watermark=false` turns it off."""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from synthguard.config import Settings
from synthguard.gateway import create_app
from synthguard.watermark.image import detect_array
from synthguard.watermark.payload import Keyring
from tests.watermark.images import photo


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(photo("coffee")).save(buf, "JPEG", quality=92)
    return buf.getvalue()


def test_label_upload_carries_a_watermark_that_resolves(client: TestClient, settings: Settings) -> None:
    r = client.post("/v1/labels", files={"file": ("a.jpg", _jpeg(), "image/jpeg")})
    assert r.status_code == 200, r.text
    mark_id = int(r.headers["X-Synthguard-Watermark"])
    pixels = np.asarray(Image.open(io.BytesIO(r.content)))
    found = detect_array(pixels, Keyring.load_or_create(settings.keys_dir)).payload
    assert found is not None and found.mark_id == mark_id
    inspected = client.post("/v1/labels/verify", files={"file": ("a.jpg", r.content)}).json()
    assert inspected["integrity"] == "intact"


def test_watermark_false_keeps_pixels(client: TestClient) -> None:
    original = _jpeg()
    r = client.post("/v1/labels?watermark=false", files={"file": ("a.jpg", original, "image/jpeg")})
    assert r.status_code == 200, r.text
    assert "X-Synthguard-Watermark" not in r.headers
    before = np.asarray(Image.open(io.BytesIO(original)))
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(r.content))), before)
