"""`synthguard label` marks WAV/FLAC audio too (on by default), and `detect` resolves the mark."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import soundfile as sf

from synthguard.config import Settings
from synthguard.core import Synthguard
from synthguard.watermark.detect import detect_file
from synthguard.watermark.payload import WATERMARK_KEY_FILE, Keyring, WatermarkKey
from tests.watermark.audio_clips import speech


@pytest.fixture
def sg(settings: Settings) -> Iterator[Synthguard]:
    # The fixed key of the audio watermark tests, so a run reproduces (mark ids stay random).
    ring = Keyring({0: WatermarkKey(0, bytes(range(32)))}, 0, settings.keys_dir / WATERMARK_KEY_FILE)
    settings.keys_dir.mkdir(parents=True, exist_ok=True)
    ring._save(exclusive=True)
    with Synthguard.open(settings) as core:
        yield core


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_labeled_audio_carries_a_watermark_that_resolves_to_its_content_id(
    sg: Synthguard, tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"speech{suffix}"
    samples = speech(0, rate=44_100)
    sf.write(path, samples, 44_100, subtype="PCM_16")
    outcome = sg.label_file(path)
    assert outcome.watermark is not None and outcome.watermark["modality"] == "audio"
    info = sf.info(str(path))
    assert (info.samplerate, info.channels, info.subtype) == (44_100, 1, "PCM_16")
    assert sg.inspect_file(path).integrity == "intact"
    found = detect_file(sg, path)
    assert found.to_json_dict()["watermark"]["content_id"] == outcome.content_id
