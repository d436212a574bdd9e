from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from synthguard.labels.model import AIGCLabel

EXIFTOOL_CONFIG = (
    Path(__file__).resolve().parents[1] / "src/synthguard/labels/implicit/exiftool_tc260.config"
)
# A real-looking producer code: 00 + 1 (organisation) + 1 (USCC) + USCC + service extension.
PRODUCER = "001191110102MACQD9K64010000"
PLATFORM = "001191330106MA2CFLDG4R20001"


@pytest.fixture
def label() -> AIGCLabel:
    return AIGCLabel.produce(PRODUCER, "sg-0001-test")


@pytest.fixture
def exiftool() -> list[str]:
    """The exiftool command with our TC260 namespace config (installed by `make test`)."""
    path = shutil.which("exiftool")
    if path is None:
        pytest.fail("exiftool is not installed; `make test` installs libimage-exiftool-perl")
    return [path, "-config", str(EXIFTOOL_CONFIG)]
