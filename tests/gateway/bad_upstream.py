"""A misbehaving OpenAI-compatible upstream: errors with secrets in the body, slowness, streams that
close half-way, and a slow stream that records whether its client went away."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

LEAKY = "internal-host-10.1.2.3 key=sk-upstream-TOP-SECRET-do-not-leak"


class Seen:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cancelled = threading.Event()
        self.sent = 0
        self.requests = 0


def create_bad_app(seen: Seen) -> FastAPI:
    app = FastAPI()

    def chunk(text: str | None, finish: str | None = None) -> bytes:
        delta: dict[str, Any] = {} if text is None else {"content": text}
        body = {
            "id": "bad-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "x",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(body)}\n\n".encode()

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        body = await request.json()
        seen.requests += 1
        model = body.get("model")
        if model == "err500":
            return JSONResponse({"error": {"message": LEAKY}}, status_code=500)
        if model == "err400":
            return JSONResponse({"error": {"message": LEAKY}}, status_code=400)
        if model == "slow":
            await asyncio.sleep(3)
            return JSONResponse({})
        if model == "garbage":
            return Response(b"<html>" + LEAKY.encode(), media_type="text/html")

        async def halfclose() -> AsyncIterator[bytes]:
            yield chunk("半截")
            yield chunk("回答")
            # ends without finish_reason and without [DONE]

        async def slowstream() -> AsyncIterator[bytes]:
            try:
                for i in range(100):
                    if await request.is_disconnected():  # as vLLM does: stop generating for a gone client
                        seen.cancelled.set()
                        return
                    yield chunk(f"慢{i}。")
                    seen.sent += 1
                    await asyncio.sleep(0.1)
                yield chunk(None, "stop")
                yield b"data: [DONE]\n\n"
            except asyncio.CancelledError:
                seen.cancelled.set()
                raise
            finally:
                if seen.sent < 100:
                    seen.cancelled.set()

        async def midstream_error() -> AsyncIterator[bytes]:
            yield chunk("开始")
            yield f"data: {json.dumps({'error': {'message': LEAKY}})}\n\n".encode()

        async def stall() -> AsyncIterator[bytes]:
            yield chunk("开始。")
            await asyncio.sleep(3)  # silent past the gateway's timeout (1 s in the tests)
            yield chunk(None, "stop")

        streams = {
            "halfclose": halfclose,
            "slowstream": slowstream,
            "midstream_error": midstream_error,
            "stall": stall,
        }
        if model in streams:
            return StreamingResponse(streams[model](), media_type="text/event-stream")
        return JSONResponse({"error": {"message": "unknown"}}, status_code=404)

    return app
