"""Public pages (no login): "Is this AI-generated?" and the complaint form with its published
procedure and time limit (Deep Synthesis Provisions Art. 12, 19; Labeling Measures Art. 6).

The check page runs the same core calls as ``synthguard inspect``: the GB 45438 verdict and
signatures, the ledger entries of the content ID with their inclusion proofs, and any published
refutation of that content ID (Art. 11). Uploads are capped by ``public_upload_max_bytes`` and
deleted after the request; only formats synthguard reads are accepted.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from synthguard.console.web import HtmlErrors, form_file, form_text, redirect, render
from synthguard.errors import InvalidField
from synthguard.governance import CATEGORIES, CATEGORY_NAMES, procedure

router = APIRouter(prefix="/public", route_class=HtmlErrors, include_in_schema=False)


def check_file(core: Any, data: bytes, name: str) -> dict[str, Any]:
    """Everything the public page shows about one file (also used by the JSON API)."""
    folder = Path(tempfile.mkdtemp(dir=_uploads(core)))
    try:
        path = folder / name
        path.write_bytes(data)
        inspection = core.inspect_file(path)  # raises for formats synthguard cannot read
        detection = _detection(core, path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    label = inspection.label or {}
    ids = [i for i in dict.fromkeys([label.get("ProduceID", ""), label.get("PropagateID", "")]) if i]
    refutations = [r.model_dump(mode="json") for i in ids if (r := core.refutation_for(i)) is not None]
    ledger: dict[str, Any] = {}
    for content_id in ids:
        evidence = core.ledger_evidence(content_id)
        if evidence:
            ledger[content_id] = {
                "entries": [
                    {"seq": e["seq"], "leaf_hash": e["leaf_hash"], "proof_hashes": len(e["proof"])}
                    for e in evidence["entries"]
                ],
                "checkpoint_size": evidence["checkpoint"]["size"],
                "root": evidence["checkpoint"]["root"],
            }
    return {
        "schema": 1,
        "file_name": name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "inspection": inspection.model_dump(mode="json"),
        "content_ids": ids,
        "ledger": ledger,
        "refutations": refutations,
        "detection": detection,
    }


def _uploads(core: Any) -> Path:
    folder: Path = core.settings.uploads_dir
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _detection(core: Any, path: Path) -> dict[str, Any] | None:
    """Watermark, visible notice, C2PA and the Labeling Measures Art. 6 verdict, when the detector
    (``synthguard.watermark.detect``, issue #4) is installed; None otherwise."""
    if find_spec("synthguard.watermark.detect") is None:
        return None
    from synthguard.watermark.detect import detect_file

    found = detect_file(core, path)
    return found.model_dump(
        mode="json", by_alias=True, include={"art6", "reasons", "watermark", "explicit", "c2pa"}
    )


@router.get("", response_class=HTMLResponse)
def index(request: Request) -> Response:
    return render(request, "public/index.html")


@router.get("/check", response_class=HTMLResponse)
def check_form(request: Request) -> Response:
    return render(request, "public/check.html", result=None)


@router.post("/check", response_class=HTMLResponse)
async def check(request: Request) -> Response:
    upload = await form_file(request, "file", request.app.state.settings.public_upload_max_bytes)
    if upload is None:
        raise InvalidField("choose a file to check", message_zh="请选择要检查的文件")
    result = await run_in_threadpool(check_file, request.app.state.core, upload[0], upload[1])
    return render(request, "public/check.html", result=result)


@router.get("/complaint", response_class=HTMLResponse)
def complaint_form(request: Request) -> Response:
    gov = request.app.state.core.governance
    return render(
        request,
        "public/complaint.html",
        categories=CATEGORIES,
        names=CATEGORY_NAMES,
        procedure=procedure(gov.complaints.sla_h),
    )


async def file_complaint(request: Request) -> Any:
    core = request.app.state.core
    f = await form_text(request, "category", "description", "content_id", "contact")
    upload = await form_file(request, "file", request.app.state.settings.public_upload_max_bytes)
    file_sha256 = file_name = ""
    content_id = f["content_id"]
    if upload is not None:
        file_sha256, file_name = hashlib.sha256(upload[0]).hexdigest(), upload[1]
        if not content_id:  # a labeled file names its content ID itself
            try:
                found = await run_in_threadpool(check_file, core, upload[0], upload[1])
                content_id = next(iter(found["content_ids"]), "")
            except Exception:  # an unreadable file is still a valid complaint attachment
                content_id = ""
    return core.governance.complaints.file(
        f["category"],
        f["description"],
        content_id=content_id,
        contact=f["contact"],
        file_sha256=file_sha256,
        file_name=file_name,
    )


@router.post("/complaint")
async def complaint(request: Request) -> Response:
    view = await file_complaint(request)
    return redirect(f"/public/complaint/{view.ticket}")


@router.get("/complaint/{ticket}", response_class=HTMLResponse)
def ticket(request: Request, ticket: str) -> Response:
    gov = request.app.state.core.governance
    status = gov.complaints.public_status(ticket)
    return render(
        request,
        "public/ticket.html",
        ticket=status,
        names=CATEGORY_NAMES,
        procedure=procedure(gov.complaints.sla_h),
    )
