"""``POST /v1/detect``: the same detection as ``synthguard detect`` for uploaded files (Art. 6)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, UploadFile
from starlette.concurrency import run_in_threadpool

from synthguard.gateway.deps import CoreDep, SettingsDep, save_upload
from synthguard.watermark.detect import detect_file

router = APIRouter(prefix="/v1/detect", tags=["detect"])


@router.post("", summary="Implicit label, watermark, content ID, visible notice, C2PA and the Art. 6 verdict")
async def detect_upload(
    core: CoreDep,
    settings: SettingsDep,
    file: Annotated[list[UploadFile], File(description="One or more files to check.")],
) -> dict[str, Any]:
    results = []
    for upload in file:
        async with save_upload(upload, settings) as path:
            found = await run_in_threadpool(detect_file, core, path)
            found.source = upload.filename or path.name
            results.append(found.to_json_dict())
    return {"schema": 1, "results": results}
