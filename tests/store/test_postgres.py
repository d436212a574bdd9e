"""The same models and migrations on a real PostgreSQL server: label, inspect, keys shared by replicas."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from synthguard.config import Settings
from synthguard.core import Synthguard
from synthguard.store import LabelRecord
from tests.conftest import PLATFORM, PRODUCER, make_png
from tests.store.postgres import temporary_postgres


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="sg-pg-") as folder, temporary_postgres(Path(folder)) as url:
        yield url


def test_two_replicas_on_postgres_share_records_and_keys(postgres_url: str, tmp_path: Path) -> None:
    def replica(name: str) -> Settings:
        return Settings(
            data_dir=tmp_path / name,
            database_url=postgres_url,
            provider_code=PRODUCER,
            propagator_code=PLATFORM,
            fsync=False,
        )

    path = make_png(tmp_path / "a.png")
    with Synthguard.open(replica("one")) as one, Synthguard.open(replica("two")) as two:
        outcome = one.label_files([path])[0]
        assert outcome.ok
        # Replica two has its own key file but finds replica one's public key in the shared store.
        assert two.signer.key_id != one.signer.key_id
        assert two.inspect_file(path).integrity == "intact"
        with two.sessions() as session:
            count = session.scalar(
                select(func.count())
                .select_from(LabelRecord)
                .where(LabelRecord.content_id == outcome.content_id)
            )
        assert count == 1
