"""Public governance API: complaints (Art. 12), refutations (Art. 11), filing (Art. 19), file check.

The same calls as the public pages, as JSON for apps and partners; plus ``FilingHeader``, the
ASGI middleware that puts the filing number on every response (``X-Filing-Number``, UTF-8
percent-encoded because HTTP header values are Latin-1; ``X-Filing-Url`` beside it).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from synthguard.console.public import check_file, file_complaint
from synthguard.console.web import form_file
from synthguard.errors import InvalidField, NotFound
from synthguard.gateway.deps import CoreDep
from synthguard.governance import procedure

router = APIRouter(prefix="/v1", tags=["governance"])


@router.get("/complaints/procedure")
def complaint_procedure(core: CoreDep) -> dict[str, str]:
    """The published handling procedure and time limit (Art. 12)."""
    return procedure(core.governance.complaints.sla_h)


@router.post("/complaints", status_code=201)
async def complaint_file(request: Request) -> dict[str, Any]:
    """File a complaint: multipart form with category, description, optional content_id, contact, file."""
    view = await file_complaint(request)
    data = view.model_dump(mode="json", include={"ticket", "status", "due_at", "content_id", "category"})
    return {"schema": 1, **data}


@router.get("/complaints/{ticket}")
def complaint_status(ticket: str, core: CoreDep) -> dict[str, Any]:
    return core.governance.complaints.public_status(ticket).model_dump(mode="json")


@router.get("/refutations/{content_id}")
def refutation(content_id: str, core: CoreDep) -> dict[str, Any]:
    found = core.refutation_for(content_id)
    if found is None:
        raise NotFound(f"no published refutation for {content_id[:64]!r}", message_zh="该内容无辟谣公告")
    return found.model_dump(mode="json")


@router.get("/filing")
def filing(core: CoreDep) -> dict[str, Any]:
    return core.governance.filing.current().model_dump(mode="json", exclude={"updated_by"})


@router.post("/check")
async def check(request: Request, core: CoreDep) -> dict[str, Any]:
    """What the public "Is this AI-generated?" page shows, as JSON."""
    upload = await form_file(request, "file", core.settings.public_upload_max_bytes)
    if upload is None:
        raise InvalidField(
            "send the file as multipart form field 'file'", message_zh="请以 file 字段上传文件"
        )
    result: dict[str, Any] = await run_in_threadpool(check_file, core, upload[0], upload[1])
    return result


class FilingHeader:
    """Pure ASGI middleware (not ``BaseHTTPMiddleware``, which buffers around streamed answers and
    hides client disconnects from the gateway's SSE code): adds the filing headers to the response
    start message of every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        core = getattr(scope["app"].state, "core", None)

        async def with_filing(message: Message) -> None:
            if message["type"] == "http.response.start" and core is not None:
                try:
                    current = core.governance.filing.current()
                except Exception:  # the header is informational: never fail a response over it
                    current = None
                if current is not None and current.algorithm_number:
                    headers = MutableHeaders(scope=message)
                    headers["X-Filing-Number"] = current.header_value()
                    headers["X-Filing-Url"] = current.url
            await send(message)

        await self.app(scope, receive, with_filing)


__all__ = ["FilingHeader", "router"]
