"""``/v1/labels``: label, propagate, inspect and verify uploaded files (same core as the CLI)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from synthguard.gateway.deps import CoreDep, SettingsDep, save_upload
from synthguard.gateway.routes.explicit import explicit_options
from synthguard.results import LabelOutcome

router = APIRouter(prefix="/v1/labels", tags=["labels"])

UploadDep = Annotated[UploadFile, File(description="The file to process.")]


def _labeled_response(outcome: LabelOutcome, workdir: Path, name: str) -> FileResponse:
    label = outcome.label or {}
    headers = {
        "X-Synthguard-Content-Id": outcome.content_id,
        "X-Synthguard-Format": outcome.format,
        "X-AIGC-Label": label.get("Label", ""),
        "X-Synthguard-Key-Id": outcome.key_id,
    }
    if outcome.explicit:
        headers["X-Synthguard-Explicit"] = str(outcome.explicit.get("kind", ""))
    if outcome.watermark:
        headers["X-Synthguard-Watermark"] = str(outcome.watermark.get("mark_id", ""))
    return FileResponse(
        outcome.path,
        filename=name,
        media_type="application/octet-stream",
        headers=headers,
        background=BackgroundTask(shutil.rmtree, workdir, ignore_errors=True),
    )


@router.post("", response_class=FileResponse, summary="Write a signed AIGC label; returns the labeled file")
async def label_upload(
    core: CoreDep,
    settings: SettingsDep,
    file: UploadDep,
    label: Annotated[str, Query(pattern="^[123]$", description="AIGC Label: 1, 2 or 3")] = "1",
    explicit: Annotated[bool, Query(description="Also render the visible/audible label (显式标识)")] = False,
    position: Annotated[str | None, Query(description="Explicit label position (corner, edge)")] = None,
    lang: Annotated[str | None, Query(pattern="^(zh|en|zh-en)$", description="zh, en or zh-en")] = None,
    watermark: Annotated[
        bool | None,
        Query(description="Invisible watermark (隐式水印); default: on for images/videos large enough"),
    ] = None,
) -> FileResponse:
    shown = explicit_options(settings, position=position, lang=lang) if explicit else False
    async with save_upload(file, settings) as path:
        workdir = Path(tempfile.mkdtemp(dir=settings.uploads_dir))
        try:
            outcome = await run_in_threadpool(
                core.label_file, path, workdir / path.name, label=label, explicit=shown, watermark=watermark
            )
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        return _labeled_response(outcome, workdir, path.name)


@router.post("/propagate", response_class=FileResponse, summary="Add this platform's propagation keys")
async def propagate_upload(
    core: CoreDep,
    settings: SettingsDep,
    file: UploadDep,
    label: Annotated[str, Query(pattern="^[23]$", description="For unlabeled files: 2 or 3")] = "2",
) -> FileResponse:
    async with save_upload(file, settings) as path:
        workdir = Path(tempfile.mkdtemp(dir=settings.uploads_dir))
        try:
            outcome = await run_in_threadpool(core.propagate_file, path, workdir / path.name, label=label)
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        return _labeled_response(outcome, workdir, path.name)


@router.post("/inspect", summary="Read the AIGC label: verdict, keys, signature integrity")
async def inspect_upload(core: CoreDep, settings: SettingsDep, file: UploadDep) -> dict[str, Any]:
    async with save_upload(file, settings) as path:
        result = await run_in_threadpool(core.inspect_file, path)
        result.source = path.name
        return result.to_json_dict()


@router.post("/verify", summary="Signature integrity only (same body as inspect)")
async def verify_upload(core: CoreDep, settings: SettingsDep, file: UploadDep) -> dict[str, Any]:
    return await inspect_upload(core, settings, file)


@router.get("/keys", summary="Public keys that verify our ReservedCode1/ReservedCode2 signatures")
def public_keys(core: CoreDep) -> dict[str, Any]:
    return {
        "schema": 1,
        "active_key_id": core.signer.key_id,
        "keys": [
            {"key_id": k.key_id, "algorithm": k.algorithm, "role": k.role, "public_key": k.public_key}
            for k in core.list_keys()
        ],
    }
