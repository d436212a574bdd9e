from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from synthguard.labels.model import AIGCLabel

if TYPE_CHECKING:
    from synthguard.config import Settings
    from synthguard.core import Synthguard

EXIFTOOL_CONFIG = Path(__file__).resolve().parents[1] / "src/synthguard/labels/implicit/exiftool_tc260.config"
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


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    from synthguard.config import Settings

    return Settings(data_dir=tmp_path / "var", provider_code=PRODUCER, propagator_code=PLATFORM, fsync=False)


@pytest.fixture
def sg(settings: Settings) -> Iterator[Synthguard]:
    from synthguard.core import Synthguard

    with Synthguard.open(settings) as core:
        yield core


def make_png(path: Path, size: tuple[int, int] = (64, 48)) -> Path:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(7)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


def make_jpeg(path: Path, size: tuple[int, int] = (64, 48)) -> Path:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(8)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path, quality=90)
    return path
