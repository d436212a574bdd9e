"""Nudity / sexual content in images with NudeNet 3.4.2 (its 12 MB ONNX model ships in the wheel).

TC260-003 risk A.1.f (obscenity and pornography). Measured ~29 ms/image on this machine
(shared/research/gateway.md §4). The score is the highest confidence among the *exposed* classes;
covered or face classes do not count.
"""

from __future__ import annotations

import threading
from typing import Any

from synthguard.errors import ClassifierUnavailable
from synthguard.review.classifiers.base import Content, Score, decode_image

RISK = "A.1.f"
EXPOSED = frozenset(
    {
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "FEMALE_BREAST_EXPOSED",
        "ANUS_EXPOSED",
        "BUTTOCKS_EXPOSED",
    }
)


class NudityClassifier:
    name = "nudenet"
    modalities = frozenset({"image"})

    def __init__(self) -> None:
        try:
            from nudenet import NudeDetector
        except ImportError as exc:  # pragma: no cover - a broken install
            raise ClassifierUnavailable(f"nudenet is not installed ({exc})") from None
        self._detector = NudeDetector()
        self._lock = threading.Lock()

    def classify(self, content: Content) -> list[Score]:
        return self.classify_array(decode_image(content.read_bytes()))

    def classify_array(self, image: Any) -> list[Score]:
        with self._lock:
            detections: list[dict[str, Any]] = self._detector.detect(image)
        exposed = [d for d in detections if d.get("class") in EXPOSED]
        if not exposed:
            return [Score(RISK, 0.0, "none", self.name, detail={"detections": len(detections)})]
        top = max(exposed, key=lambda d: float(d["score"]))
        return [
            Score(
                RISK,
                float(top["score"]),
                str(top["class"]).lower(),
                self.name,
                detail={"classes": sorted({str(d["class"]) for d in exposed})},
            )
        ]
