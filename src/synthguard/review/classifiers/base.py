"""One interface for every classifier: content in (text, image, audio, video), scores per risk out.

Deep Synthesis Provisions Art. 10 asks for technical review of inputs and synthesis results beyond
keywords; TC260-003 section 8 expects a classification model covering the 31 risks. No Chinese
toxicity classifier ships offline (detoxify, Qwen3Guard and Llama Guard download weights at run
time: shared/research/gateway.md §4), so text risks beyond the keyword library and PII go through
the HTTP adapter to the provider's own model or a cloud moderation API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from synthguard.errors import InvalidText

MODALITIES = ("text", "image", "audio", "video")


@dataclass(frozen=True)
class Content:
    """What to classify: ``text`` for text, ``data`` (bytes) or ``path`` for media."""

    modality: str
    text: str = ""
    data: bytes | None = None
    path: Path | None = None

    def __post_init__(self) -> None:
        if self.modality not in MODALITIES:
            raise InvalidText(f"unknown modality {self.modality!r}; use one of {', '.join(MODALITIES)}")

    def read_bytes(self) -> bytes:
        if self.data is not None:
            return self.data
        if self.path is not None:
            return self.path.read_bytes()
        raise InvalidText(f"{self.modality} content needs data or a path")


@dataclass(frozen=True)
class Score:
    """One risk score. ``start``/``end`` locate it in a text; ``detail`` says what was seen."""

    risk: str
    score: float
    label: str
    classifier: str
    start: int | None = None
    end: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "risk": self.risk,
            "score": round(self.score, 4),
            "label": self.label,
            "classifier": self.classifier,
            "start": self.start,
            "end": self.end,
            "detail": self.detail,
        }


class Classifier(Protocol):
    name: str
    modalities: frozenset[str]

    def classify(self, content: Content) -> list[Score]: ...


def decode_image(data: bytes) -> Any:
    """BGR ``numpy`` image from encoded bytes (any format OpenCV or Pillow reads)."""
    import cv2
    import numpy as np

    from synthguard.errors import CorruptFile

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        import io

        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(data)) as im:
                rgb = np.asarray(im.convert("RGB"))
        except (UnidentifiedImageError, OSError) as exc:
            raise CorruptFile("image", f"cannot decode ({exc})") from None
        image = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    return image
