"""Admin endpoints for real-name users and API keys, opened only by admin keys (``role=admin``).

Deep Synthesis Provisions Art. 9-10: operators verify users and warn, restrict, suspend or ban
them; these are the HTTP faces of ``core.users`` and ``core.apikeys`` (the CLI has the same).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from synthguard.errors import InvalidRequest, PermissionDenied, SynthguardError
from synthguard.gateway.openai_proxy import Caller, get_gateway, openai_error

router = APIRouter(prefix="/v1/admin", tags=["admin"])


async def _admin(request: Request) -> Caller:
    gw = get_gateway(request)
    caller = await gw.authenticate(request, scope="admin", capability="generate")
    if caller.key.role != "admin":
        raise PermissionDenied("this endpoint needs an admin key", message_zh="此接口需要管理员密钥")
    return caller


def _str(body: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = body.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidRequest(
            f"'{key}' must be a {'non-empty ' if required else ''}string", message_zh=f"{key} 须为字符串"
        )
    return value


async def _run(request: Request, work: Any) -> Response:
    try:
        caller = await _admin(request)
        body: dict[str, Any] = {}
        if request.method in ("POST", "PUT"):
            body = await get_gateway(request).read_json(request)
        result: Response = await work(caller, body)
        return result
    except SynthguardError as exc:
        return openai_error(exc)


@router.get("/users", summary="List real-name users (ID numbers masked)")
async def list_users(request: Request) -> Response:
    async def work(_caller: Caller, _body: dict[str, Any]) -> Response:
        core = get_gateway(request).core
        users = await run_in_threadpool(core.users.list_users)
        return JSONResponse({"users": [u.to_dict() for u in users]})

    return await _run(request, work)


@router.post("/users", summary="Add a user; the configured verifier checks the ID number (Art. 9)")
async def add_user(request: Request) -> Response:
    async def work(caller: Caller, body: dict[str, Any]) -> Response:
        core = get_gateway(request).core
        view, verdict = await run_in_threadpool(
            core.users.add_user,
            _str(body, "name", required=True),
            id_number=_str(body, "id_number"),
            mobile=_str(body, "mobile"),
            real_name=_str(body, "real_name"),
            actor=f"apikey:{caller.key.key_id}",
        )
        return JSONResponse(
            {"user": view.to_dict(), "verdict": verdict.result if verdict else None}, status_code=201
        )

    return await _run(request, work)


@router.post("/users/{name}/status", summary="Warn, restrict, suspend, ban or reinstate a user (Art. 10)")
async def set_status(request: Request, name: str) -> Response:
    async def work(caller: Caller, body: dict[str, Any]) -> Response:
        days = body.get("days")
        if days is not None and (not isinstance(days, int | float) or isinstance(days, bool) or days <= 0):
            raise InvalidRequest("'days' must be a positive number", message_zh="days 须为正数")
        until = dt.datetime.now(dt.UTC) + dt.timedelta(days=float(days)) if days else None
        view = await run_in_threadpool(
            get_gateway(request).core.users.set_status,
            name,
            _str(body, "status", required=True),
            reason=_str(body, "reason", required=True),
            until=until,
            actor=f"apikey:{caller.key.key_id}",
        )
        return JSONResponse({"user": view.to_dict()})

    return await _run(request, work)


@router.post("/keys", summary="Issue an API key for a user (shown once)")
async def create_key(request: Request) -> Response:
    async def work(_caller: Caller, body: dict[str, Any]) -> Response:
        scopes = body.get("scopes")
        if scopes is not None and (
            not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes)
        ):
            raise InvalidRequest("'scopes' must be an array of strings", message_zh="scopes 须为字符串数组")
        plain, info = await run_in_threadpool(
            get_gateway(request).core.apikeys.create, _str(body, "user", required=True), scopes=scopes
        )
        return JSONResponse({"api_key": plain, "key": info.to_dict()}, status_code=201)

    return await _run(request, work)


@router.delete("/keys/{key_id}", summary="Revoke an API key")
async def revoke_key(request: Request, key_id: str) -> Response:
    async def work(_caller: Caller, _body: dict[str, Any]) -> Response:
        info = await run_in_threadpool(get_gateway(request).core.apikeys.revoke, key_id)
        return JSONResponse({"key": info.to_dict()})

    return await _run(request, work)
