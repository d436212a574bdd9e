"""Video review as sampled frames: every image classifier runs on about one frame per second.

Scores per risk are the maximum over frames, and ``detail.at_s`` says when the worst frame was.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from synthguard.review.classifiers.base import Content, Score
from synthguard.review.classifiers.media import sample_frames


class FrameClassifier(Protocol):
    name: str

    def classify_array(self, image: Any) -> list[Score]: ...


class VideoFrames:
    name = "video_frames"
    modalities = frozenset({"video"})

    def __init__(
        self, image_classifiers: Sequence[FrameClassifier], *, every_s: float = 1.0, max_frames: int = 30
    ):
        self.image_classifiers = list(image_classifiers)
        self.every_s = every_s
        self.max_frames = max_frames

    def classify(self, content: Content) -> list[Score]:
        best: dict[tuple[str, str], Score] = {}
        frames = 0
        for t, frame in sample_frames(content.read_bytes(), every_s=self.every_s, max_frames=self.max_frames):
            frames += 1
            for classifier in self.image_classifiers:
                for score in classifier.classify_array(frame):
                    key = (score.classifier, score.risk)
                    if key not in best or score.score > best[key].score:
                        best[key] = Score(
                            score.risk,
                            score.score,
                            score.label,
                            f"{score.classifier}@frames",
                            detail={**score.detail, "at_s": round(t, 2)},
                        )
        return [
            Score(s.risk, s.score, s.label, s.classifier, detail={**s.detail, "frames": frames})
            for s in best.values()
        ]
