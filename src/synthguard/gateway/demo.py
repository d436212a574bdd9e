"""The built-in offline demo model server: an OpenAI-compatible upstream with no model inside.

``make run`` routes the ``demo`` models here so the gateway shows every step (review, labels,
streaming hold-back, logs) with no model server installed; tests and ``benchmarks/gateway.py`` run
it under uvicorn as a real separate process (``python -m synthguard.gateway.demo --port N``).

Everything is deterministic: the answer to a prompt is a function of the prompt. A user message
starting with ``repeat:`` is answered with exactly the text after it (``repeat-b64:``: after
base64 decoding, so the input review does not see it), which lets a test plant a
phrase that the stream then splits across chunks (``SYNTHGUARD_DEMO_CHUNK_CHARS`` characters per
chunk, default 3; ``SYNTHGUARD_DEMO_DELAY_MS`` between chunks, default 0). Other prompts get
``SYNTHGUARD_DEMO_SENTENCES`` sentences (default 4; more for an LLM-length streamed answer).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import io
import json
import math
import os
import struct
import time
import wave
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from PIL import Image, ImageDraw, ImageOps

MODELS = ("demo", "demo-image", "demo-tts")
SENTENCES = (
    "这是离线演示模型的回答。",
    "It is generated deterministically from your prompt.",
    "合成内容应当添加显式标识和隐式标识。",
    "The gateway reviews every chunk before it reaches you.",
    "演示模型不包含任何真实模型权重。",
)


def answer_for(prompt: str) -> str:
    if prompt.startswith("repeat-b64:"):  # lets a test plant output the input review never sees
        try:
            return base64.b64decode(prompt[len("repeat-b64:") :]).decode("utf-8")
        except ValueError:
            return ""
    if prompt.startswith("repeat:"):
        return prompt[len("repeat:") :]
    digest = hashlib.sha256(prompt.encode("utf-8")).digest()
    count = max(1, int(os.environ.get("SYNTHGUARD_DEMO_SENTENCES", "4")))
    while len(digest) < count:  # longer answers: more digest bytes, still a function of the prompt
        digest += hashlib.sha256(digest).digest()
    picked = [SENTENCES[b % len(SENTENCES)] for b in digest[:count]]
    return f"You said: {prompt[:80]} " + " ".join(picked)


def chunks_of(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def image_for(prompt: str, size: str) -> bytes:
    try:
        w, h = (int(v) for v in size.lower().split("x", 1))
    except ValueError:
        w, h = 256, 256
    w, h = max(64, min(w, 1024)), max(64, min(h, 1024))
    seed = hashlib.sha256(prompt.encode("utf-8")).digest()
    img = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(img)
    for y in range(h):  # a vertical gradient between two colours taken from the prompt hash
        t = y / max(1, h - 1)
        draw.line([(0, y), (w, y)], fill=tuple(int(seed[i] * (1 - t) + seed[i + 3] * t) for i in range(3)))
    draw.ellipse([w // 4, h // 4, 3 * w // 4, 3 * h // 4], outline=(seed[6], seed[7], seed[8]), width=4)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def speech_for(text: str, rate: int = 16000) -> bytes:
    seconds = min(5.0, 0.4 + 0.06 * len(text))
    seed = hashlib.sha256(text.encode("utf-8")).digest()
    n = int(seconds * rate)
    frames = bytearray()
    for i in range(n):
        freq = 180 + seed[(i // 1600) % len(seed)] * 2  # a new pitch every 0.1 s, like syllables
        frames += struct.pack("<h", int(9000 * math.sin(2 * math.pi * freq * i / rate)))
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(bytes(frames))
    return out.getvalue()


def _prompt_of(messages: Any) -> str:
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": "invalid_request_error", "code": None}}, status
    )


def create_demo_app() -> FastAPI:
    app = FastAPI(title="synthguard demo upstream", docs_url=None, redoc_url=None)
    chunk_chars = max(1, int(os.environ.get("SYNTHGUARD_DEMO_CHUNK_CHARS", "3")))
    delay_s = float(os.environ.get("SYNTHGUARD_DEMO_DELAY_MS", "0")) / 1000

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "demo"} for m in MODELS]}

    async def _stream(kind: str, model: str, text: str) -> AsyncIterator[bytes]:
        cid = ("chatcmpl-" if kind == "chat" else "cmpl-") + hashlib.sha256(text.encode()).hexdigest()[:24]
        created = int(time.time())
        obj = "chat.completion.chunk" if kind == "chat" else "text_completion"

        def chunk(piece: str | None, finish: str | None, first: bool = False) -> bytes:
            if kind == "chat":
                delta: dict[str, Any] = {"role": "assistant", "content": ""} if first else {}
                if piece is not None:
                    delta["content"] = piece
                choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": finish}
            else:
                choice = {"index": 0, "text": piece or "", "finish_reason": finish, "logprobs": None}
            body = {"id": cid, "object": obj, "created": created, "model": model, "choices": [choice]}
            return f"data: {json.dumps(body, ensure_ascii=False)}\n\n".encode()

        if kind == "chat":
            yield chunk(None, None, first=True)
        for piece in chunks_of(text, chunk_chars):
            if delay_s:
                await asyncio.sleep(delay_s)
            yield chunk(piece, None)
        yield chunk(None, "stop")
        yield b"data: [DONE]\n\n"

    async def _text(request: Request, kind: str) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "invalid JSON")
        model = str(body.get("model", "demo"))
        prompt = _prompt_of(body.get("messages")) if kind == "chat" else str(body.get("prompt", ""))
        text = answer_for(prompt)
        if body.get("stream"):
            return StreamingResponse(_stream(kind, model, text), media_type="text/event-stream")
        if delay_s:
            await asyncio.sleep(delay_s * len(chunks_of(text, chunk_chars)))
        usage = {
            "prompt_tokens": len(prompt),
            "completion_tokens": len(text),
            "total_tokens": len(prompt) + len(text),
        }
        if kind == "chat":
            choice: dict[str, Any] = {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
            obj = "chat.completion"
        else:
            choice = {"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}
            obj = "text_completion"
        return JSONResponse(
            {
                "id": "demo-" + hashlib.sha256(text.encode()).hexdigest()[:24],
                "object": obj,
                "created": int(time.time()),
                "model": model,
                "choices": [choice],
                "usage": usage,
            }
        )

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        return await _text(request, "chat")

    @app.post("/v1/completions")
    async def completions(request: Request) -> Response:
        return await _text(request, "completion")

    @app.post("/v1/images/generations")
    async def generations(request: Request) -> Response:
        body = await request.json()
        prompt = str(body.get("prompt", ""))
        n = max(1, min(int(body.get("n") or 1), 4))
        data = [
            {
                "b64_json": base64.b64encode(
                    image_for(f"{prompt}#{i}", str(body.get("size") or "256x256"))
                ).decode()
            }
            for i in range(n)
        ]
        return JSONResponse({"created": int(time.time()), "data": data})

    @app.post("/v1/images/edits")
    async def edits(request: Request) -> Response:
        form = await request.form()
        upload = form.get("image")
        if upload is None or isinstance(upload, str):
            return _error(400, "image is required")
        try:
            img = Image.open(io.BytesIO(await upload.read())).convert("RGB")
        except OSError:
            return _error(400, "image cannot be decoded")
        out = io.BytesIO()
        ImageOps.invert(img).save(out, "PNG")  # the "edit": deterministic and visibly different
        return JSONResponse(
            {"created": int(time.time()), "data": [{"b64_json": base64.b64encode(out.getvalue()).decode()}]}
        )

    @app.post("/v1/audio/speech")
    async def speech(request: Request) -> Response:
        body = await request.json()
        return Response(speech_for(str(body.get("input", ""))), media_type="audio/wav")

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="synthguard's offline demo model server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    uvicorn.run(create_demo_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
