"""Upstream model servers: one OpenAI-compatible base URL per model, called with httpx.

``Settings.gateway_upstreams`` maps a model name to a base URL ending in ``/v1`` (vLLM, Ollama,
llama.cpp, a cloud API) or ``builtin:demo`` for the in-process demo server. Upstream failures
become ``UpstreamUnavailable`` / ``UpstreamTimeout`` / ``UpstreamFailed`` whose messages never
carry the upstream URL, its API key or its raw error text (they may hold secrets or internals).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from synthguard.config import Settings
from synthguard.errors import (
    InvalidRequest,
    UnknownModel,
    UpstreamFailed,
    UpstreamTimeout,
    UpstreamUnavailable,
)

BUILTIN_DEMO = "builtin:demo"
POOL_SHARDS = 8  # connection pools per gateway (see Upstreams.__init__)
MAX_UPSTREAM_ERROR_CHARS = 300


@dataclass(frozen=True)
class Upstream:
    model: str
    base_url: str
    api_key: str

    @property
    def builtin(self) -> bool:
        return self.base_url == BUILTIN_DEMO


class Upstreams:
    """The configured models and one pooled async client per upstream (opened with the app)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._routes = {
            model: Upstream(model, url.rstrip("/"), settings.gateway_upstream_keys.get(model, ""))
            for model, url in settings.gateway_upstreams.items()
        }
        timeout = httpx.Timeout(
            settings.gateway_upstream_timeout_s, connect=min(5.0, settings.gateway_upstream_timeout_s)
        )
        # Several small pools instead of one big one, taken in turn: httpcore checks every idle
        # connection of a pool (a poll() and a socket-attribute lookup each) on each request
        # start and end, so one pool of ~32 keep-alive connections cost more CPU than the request.
        limits = httpx.Limits(
            max_connections=200 // POOL_SHARDS, max_keepalive_connections=max(1, 50 // POOL_SHARDS)
        )
        self._clients = [httpx.AsyncClient(timeout=timeout, limits=limits) for _ in range(POOL_SHARDS)]
        self._turn = itertools.cycle(self._clients)
        self._demo: httpx.AsyncClient | None = None
        if any(u.builtin for u in self._routes.values()):
            from synthguard.gateway.demo import create_demo_app

            self._demo = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=create_demo_app()),
                base_url="http://demo.invalid",
                timeout=timeout,
            )

    @property
    def models(self) -> list[str]:
        return sorted(self._routes)

    def route(self, model: object) -> Upstream:
        if not isinstance(model, str) or not model:
            raise InvalidRequest("'model' must be a non-empty string", message_zh="model 须为非空字符串")
        upstream = self._routes.get(model)
        if upstream is None:
            raise UnknownModel(
                f"the model {model[:100]!r} does not exist; GET /v1/models lists the models",
                message_zh=f"模型 {model[:100]!r} 不存在，可用模型见 GET /v1/models",
            )
        return upstream

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()
        if self._demo is not None:
            await self._demo.aclose()

    def _target(self, upstream: Upstream, path: str) -> tuple[httpx.AsyncClient, str, dict[str, str]]:
        headers = {"Authorization": f"Bearer {upstream.api_key}"} if upstream.api_key else {}
        if upstream.builtin:
            assert self._demo is not None
            return self._demo, "/v1" + path, headers
        return next(self._turn), upstream.base_url + path, headers

    async def post_json(self, upstream: Upstream, path: str, body: dict[str, Any]) -> httpx.Response:
        client, url, headers = self._target(upstream, path)
        return await self._send(client.post(url, json=body, headers=headers))

    async def post_form(
        self, upstream: Upstream, path: str, data: dict[str, str], files: dict[str, tuple[str, bytes, str]]
    ) -> httpx.Response:
        client, url, headers = self._target(upstream, path)
        return await self._send(client.post(url, data=data, files=files, headers=headers))

    async def _send(self, call: Any) -> httpx.Response:
        try:
            response: httpx.Response = await call
        except httpx.TimeoutException:
            raise timeout_error() from None
        except httpx.HTTPError:
            raise unavailable_error() from None
        check_status(response.status_code, response.content)
        return response

    @asynccontextmanager
    async def stream(
        self, upstream: Upstream, path: str, body: dict[str, Any]
    ) -> AsyncIterator[httpx.Response]:
        """The upstream's streaming response; leaving the block closes the connection (cancels it)."""
        client, url, headers = self._target(upstream, path)
        request = client.build_request("POST", url, json=body, headers=headers)
        try:
            response = await client.send(request, stream=True)
        except httpx.TimeoutException:
            raise timeout_error() from None
        except httpx.HTTPError:
            raise unavailable_error() from None
        try:
            if response.status_code >= 400:
                content = await response.aread()
                check_status(response.status_code, content)
            yield response
        finally:
            await response.aclose()


def timeout_error() -> UpstreamTimeout:
    return UpstreamTimeout("the model server did not answer in time", message_zh="模型服务响应超时")


def unavailable_error() -> UpstreamUnavailable:
    return UpstreamUnavailable("the model server cannot be reached", message_zh="无法连接模型服务")


def check_status(status: int, content: bytes) -> None:
    """Map an upstream error status; the client sees our message, not the upstream's body."""
    if status < 400:
        return
    if status == 429:
        raise UpstreamFailed(
            "the model server is overloaded (HTTP 429); retry later", message_zh="模型服务繁忙，请稍后重试"
        )
    if status == 400 or status == 422:
        raise InvalidRequest(
            f"the model server rejected the request (HTTP {status})",
            message_zh=f"模型服务拒绝了请求（HTTP {status}）",
        )
    raise UpstreamFailed(
        f"the model server failed (HTTP {status})", message_zh=f"模型服务出错（HTTP {status}）"
    )
