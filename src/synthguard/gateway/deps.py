"""Named FastAPI dependencies: the core built once per app, and uploads saved safely to disk."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request, UploadFile

from synthguard.config import Settings
from synthguard.core import Synthguard
from synthguard.errors import RequestTooLarge, SynthguardError

UPLOAD_CHUNK_BYTES = 1 << 20
MAX_NAME_CHARS = 200


def get_core(request: Request) -> Synthguard:
    core: Synthguard = request.app.state.core
    return core


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


CoreDep = Annotated[Synthguard, Depends(get_core)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def safe_name(filename: str | None) -> str:
    """The upload's base name, without folders, kept because the extension breaks format ties."""
    name = os.path.basename((filename or "upload").replace("\\", "/")).strip() or "upload"
    return name[-MAX_NAME_CHARS:]


@asynccontextmanager
async def save_upload(upload: UploadFile, settings: Settings) -> AsyncIterator[Path]:
    """Stream an upload into a private temp folder; removed when the request is done."""
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=settings.uploads_dir))
    path = folder / safe_name(upload.filename)
    try:
        size = 0
        with open(path, "wb") as dst:
            while chunk := await upload.read(UPLOAD_CHUNK_BYTES):
                size += len(chunk)
                if size > settings.max_upload_bytes:
                    raise RequestTooLarge(
                        f"upload exceeds {settings.max_upload_bytes} bytes",
                        message_zh=f"上传文件超过 {settings.max_upload_bytes} 字节上限",
                    )
                dst.write(chunk)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def require_file(upload: UploadFile | None) -> UploadFile:
    if upload is None:
        raise SynthguardError(
            "send the file as multipart form field 'file'", message_zh="请以 file 字段上传文件"
        )
    return upload
