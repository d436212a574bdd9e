"""``/v1/explicit``: the UI badge (HTML, JSON, script), text notices and the image-label finder.

``POST /v1/labels?explicit=true`` (routes/labels.py) renders the explicit label into an uploaded file
and writes the implicit one; these endpoints serve the parts that are not files: the badge an app
places next to generated content with the filing number and link (Deep Synthesis Provisions
Art. 19), the text notice, and the OCR-free finder a platform uses as a "suspected" trace
(Labeling Measures Art. 6(3)).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from synthguard.config import Settings
from synthguard.errors import CorruptFile
from synthguard.gateway.deps import SettingsDep, save_upload
from synthguard.labels.explicit import (
    ExplicitOptions,
    Notice,
    TextLabelOptions,
    badge_html,
    badge_json,
    badge_script,
    find_image_notice,
    label_text,
)

router = APIRouter(prefix="/v1/explicit", tags=["explicit labels"])

LangQuery = Annotated[str | None, Query(pattern="^(zh|en|zh-en)$", description="zh, en or zh-en")]
LevelQuery = Annotated[str, Query(pattern="^[123]$", description="AIGC Label: 1, 2 or 3")]


def explicit_options(settings: Settings, *, position: str | None, lang: str | None) -> ExplicitOptions:
    notice = Notice(lang=lang or settings.explicit_lang)  # type: ignore[arg-type]
    options = ExplicitOptions(notice=notice, position=position or settings.explicit_position)
    options.validate()
    return options


def _notice(settings: Settings, lang: str | None, level: str = "1") -> Notice:
    return Notice(lang=lang or settings.explicit_lang, level=level)  # type: ignore[arg-type]


@router.get("/badge.json", summary="The UI label as data, with the filing number and link")
def badge_data(settings: SettingsDep, lang: LangQuery = None, level: LevelQuery = "1") -> dict[str, Any]:
    return badge_json(
        _notice(settings, lang, level), filing_number=settings.filing_number, filing_url=settings.filing_url
    )


@router.get("/badge.html", response_class=HTMLResponse, summary="A self-contained badge snippet")
def badge_snippet(settings: SettingsDep, lang: LangQuery = None, level: LevelQuery = "1") -> HTMLResponse:
    return HTMLResponse(
        badge_html(
            _notice(settings, lang, level),
            filing_number=settings.filing_number,
            filing_url=settings.filing_url,
        )
    )


@router.get("/badge.js", summary="The <synthguard-aigc-badge> custom element")
def badge_js() -> Response:
    return Response(badge_script(), media_type="text/javascript; charset=utf-8")


class TextRequest(BaseModel):
    text: str = Field(max_length=16 * 1024 * 1024)
    format: str = Field(default="plain", pattern="^(plain|markdown|html)$")
    position: str = Field(default="start", pattern="^(start|end|middle)$")
    lang: str | None = Field(default=None, pattern="^(zh|en|zh-en)$")


@router.post("/text", response_class=PlainTextResponse, summary="Insert the text notice")
def text_notice(settings: SettingsDep, body: TextRequest) -> PlainTextResponse:
    options = TextLabelOptions(_notice(settings, body.lang), body.position)
    return PlainTextResponse(label_text(body.text, options, fmt=body.format))


@router.post("/find", summary="Find synthguard's explicit image label (glyph matching, no OCR)")
async def find_notice(settings: SettingsDep, file: Annotated[UploadFile, File()]) -> dict[str, Any]:
    async with save_upload(file, settings) as path:
        try:
            match = await run_in_threadpool(find_image_notice, path)
        except (OSError, ValueError) as exc:
            raise CorruptFile("image", f"{path.name}: {exc}") from None
    return {"schema": 1, "found": match is not None, **(asdict(match) if match else {})}
