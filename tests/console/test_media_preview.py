"""The review queue's media preview over HTTP: the item page embeds the right player, the media
endpoint serves the decrypted bytes with their sniffed type, nosniff and an inline safe name;
SVG/HTML never come back as something a browser renders; over-cap items say so."""

from __future__ import annotations

import io
import wave

from fastapi.testclient import TestClient

from synthguard.core import Synthguard
from tests.console.conftest import login
from tests.review.test_classifiers import drawn_face, png_bytes


def wav_bytes(seconds: float = 0.5, rate: int = 16000) -> bytes:
    import numpy as np

    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return buf.getvalue()


def test_a_reviewed_image_is_previewed_and_served_with_safe_headers(
    app_client: TestClient, core: Synthguard
) -> None:
    image = png_bytes(drawn_face())
    decision = core.review_media(image, "image", service="face_swap", user_id="bob")
    item = decision.queue_item_id
    assert item is not None
    login(app_client, "reviewer")
    page = app_client.get(f"/console/queue/{item}").text
    assert f'<img src="/console/queue/{item}/media"' in page and 'data-media-type="image/png"' in page
    r = app_client.get(f"/console/queue/{item}/media")
    assert r.status_code == 200 and r.content == image
    assert r.headers["content-type"] == "image/png"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"] == f'inline; filename="review-item-{item}.png"'
    assert r.headers["cache-control"] == "no-store"
    views = [a for a in core.governance.audit.list() if a.action == "queue.media_view"]
    assert views and views[0].actor == "reviewer"


def test_audio_gets_an_audio_player(app_client: TestClient, core: Synthguard) -> None:
    audio = wav_bytes()
    item = core.reviewer.queue.enqueue("", media=audio, service="voice_clone", direction="in")
    login(app_client, "admin")
    assert (
        f'<audio controls preload="metadata" src="/console/queue/{item}/media"'
        in app_client.get(f"/console/queue/{item}").text
    )
    r = app_client.get(f"/console/queue/{item}/media")
    assert r.headers["content-type"] == "audio/wav" and r.content == audio


def test_players_can_seek_with_byte_ranges_and_a_view_is_audited_once(
    app_client: TestClient, core: Synthguard
) -> None:
    audio = wav_bytes(seconds=1.0)
    item = core.reviewer.queue.enqueue("", media=audio, service="voice_clone", direction="in")
    login(app_client, "reviewer")
    url = f"/console/queue/{item}/media"
    first = app_client.get(url, headers={"Range": "bytes=0-99"})
    assert first.status_code == 206 and first.content == audio[:100]
    assert first.headers["content-range"] == f"bytes 0-99/{len(audio)}"
    assert first.headers["accept-ranges"] == "bytes" and first.headers["x-content-type-options"] == "nosniff"
    seek = app_client.get(url, headers={"Range": "bytes=1000-"})
    assert seek.status_code == 206 and seek.content == audio[1000:]
    tail = app_client.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == audio[-10:]
    beyond = app_client.get(url, headers={"Range": f"bytes={len(audio)}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(audio)}"
    garbled = app_client.get(url, headers={"Range": "bytes=abc"})
    assert garbled.status_code == 200 and garbled.content == audio  # ignored, as RFC 9110 says
    views = [a for a in core.governance.audit.list() if a.action == "queue.media_view"]
    assert len(views) == 2  # the 0-99 fetch and the whole-body fetch; seeks are not views


def test_svg_and_html_are_never_served_for_rendering(app_client: TestClient, core: Synthguard) -> None:
    login(app_client, "reviewer")
    for body in (
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        b"<html><script>alert(document.cookie)</script></html>",
    ):
        item = core.reviewer.queue.enqueue("", media=body, service="image_edit", direction="in")
        page = app_client.get(f"/console/queue/{item}").text
        assert "<img" not in page and 'data-media-note="download"' in page
        r = app_client.get(f"/console/queue/{item}/media")
        assert r.content == body
        assert r.headers["content-type"] == "application/octet-stream"
        assert r.headers["content-disposition"].startswith("attachment;")
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in r.headers["content-security-policy"]


def test_over_the_cap_the_page_says_only_the_digest_is_kept(app_client: TestClient, core: Synthguard) -> None:
    core.reviewer.queue.media_max_bytes = 100
    image = png_bytes(drawn_face())
    item = core.reviewer.queue.enqueue("", media=image, service="image_edit", direction="in")
    login(app_client, "reviewer")
    page = app_client.get(f"/console/queue/{item}").text
    assert 'data-media-note="too_large"' in page and "<img" not in page
    assert core.reviewer.queue.get(item).content_sha256 in page
    assert app_client.get(f"/console/queue/{item}/media").status_code == 404


def test_a_text_item_has_no_media(app_client: TestClient, core: Synthguard) -> None:
    item = core.reviewer.queue.enqueue("plain text", service="chat", direction="in")
    login(app_client, "reviewer")
    assert "data-media" not in app_client.get(f"/console/queue/{item}").text
    assert app_client.get(f"/console/queue/{item}/media").status_code == 404
    assert app_client.get("/console/queue/999999/media").status_code == 404


def test_after_retention_the_page_shows_only_the_digest(app_client: TestClient, core: Synthguard) -> None:
    import datetime as dt

    queue = core.reviewer.queue
    image = png_bytes(drawn_face())
    item = queue.enqueue("", media=image, service="image_edit", direction="in")
    queue.claim(item, "reviewer")
    queue.decide(item, "reviewer", "pass")
    assert queue.purge(now=dt.datetime.now(dt.UTC) + dt.timedelta(days=400))["payloads_erased"] == 1
    login(app_client, "reviewer")
    page = app_client.get(f"/console/queue/{item}").text
    assert "data-erased" in page and 'data-media-note="erased"' in page and "<img" not in page
    assert app_client.get(f"/console/queue/{item}/media").status_code == 404
