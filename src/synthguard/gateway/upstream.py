"""Upstream model servers: one OpenAI-compatible base URL per model.

``Settings.gateway_upstreams`` maps a model name to a base URL ending in ``/v1`` (vLLM, Ollama,
llama.cpp, a cloud API) or ``builtin:demo`` for the in-process demo server. Upstream failures
become ``UpstreamUnavailable`` / ``UpstreamTimeout`` / ``UpstreamFailed`` whose messages never
carry the upstream URL, its API key or its raw error text (they may hold secrets or internals).

JSON calls and streams to a network upstream go through aiohttp: its C HTTP parser and
connection pool cost ~1/3 of httpx + httpcore's CPU per call (py-spy on the gateway benchmark:
httpx/httpcore were 33% of the gateway's CPU per request). httpx stays for multipart uploads
(image edits, rare and heavy anyway) and for the in-process demo (its ASGI transport).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
import orjson

from synthguard.config import Settings
from synthguard.errors import (
    InvalidRequest,
    UnknownModel,
    UpstreamFailed,
    UpstreamTimeout,
    UpstreamUnavailable,
)

BUILTIN_DEMO = "builtin:demo"
POOL_SHARDS = 8  # httpx connection pools (multipart only; see Upstreams.__init__)
MAX_CONNECTIONS = 200  # to all network upstreams at once (aiohttp pool)
MAX_UPSTREAM_ERROR_CHARS = 300
JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Upstream:
    model: str
    base_url: str
    api_key: str

    @property
    def builtin(self) -> bool:
        return self.base_url == BUILTIN_DEMO


class StreamTimeout(Exception):
    """The upstream stopped sending mid-stream (no byte within the timeout)."""


class StreamBroken(Exception):
    """The upstream connection broke mid-stream."""


@dataclass(frozen=True)
class UpstreamResponse:
    """A whole (non-streamed) upstream answer: status, body bytes and ``json()``."""

    status_code: int
    content: bytes

    def json(self) -> Any:
        return orjson.loads(self.content)  # orjson.JSONDecodeError is a ValueError


class UpstreamStream:
    """A streamed upstream answer read line by line (``aiter_lines``), from aiohttp or httpx."""

    def __init__(self, source: aiohttp.ClientResponse | httpx.Response) -> None:
        self._source = source

    async def aiter_lines(self) -> AsyncIterator[str]:
        source = self._source
        try:
            if isinstance(source, aiohttp.ClientResponse):
                async for raw in source.content:  # one line per item, with its line ending
                    yield raw.decode("utf-8", "replace").rstrip("\r\n")
            else:
                async for line in source.aiter_lines():
                    yield line
        except (TimeoutError, httpx.TimeoutException):
            raise StreamTimeout from None
        except (aiohttp.ClientError, httpx.HTTPError):
            raise StreamBroken from None


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
        # aiohttp: ``sock_read`` bounds each wait for upstream bytes (a silent stream times out,
        # a long but live one does not), ``connect`` the wait for a pooled or new connection.
        limit_s = settings.gateway_upstream_timeout_s
        self._aio_timeout = aiohttp.ClientTimeout(
            total=None, connect=limit_s, sock_connect=min(5.0, limit_s), sock_read=limit_s
        )
        self._aio: aiohttp.ClientSession | None = None  # made on the event loop, at first use
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

    def _session(self) -> aiohttp.ClientSession:
        if self._aio is None:
            connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS, limit_per_host=0, ttl_dns_cache=300)
            self._aio = aiohttp.ClientSession(
                connector=connector,
                timeout=self._aio_timeout,
                auto_decompress=True,
                skip_auto_headers=("User-Agent",),
            )
        return self._aio

    async def aclose(self) -> None:
        if self._aio is not None:
            await self._aio.close()
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

    async def post_json(self, upstream: Upstream, path: str, body: dict[str, Any]) -> UpstreamResponse:
        headers = {"Authorization": f"Bearer {upstream.api_key}"} if upstream.api_key else {}
        if upstream.builtin:
            assert self._demo is not None
            answer = await self._send(self._demo.post("/v1" + path, json=body, headers=headers))
            return UpstreamResponse(answer.status_code, answer.content)
        try:
            async with self._session().post(
                upstream.base_url + path, data=_dumps(body), headers={**JSON_HEADERS, **headers}
            ) as response:
                content = await response.read()
                status = response.status
        except TimeoutError:
            raise timeout_error() from None
        except aiohttp.ClientError:
            raise unavailable_error() from None
        check_status(status, content)
        return UpstreamResponse(status, content)

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
    ) -> AsyncIterator[UpstreamStream]:
        """The upstream's streaming response; leaving the block before its end closes the
        connection, which cancels the generation upstream (a finished one goes back to the pool)."""
        if upstream.builtin:
            async with self._httpx_stream(upstream, path, body) as answer:
                yield UpstreamStream(answer)
            return
        headers = {"Authorization": f"Bearer {upstream.api_key}"} if upstream.api_key else {}
        try:
            response = await self._session().post(
                upstream.base_url + path, data=_dumps(body), headers={**JSON_HEADERS, **headers}
            )
        except TimeoutError:
            raise timeout_error() from None
        except aiohttp.ClientError:
            raise unavailable_error() from None
        try:
            if response.status >= 400:
                try:
                    content = await response.read()
                except (TimeoutError, aiohttp.ClientError):
                    content = b""
                check_status(response.status, content)
            yield UpstreamStream(response)
        finally:
            if response.content.at_eof():
                response.release()
            else:
                response.close()  # mid-stream: drop the connection so the model stops

    @asynccontextmanager
    async def _httpx_stream(
        self, upstream: Upstream, path: str, body: dict[str, Any]
    ) -> AsyncIterator[httpx.Response]:
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


def _dumps(body: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(body)
    except TypeError:  # an integer beyond 64 bits: orjson refuses what json writes
        import json

        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


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
