"""``/v1/review``: review texts and media, the keyword library and the human review queue over HTTP.

Same core calls as ``synthguard review`` / ``synthguard library``; domain errors become 4xx through
the app's one handler.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from synthguard.errors import RequestTooLarge, TextTooLarge
from synthguard.gateway.deps import CoreDep
from synthguard.review.policy import Context

router = APIRouter(prefix="/v1/review", tags=["review"])
MAX_LIBRARY_BYTES = 64 * 1024**2


class ReviewRequest(BaseModel):
    text: str
    service: str = Field(default="chat", max_length=32)
    direction: str = Field(default="in", pattern="^(in|out)$")
    user_id: str = Field(default="", max_length=128)
    user_status: str = Field(default="verified", max_length=16)
    record: bool = True


class ReviewerBody(BaseModel):
    reviewer: str = Field(min_length=1, max_length=128)
    note: str = Field(default="", max_length=10_000)


class DecideBody(ReviewerBody):
    outcome: str = Field(pattern="^(pass|mask|block|sanction)$")


class NoteBody(BaseModel):
    author: str = Field(min_length=1, max_length=128)
    body: str = Field(min_length=1, max_length=10_000)


def _check_length(request: Request, limit: int) -> None:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise TextTooLarge(
            f"request body is {int(length):,} bytes; the review limit is {limit:,}",
            message_zh=f"请求体 {int(length):,} 字节，超过审核上限 {limit:,} 字节",
        )


async def _read_upload(upload: UploadFile, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await upload.read(1 << 20):
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(
                f"upload exceeds {limit:,} bytes", message_zh=f"上传文件超过 {limit:,} 字节"
            )
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("", summary="Review a text: decision, categories, spans (offsets into the original text)")
async def review_text(core: CoreDep, request: Request, body: ReviewRequest) -> dict[str, Any]:
    _check_length(request, core.settings.review_max_bytes * 6 + 4096)  # JSON escapes can sextuple
    decision = await run_in_threadpool(
        core.review_text,
        body.text,
        service=body.service,
        direction=body.direction,
        user_id=body.user_id,
        user_status=body.user_status,
        record=body.record,
    )
    return decision.to_json_dict()


@router.post("/media", summary="Review an image, audio or video upload with the offline classifiers")
async def review_media(
    core: CoreDep,
    file: Annotated[UploadFile, File(description="The media file.")],
    modality: Annotated[str, Form(pattern="^(image|audio|video)$")],
    service: Annotated[str, Form(max_length=32)] = "chat",
    direction: Annotated[str, Form(pattern="^(in|out)$")] = "in",
    user_id: Annotated[str, Form(max_length=128)] = "",
) -> dict[str, Any]:
    data = await _read_upload(file, core.settings.max_upload_bytes)
    decision = await run_in_threadpool(
        core.review_media, data, modality, service=service, direction=direction, user_id=user_id
    )
    return decision.to_json_dict()


@router.post("/eval", summary="Run a question bank CSV through the policy: TC260-003 metrics")
async def review_eval(
    core: CoreDep, file: Annotated[UploadFile, File(description="Question bank CSV.")]
) -> dict[str, Any]:
    from synthguard.review.engine import text_from_bytes
    from synthguard.review.eval import run_bank

    text = text_from_bytes(await _read_upload(file, MAX_LIBRARY_BYTES), MAX_LIBRARY_BYTES, "question bank")

    def run() -> dict[str, Any]:
        def review(t: str, c: Context) -> Any:
            return core.reviewer.review_text(t, c, record=False)

        report = run_bank(text, review, library_version=core.reviewer.library.matcher().version)
        return report.to_json_dict()

    return await run_in_threadpool(run)


# --- library ----------------------------------------------------------------------------------------


@router.post("/library", summary="Import a CSV/JSON library file as a new version")
async def library_import(
    core: CoreDep,
    file: Annotated[UploadFile, File(description="CSV (header term,category[,action,...]) or JSON.")],
    replace: Annotated[bool, Query(description="Remove live entries missing from the file.")] = False,
    skip_invalid: Annotated[bool, Query(description="Import valid rows and list the rest.")] = False,
) -> dict[str, Any]:
    from synthguard.review.keywords import read_library

    data = await _read_upload(file, MAX_LIBRARY_BYTES)

    def run() -> dict[str, Any]:
        entries, problems = read_library(data, file.filename or "library.csv")
        report = core.reviewer.library.import_entries(
            entries, problems=problems, replace=replace, skip_invalid=skip_invalid, source=file.filename or ""
        )
        return report.to_json_dict()

    return await run_in_threadpool(run)


@router.get("/library", summary="Export the live library", response_class=PlainTextResponse)
async def library_export(
    core: CoreDep, format: Annotated[str, Query(pattern="^(csv|json)$")] = "csv"
) -> PlainTextResponse:
    text = await run_in_threadpool(core.reviewer.library.export, format)
    media = "application/json" if format == "json" else "text/csv"
    return PlainTextResponse(text, media_type=f"{media}; charset=utf-8")


@router.get("/library/stats", summary="Entries per risk against the TC260-003 minimums")
async def library_stats(core: CoreDep) -> dict[str, Any]:
    stats = await run_in_threadpool(core.reviewer.library.stats)
    return {
        "schema": 1,
        "version": stats.version,
        "total": stats.total,
        "meets_total": stats.meets_total,
        "updated_at": stats.updated_at.isoformat() if stats.updated_at else None,
        "updated_within_week": stats.updated_within_week,
        "modes": stats.modes,
        "categories": [
            {"code": c.code, "name_zh": c.name_zh, "count": c.count, "required": c.required, "meets": c.meets}
            for c in stats.categories
        ],
    }


# --- queue ------------------------------------------------------------------------------------------


@router.get("/queue", summary="Review items by priority and deadline")
async def queue_list(
    core: CoreDep,
    status: Annotated[str | None, Query(pattern="^(open|claimed|escalated|decided)$")] = None,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    items = await run_in_threadpool(core.reviewer.queue.list, status=status, overdue=overdue, limit=limit)
    return [i.to_json_dict() for i in items]


@router.get("/queue/{item_id}", summary="One item with its notes")
async def queue_show(core: CoreDep, item_id: int) -> dict[str, Any]:
    return (await run_in_threadpool(core.reviewer.queue.get, item_id)).to_json_dict()


@router.post("/queue/next", summary="Claim the most urgent open item (null when the queue is empty)")
async def queue_next(core: CoreDep, body: ReviewerBody) -> dict[str, Any] | None:
    item = await run_in_threadpool(core.reviewer.queue.claim_next, body.reviewer)
    return item.to_json_dict() if item else None


@router.post("/queue/{item_id}/claim", summary="Claim an item (409 if someone else holds it)")
async def queue_claim(core: CoreDep, item_id: int, body: ReviewerBody) -> dict[str, Any]:
    return (await run_in_threadpool(core.reviewer.queue.claim, item_id, body.reviewer)).to_json_dict()


@router.post("/queue/{item_id}/decide", summary="Record the claimer's decision")
async def queue_decide(core: CoreDep, item_id: int, body: DecideBody) -> dict[str, Any]:
    item = await run_in_threadpool(
        core.reviewer.queue.decide, item_id, body.reviewer, body.outcome, body.note
    )
    return item.to_json_dict()


@router.post("/queue/{item_id}/escalate", summary="Pass a claimed item one level up")
async def queue_escalate(core: CoreDep, item_id: int, body: ReviewerBody) -> dict[str, Any]:
    item = await run_in_threadpool(core.reviewer.queue.escalate, item_id, body.reviewer, body.note)
    return item.to_json_dict()


@router.post("/queue/{item_id}/release", summary="Give a claimed item back")
async def queue_release(core: CoreDep, item_id: int, body: ReviewerBody) -> dict[str, Any]:
    item = await run_in_threadpool(core.reviewer.queue.release, item_id, body.reviewer, body.note)
    return item.to_json_dict()


@router.post("/queue/{item_id}/notes", summary="Add a reviewer note")
async def queue_note(core: CoreDep, item_id: int, body: NoteBody) -> dict[str, Any]:
    item = await run_in_threadpool(core.reviewer.queue.add_note, item_id, body.author, body.body)
    return item.to_json_dict()
