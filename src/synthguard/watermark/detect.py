"""Detection for platforms: every AI-origin trace synthguard can read in a file, and the verdict.

Labeling Measures Art. 6 asks a content platform to check each uploaded file: when the metadata
carries an implicit label, mark it as AI-generated (confirmed); when the user declares it, as
possibly AI-generated; when neither but traces of synthesis are found (a watermark, a visible
label), as suspected. This module gathers those traces for one file:

* the implicit metadata label and its signatures (``Synthguard.inspect_file``, GB 45438 Annex E);
* the invisible watermark (audio here; image/video through their own modules), its payload, the
  content ID it resolves to in the store, and the analytic false-positive bound (``p_value``);
* the explicit (visible) label on images (``labels.explicit.find_image_notice``);
* a C2PA manifest (``ledger.read_c2pa``);
* the rumour refutation the provider published for the content ID, if any (Art. 11),

and judges ``art6``: ``confirmed`` (label 1 in the metadata), ``possibly`` (label 2), ``suspected``
(label 3, or no label but a watermark, a visible notice or a C2PA AI claim), ``none``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from synthguard.errors import SynthguardError

if TYPE_CHECKING:
    from synthguard.core import Synthguard
    from synthguard.watermark.payload import DecodedPayload

SCHEMA_VERSION = 1
AUDIO_EXT = {".wav", ".flac", ".ogg", ".oga", ".mp3", ".m4a", ".aac", ".opus", ".aif", ".aiff"}
VIDEO_EXT = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".flv", ".m4v"}
IMAGE_EXT = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp", ".heic", ".heif"}
AI_SOURCE_TYPES = ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia")


class WatermarkFinding(BaseModel):
    checked: bool = False  # False: no detector for this kind of file (reason says why)
    found: bool = False
    mark_id: int | None = None
    key_id: int | None = None
    version: int | None = None
    bit_errors: int | None = None
    p_value: float | None = None  # bound on the chance unmarked content decodes this well
    sync: float | None = None  # detector's synchronisation score
    content_id: str = ""  # what the mark id resolves to in our store ("" if unknown to us)
    modality: str = ""
    reason: str = ""


class ExplicitFinding(BaseModel):
    checked: bool = False
    found: bool = False
    text: str = ""
    score: float | None = None
    reason: str = ""


class C2paFinding(BaseModel):
    present: bool = False
    state: str = ""
    digital_source_type: str = ""
    content_id: str = ""
    reason: str = ""


class Detection(BaseModel):
    """One file's traces and the Labeling Measures Art. 6 verdict."""

    schema_: int = Field(default=SCHEMA_VERSION, alias="schema")
    source: str
    kind: str = ""  # image | audio | video | other
    ok: bool = True
    art6: str = "none"  # confirmed | possibly | suspected | none
    reasons: list[str] = Field(default_factory=list)
    content_id: str = ""
    implicit: dict[str, Any] | None = None  # the Inspection of the metadata label
    watermark: WatermarkFinding = Field(default_factory=WatermarkFinding)
    explicit: ExplicitFinding = Field(default_factory=ExplicitFinding)
    c2pa: C2paFinding = Field(default_factory=C2paFinding)
    refutation: dict[str, Any] | None = None  # a published refutation notice of this content (Art. 11)
    error: dict[str, str] | None = None

    model_config = {"populate_by_name": True}

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")

    def csv_row(self) -> dict[str, str]:
        label = (self.implicit or {}).get("label") or {}
        return {
            "source": self.source,
            "kind": self.kind,
            "art6": self.art6,
            "content_id": self.content_id,
            "implicit_label": str(label.get("Label", "")),
            "implicit_integrity": str((self.implicit or {}).get("integrity", "")),
            "watermark": "yes" if self.watermark.found else ("no" if self.watermark.checked else "n/a"),
            "mark_id": "" if self.watermark.mark_id is None else str(self.watermark.mark_id),
            "p_value": "" if self.watermark.p_value is None else f"{self.watermark.p_value:.3g}",
            "explicit": "yes" if self.explicit.found else ("no" if self.explicit.checked else "n/a"),
            "c2pa": self.c2pa.state if self.c2pa.present else "",
            "refutation": (self.refutation or {}).get("notice_en", "")
            or (self.refutation or {}).get("notice_zh", ""),
            "error": (self.error or {}).get("message", ""),
        }


CSV_COLUMNS = list(Detection(source="").csv_row())


def kind_of(path: Path) -> str:
    ext = path.suffix.lower()
    if ext in AUDIO_EXT:
        return "audio"
    if ext in VIDEO_EXT:
        return "video"
    if ext in IMAGE_EXT:
        return "image"
    return "other"


def _payload_finding(payload: DecodedPayload | None, sync: float, core: Synthguard) -> WatermarkFinding:
    finding = WatermarkFinding(checked=True, found=payload is not None, sync=round(float(sync), 3))
    if payload is None:
        return finding
    finding.mark_id, finding.key_id, finding.version = payload.mark_id, payload.key_id, payload.version
    finding.bit_errors, finding.p_value = payload.bit_errors, payload.p_value
    record = core.resolve_mark_id(payload.mark_id)
    if record is not None:
        finding.content_id, finding.modality = record.content_id, record.modality
    else:
        finding.reason = "mark id not in this store (another replica's or another provider's store)"
    return finding


def _optional(module: str) -> Any | None:
    """A detector module another part of synthguard provides, or None when it is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def _watermark(path: Path, kind: str, core: Synthguard) -> WatermarkFinding:
    if kind == "audio":
        from synthguard.watermark import audio

        found = audio.detect_file(path, core.watermark_keys)
        return _payload_finding(found.payload, found.sync_z, core)
    if kind in ("image", "video"):
        module = _optional(f"synthguard.watermark.{kind}")
        if module is None or not hasattr(module, "detect_file"):
            return WatermarkFinding(reason=f"no {kind} watermark detector in this build")
        result = module.detect_file(path, core.watermark_keys)
        sync = getattr(result, "sync_score", getattr(result, "sync_z", 0.0))
        return _payload_finding(result.payload, float(sync or 0.0), core)
    return WatermarkFinding(reason="not an image, audio or video file")


def _explicit(path: Path, kind: str) -> ExplicitFinding:
    if kind != "image":
        return ExplicitFinding(reason="visible-label detection exists for images only")
    from synthguard.labels.explicit.detect import find_image_notice, standard_texts

    match = find_image_notice(path, texts=standard_texts(("1", "2", "3")))
    if match is None:
        return ExplicitFinding(checked=True)
    return ExplicitFinding(checked=True, found=True, text=match.text, score=round(float(match.score), 3))


def _c2pa(path: Path, core: Synthguard) -> C2paFinding:
    from synthguard.ledger import read_c2pa

    result = read_c2pa(path)
    if not result.present:
        return C2paFinding()
    return C2paFinding(
        present=True,
        state=result.state,
        digital_source_type=result.digital_source_type,
        content_id=result.content_id,
    )


def _verdict(d: Detection) -> None:
    """Labeling Measures Art. 6 from the traces (a metadata label outranks every other trace)."""
    label = str(((d.implicit or {}).get("label") or {}).get("Label", ""))
    if label == "1":
        d.art6 = "confirmed"
        d.reasons.append("implicit label: AIGC Label 1 (generated)")
    elif label == "2":
        d.art6 = "possibly"
        d.reasons.append("implicit label: AIGC Label 2 (possibly generated)")
    elif label == "3":
        d.art6 = "suspected"
        d.reasons.append("implicit label: AIGC Label 3 (suspected)")
    traces = []
    if d.watermark.found:
        traces.append(f"invisible watermark (p <= {d.watermark.p_value:.2g})")
    if d.explicit.found:
        traces.append(f"visible notice '{d.explicit.text}'")
    if d.c2pa.present and any(t in d.c2pa.digital_source_type for t in AI_SOURCE_TYPES):
        traces.append(f"C2PA manifest ({d.c2pa.state}): {d.c2pa.digital_source_type.rsplit('/', 1)[-1]}")
    d.reasons.extend(traces)
    if d.art6 == "none" and traces:
        d.art6 = "suspected"
    d.content_id = (
        str(((d.implicit or {}).get("label") or {}).get("ProduceID", ""))
        or d.watermark.content_id
        or d.c2pa.content_id
    )


def _guard(d: Detection, step: str, run: Callable[[], None]) -> None:
    # One failing detector (a corrupt stream, say) must not hide what the others found.
    try:
        run()
    except SynthguardError as exc:
        d.reasons.append(f"{step}: {exc.message}")
        if d.error is None:
            d.error = {"code": exc.code, "message": exc.message, "message_zh": exc.message_zh, "step": step}
    except (OSError, ValueError) as exc:  # e.g. Pillow's UnidentifiedImageError on a corrupt image
        d.reasons.append(f"{step}: unreadable ({exc})")
        if d.error is None:
            d.error = {
                "code": "corrupt_file",
                "message": f"{d.source}: unreadable ({exc})",
                "message_zh": f"{d.source}：文件无法读取",
                "step": step,
            }


def detect_file(core: Synthguard, path: Path) -> Detection:
    """All traces in one file; never raises for a bad file (the error is in the result)."""
    d = Detection(source=str(path), kind=kind_of(path))
    if not path.is_file():
        d.ok = False
        d.error = {
            "code": "not_found",
            "message": f"{path}: no such file",
            "message_zh": f"{path}：文件不存在",
        }
        return d

    def implicit() -> None:
        d.implicit = core.inspect_file(path).to_json_dict()

    def watermark() -> None:
        d.watermark = _watermark(path, d.kind, core)

    def explicit() -> None:
        d.explicit = _explicit(path, d.kind)

    def c2pa() -> None:
        d.c2pa = _c2pa(path, core)

    _guard(d, "implicit", implicit)
    _guard(d, "watermark", watermark)
    _guard(d, "explicit", explicit)
    _guard(d, "c2pa", c2pa)
    unreadable = d.error is not None and d.implicit is None and not d.watermark.checked
    d.ok = not unreadable
    _verdict(d)

    def refutation() -> None:
        # Deep Synthesis Provisions Art. 11: a platform showing this content must show the rumour
        # refutation the provider published for it.
        found = core.refutation_for(d.content_id) if d.content_id else None
        if found is not None:
            d.refutation = found.model_dump(
                mode="json",
                include={"id", "content_id", "notice_zh", "notice_en", "source_url", "published_at"},
            )
            d.reasons.append(f"refutation notice #{found.id} published for {d.content_id}")

    _guard(d, "refutation", refutation)
    return d


def detect_files(
    core: Synthguard, paths: list[Path], progress: Callable[[int], None] | None = None
) -> list[Detection]:
    results = []
    for path in paths:
        results.append(detect_file(core, path))
        if progress is not None:
            progress(1)
    return results
