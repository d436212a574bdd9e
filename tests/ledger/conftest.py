from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from synthguard.config import Settings
from synthguard.ledger import Ledger

DAY_US = 86_400 * 1_000_000
T0 = 1_767_225_600 * 1_000_000  # 2026-01-01T00:00:00Z


class FakeClock:
    """A wall clock the test moves: entries months apart without waiting months."""

    def __init__(self, start: int = T0) -> None:
        self.now = start

    def __call__(self) -> int:
        self.now += 1_000  # each reading 1 ms later
        return self.now

    def advance(self, days: float) -> None:
        self.now += int(days * DAY_US)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ledger_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var", ledger_origin="test.example/ledger")


@pytest.fixture
def ledger(ledger_settings: Settings, clock: FakeClock) -> Iterator[Ledger]:
    opened = Ledger.open(ledger_settings, clock=clock)
    yield opened
    opened.close()
