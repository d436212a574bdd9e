"""``/v1/ledger``: the published face of the evidence ledger (Deep Synthesis Provisions Art. 21).

``GET /v1/ledger/checkpoint`` returns the newest signed checkpoint (C2SP tlog-checkpoint) as
``text/plain`` (the note, byte for byte) or JSON with ``Accept: application/json``;
``GET /v1/ledger/proof/{content_id}`` and ``GET /v1/ledger/consistency?first=&second=`` return
RFC 9162 proofs. The same core calls as ``synthguard ledger checkpoint|proof|consistency``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from synthguard.gateway.deps import CoreDep
from synthguard.ledger.results import CheckpointResult, ConsistencyResult, ProofResult

router = APIRouter(prefix="/v1/ledger", tags=["ledger"])


@router.get(
    "/checkpoint",
    response_model=CheckpointResult,
    summary="Newest signed checkpoint (text/plain signed note, or JSON)",
    responses={200: {"content": {"text/plain": {}}}},
)
async def get_checkpoint(core: CoreDep, request: Request) -> Response | CheckpointResult:
    result = await run_in_threadpool(core.ledger.checkpoint_result)
    if "application/json" in request.headers.get("accept", ""):
        return result
    return PlainTextResponse(
        result.note,
        media_type="text/plain; charset=utf-8",
        headers={"X-Synthguard-Verifier-Key": result.verifier_key},
    )


@router.get("/proof/{content_id}", response_model=ProofResult, summary="Inclusion proofs for a content ID")
async def get_proof(core: CoreDep, content_id: str) -> ProofResult:
    return await run_in_threadpool(core.ledger.proofs_for, content_id)


@router.get("/consistency", response_model=ConsistencyResult, summary="Consistency proof between tree sizes")
async def get_consistency(
    core: CoreDep,
    first: Annotated[int, Query(ge=1, description="Older tree size")],
    second: Annotated[int | None, Query(ge=1, description="Newer tree size; default: current")] = None,
) -> ConsistencyResult:
    return await run_in_threadpool(core.ledger.consistency, first, second)
