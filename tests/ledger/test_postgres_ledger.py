"""The same ledger code on PostgreSQL: two replicas append to one log (advisory lock), never fork it,
and an export verifies."""

from __future__ import annotations

import base64
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from synthguard.config import Settings
from synthguard.ledger import Entry, Ledger, check_bundle, export_bundle
from tests.store.postgres import temporary_postgres


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with (
        tempfile.TemporaryDirectory(prefix="sg-pg-ledger-") as folder,
        temporary_postgres(Path(folder)) as url,
    ):
        yield url


def test_two_replicas_share_one_log_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    master = base64.b64encode(b"m" * 32).decode()

    def replica(name: str) -> Ledger:
        settings = Settings(data_dir=tmp_path / name, database_url=postgres_url, ledger_master_key=master)
        return Ledger.open(settings)

    one, two = replica("one"), replica("two")
    try:

        def write(ledger: Ledger, name: str) -> None:
            for i in range(15):
                ledger.record("x.y", f"{name}{i}", user_id=f"user-{name}", personal={"i": i})
            ledger.record_many([Entry("x.y", f"{name}-batch{i}") for i in range(20)])

        threads = [threading.Thread(target=write, args=(r, n)) for r, n in ((one, "a"), (two, "b"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert one.store.size() == two.store.size() == 70
        assert one.checkpoint().root == two.log.root(70)
        # A record sealed by replica one opens on replica two: the master key is shared.
        assert len(two.select(user_id="user-a")) == 15
        export_bundle(two, tmp_path / "pg.zip", user_id="user-a", include_personal=True)
        report = check_bundle(tmp_path / "pg.zip", two.verifier.to_vkey())
        assert report.ok and report.personal_verified == 15
    finally:
        one.close()
        two.close()
