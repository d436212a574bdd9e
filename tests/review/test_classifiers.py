from __future__ import annotations

import asyncio
import io
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from synthguard.errors import ClassifierUnavailable, CorruptFile
from synthguard.identity.numbers import resident_id_check_char
from synthguard.review.classifiers import (
    ChinesePII,
    Content,
    FaceDetector,
    HttpModeration,
    NudityClassifier,
    VideoFrames,
    VoiceDetector,
    find_pii,
    luhn_ok,
)


def drawn_face(size: int = 150) -> np.ndarray:
    """A grey-scale cartoon face: dark eyes and brows over lighter cheeks, which is what Haar sees."""
    import cv2

    img = np.full((size * 2, size * 2), 255, np.uint8)
    c = size
    cv2.ellipse(img, (c, c), (int(size * 0.42), int(size * 0.55)), 0, 0, 360, 180, -1)
    for dx in (-1, 1):
        cv2.ellipse(
            img,
            (c + dx * int(size * 0.17), c - int(size * 0.1)),
            (int(size * 0.09), int(size * 0.045)),
            0,
            0,
            360,
            30,
            -1,
        )
        cv2.line(
            img,
            (c + dx * int(size * 0.08), c - int(size * 0.2)),
            (c + dx * int(size * 0.27), c - int(size * 0.2)),
            30,
            int(size * 0.03),
        )
    cv2.line(
        img,
        (c - int(size * 0.05), c + int(size * 0.12)),
        (c + int(size * 0.05), c + int(size * 0.12)),
        120,
        int(size * 0.03),
    )
    cv2.ellipse(img, (c, c + int(size * 0.27)), (int(size * 0.14), int(size * 0.04)), 0, 0, 360, 90, -1)
    return cv2.cvtColor(cv2.GaussianBlur(img, (0, 0), size * 0.02), cv2.COLOR_GRAY2BGR)


def png_bytes(image: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".png", image)
    assert ok
    return buf.tobytes()


def landscape() -> np.ndarray:
    rng = np.random.default_rng(1)
    sky = np.linspace(200, 120, 200)[:, None, None] * np.ones((200, 300, 3))
    return np.clip(sky + rng.normal(0, 8, sky.shape), 0, 255).astype(np.uint8)


# --- PII --------------------------------------------------------------------------------------------


def _resident_id(body: str) -> str:
    return body + resident_id_check_char(body)


def test_pii_finds_ids_with_valid_check_digits_only() -> None:
    good = _resident_id("11010519900307851")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    found = find_pii(f"证件{good}，另一个{bad}")
    assert [(s.label, s.start) for s in found] == [("resident_id", 2)]


def test_pii_mobile_and_bank_cards() -> None:
    text = "电话 +86 138-0013-8000，卡号 6222 0212 3456 7890 128，订单号 1234567890123456"
    labels = [s.label for s in find_pii(text)]
    assert labels.count("mobile") == 1
    assert luhn_ok("6222021234567890128") and not luhn_ok("1234567890123456")
    assert labels.count("bank_card") == 1


def test_pii_does_not_read_an_id_as_a_card() -> None:
    rid = _resident_id("44030619851201123")
    assert [s.label for s in ChinesePII().classify(Content("text", text=f"号码{rid}"))] == ["resident_id"]


# --- images, audio, video ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def face_detector() -> FaceDetector:
    return FaceDetector()


def test_face_detector_flags_a_face_and_not_a_landscape(face_detector: FaceDetector) -> None:
    (face,) = face_detector.classify(Content("image", data=png_bytes(drawn_face())))
    assert face.risk == "S.face" and face.score == 1.0 and face.detail["faces"] == 1
    (none,) = face_detector.classify(Content("image", data=png_bytes(landscape())))
    assert none.score == 0.0


def test_undecodable_image_is_a_corrupt_file(face_detector: FaceDetector) -> None:
    with pytest.raises(CorruptFile):
        face_detector.classify(Content("image", data=b"\x89PNG not really"))


def test_nudity_model_loads_offline_and_scores_a_landscape_low() -> None:
    (score,) = NudityClassifier().classify(Content("image", data=png_bytes(landscape())))
    assert score.risk == "A.1.f" and score.score < 0.5


@pytest.fixture(scope="module")
def voice() -> VoiceDetector:
    return VoiceDetector()


def _wav(samples: np.ndarray, rate: int = 16000) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, samples, rate, format="WAV")
    return buf.getvalue()


def test_voice_detector_hears_speech(voice: VoiceDetector, tmp_path: Path) -> None:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.fail("espeak-ng is not installed; `make test` installs it")
    wav = tmp_path / "speech.wav"
    subprocess.run(
        [espeak, "-v", "cmn", "-w", str(wav), "今天我们在公司开会讨论新产品的设计方案。"], check=True
    )
    (score,) = voice.classify(Content("audio", path=wav))
    assert score.label == "voice" and score.detail["speech_s"] > 1.0


def test_voice_detector_ignores_tones_and_noise(voice: VoiceDetector) -> None:
    rate = 16000
    t = np.arange(rate * 2) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    noise = (0.05 * np.random.default_rng(0).standard_normal(rate * 2)).astype(np.float32)
    for samples in (tone, noise):
        (score,) = voice.classify(Content("audio", data=_wav(samples, 44100 if samples is tone else rate)))
        assert score.label == "no_voice"


def _mp4(frames: list[np.ndarray], fps: int = 2) -> bytes:
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def test_video_is_judged_on_sampled_frames(face_detector: FaceDetector) -> None:
    blank = np.full((300, 300, 3), 230, np.uint8)
    data = _mp4([blank, blank, drawn_face(), blank, blank, blank])
    scores = VideoFrames([face_detector], every_s=0.5).classify(Content("video", data=data))
    (face,) = scores
    assert face.score == 1.0 and face.detail["at_s"] == pytest.approx(1.0) and face.detail["frames"] == 6


# --- HTTP adapter against a real local server --------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def moderation_server() -> Iterator[str]:
    import uvicorn

    app = FastAPI()

    @app.post("/moderate")
    async def moderate(request: Request) -> Any:
        body = await request.json()
        text = body.get("text", "")
        if "超时" in text:
            await asyncio.sleep(1.5)
        if "坏格式" in text:
            return {"result": "ok"}
        if "故障" in text:
            return JSONResponse({"error": "boom"}, status_code=500)
        hits = [{"label": "porn", "score": 0.97}] if "色情示例" in text else []
        return {"scores": [*hits, {"risk": "A.5.b", "score": 0.1}]}

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/moderate"
    server.should_exit = True
    thread.join(timeout=5)


def test_http_adapter_maps_provider_labels_to_risks(moderation_server: str) -> None:
    adapter = HttpModeration(moderation_server, label_map={"porn": "A.1.f"})
    scores = adapter.classify(Content("text", text="一段色情示例文字"))
    assert [(s.risk, s.label, s.score) for s in scores] == [("A.1.f", "porn", 0.97), ("A.5.b", "A.5.b", 0.1)]


@pytest.mark.parametrize(
    ("text", "message"), [("坏格式", "malformed"), ("故障", "HTTP 500"), ("超时", "Timeout")]
)
def test_http_adapter_failures_are_classifier_unavailable(
    moderation_server: str, text: str, message: str
) -> None:
    adapter = HttpModeration(moderation_server, timeout_s=0.5, label_map={"porn": "A.1.f"})
    with pytest.raises(ClassifierUnavailable, match=message):
        adapter.classify(Content("text", text=text))


def test_unmapped_provider_label_is_rejected(moderation_server: str) -> None:
    with pytest.raises(ClassifierUnavailable, match="label_map"):
        HttpModeration(moderation_server).classify(Content("text", text="色情示例"))


def test_engine_fails_closed_when_the_provider_model_is_down(settings: Any, moderation_server: str) -> None:
    from synthguard.core import Synthguard

    cfg = settings.model_copy(
        update={"review_moderation_url": moderation_server, "review_moderation_timeout_s": 0.5}
    )
    with Synthguard.open(cfg) as core:
        down = core.review_text("故障")
        assert down.action == "review" and down.findings[0].label == "unavailable"
        assert core.review_text("你好").action == "pass"
