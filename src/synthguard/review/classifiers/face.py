"""Face presence in images (and video frames) with OpenCV's Haar cascade, offline.

Deep Synthesis Provisions Art. 14: editing biometric information such as faces needs the edited
person's separate consent, so the policy must know when an upload shows a face. The frontal-face
cascade ships inside ``opencv-python-headless`` 4.x wheels (``cv2.data``); the 5.0 wheels dropped
it, hence the ``<5`` pin. Measured ~48 ms/image on this machine (shared/research/gateway.md §4).
"""

from __future__ import annotations

import threading
from typing import Any

from synthguard.errors import ClassifierUnavailable
from synthguard.review.classifiers.base import Content, Score, decode_image

RISK = "S.face"
CASCADE = "haarcascade_frontalface_default.xml"
MAX_SIDE = 1024  # detection on a downscaled copy: faces that matter are not tiny


class FaceDetector:
    name = "face_haar"
    modalities = frozenset({"image"})

    def __init__(self) -> None:
        import cv2

        path = cv2.data.haarcascades + CASCADE  # type: ignore[attr-defined]
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise ClassifierUnavailable(
                f"OpenCV cascade {path} is missing (opencv-python-headless 4.x ships it)"
            )
        self._lock = threading.Lock()  # CascadeClassifier is not documented as thread-safe

    def classify(self, content: Content) -> list[Score]:
        return self.classify_array(decode_image(content.read_bytes()))

    def classify_array(self, image: Any) -> list[Score]:
        import cv2

        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        scale = min(1.0, MAX_SIDE / max(gray.shape[:2]))
        if scale < 1.0:
            gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        gray = cv2.equalizeHist(gray)
        with self._lock:
            faces = self._cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))
        boxes = [[int(v / scale) for v in box] for box in faces]
        if not boxes:
            return [Score(RISK, 0.0, "no_face", self.name)]
        return [Score(RISK, 1.0, "face", self.name, detail={"faces": len(boxes), "boxes": boxes})]
