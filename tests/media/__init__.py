"""Test media generated in code: every sample a format plugin is tested on.

Each module (``images``, ``video``, ``audio``, ``documents``) exposes ``SAMPLES``: a mapping from a
sample file name (its extension picks the format) to a factory ``make(folder) -> Path`` that writes a
small, real file. Nothing is downloaded; the third-party encoders (Pillow, PyAV, soundfile,
reportlab, python-docx ...) make the files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

SampleFactory = Callable[[Path], Path]


def all_samples() -> dict[str, SampleFactory]:
    import importlib

    samples: dict[str, SampleFactory] = {}
    for module_name in ("images", "video", "audio", "documents", "video_mkv_flv", "images_tiff"):
        try:
            module = importlib.import_module(f"tests.media.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"tests.media.{module_name}":
                raise
            continue
        samples.update(module.SAMPLES)
    return samples
