"""The Merkle log in the store: appends, idempotency, batches, two writers, consistency, retention."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest

from synthguard.config import Settings
from synthguard.errors import ConfigError, LedgerError
from synthguard.ledger import Entry, Ledger, leaf_hash, verify_consistency, verify_inclusion
from synthguard.ledger.checkpoint import verify_checkpoint
from synthguard.ledger.merkle import ConsistencyProof, Hash, InclusionProof, tree_hash
from tests.ledger.conftest import FakeClock


def _db(settings: Settings) -> sqlite3.Connection:
    return sqlite3.connect(settings.data_dir / "synthguard.db")


def _recompute_root(settings: Settings) -> tuple[int, bytes]:
    """Root from the leaves alone (a full audit), independent of the stored hashes."""
    from tests.ledger.test_merkle import ref_mth

    with _db(settings) as conn:
        leaves = [bytes(r[0]) for r in conn.execute("SELECT leaf FROM ledger_entries ORDER BY seq")]
    return len(leaves), ref_mth(leaves)


def test_appended_entries_are_proven_under_a_signed_checkpoint(
    ledger: Ledger, ledger_settings: Settings
) -> None:
    ledger.record("generation.output", "C1", output_sha256="ab" * 32, model="m1")
    ledger.record_many([Entry("label.issued", f"C{i}", {"n": i}) for i in range(2, 40)])
    head = ledger.checkpoint()
    assert verify_checkpoint(head.text, ledger.verifier).size == 39
    assert (head.size, bytes(head.root)) == _recompute_root(ledger_settings)
    result = ledger.proofs_for("C7")
    (entry,) = result.entries
    assert json.loads(entry.leaf)["content_id"] == "C7"
    proof = InclusionProof(entry.seq, result.checkpoint.size, tuple(Hash.parse(h) for h in entry.proof))
    verify_inclusion(proof, leaf_hash(entry.leaf.encode()), Hash.parse(result.checkpoint.root))


def test_leaf_holds_commitments_not_personal_data(ledger: Ledger, ledger_settings: Settings) -> None:
    ledger.record(
        "generation.input", "C1", user_id="13800138000", personal={"ip": "203.0.113.9"}, prompt_sha256="00"
    )
    with _db(ledger_settings) as conn:
        leaf = bytes(conn.execute("SELECT leaf FROM ledger_entries").fetchone()[0])
        sealed = bytes(conn.execute("SELECT sealed FROM ledger_personal").fetchone()[0])
    for secret in (b"13800138000", b"203.0.113.9"):
        assert secret not in leaf and secret not in sealed
    assert len(json.loads(leaf)["personal"]) == 64
    opened = ledger.vault.open([0])[0]
    assert opened["user_id"] == "13800138000" and opened["data"] == {"ip": "203.0.113.9"}


def test_idempotency_key_logs_once_even_across_batches(ledger: Ledger) -> None:
    first = ledger.record("consent.given", "C1", idem_key="consent-42")
    again = ledger.record("consent.given", "C1", idem_key="consent-42")
    assert again.duplicate and again.seq == first.seq and again.leaf_hash == first.leaf_hash
    batch = ledger.record_many(
        [Entry("x.y", idem_key="k1"), Entry("x.y", idem_key="k1"), Entry("x.y", idem_key="consent-42")]
    )
    assert [a.duplicate for a in batch] == [False, True, True]
    assert ledger.store.size() == 2


def test_a_failed_batch_leaves_nothing_behind(ledger: Ledger) -> None:
    ledger.record("x.y")
    with pytest.raises(LedgerError, match="over"):
        ledger.record_many([Entry("x.y", refs={"ok": 1}), Entry("x.y", refs={"blob": "z" * 20_000})])
    assert ledger.store.size() == 1
    ledger.record("x.y")  # the in-memory frontier was not advanced by the failed batch
    assert ledger.store.size() == 2
    assert tree_hash(2, ledger.store) == tree_hash(2, ledger.store)


@pytest.mark.parametrize("bad", ["", "Upper.case", "has space", "trailing.", "a" * 65, "a..b"])
def test_bad_event_types_are_refused(ledger: Ledger, bad: str) -> None:
    with pytest.raises(LedgerError, match="event type"):
        ledger.record(bad)


def test_refs_that_are_not_json_are_refused(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="JSON"):
        ledger.record("x.y", when=object())
    with pytest.raises(LedgerError, match="JSON"):
        ledger.record("x.y", ratio=float("nan"))


def test_consistency_holds_across_appends(ledger: Ledger) -> None:
    heads = []
    for round_ in range(6):
        ledger.record_many([Entry("x.y", f"C{round_}-{i}") for i in range(round_ * 7 + 1)])
        heads.append(ledger.checkpoint())
    for older in heads:
        for newer in heads:
            if older.size > newer.size:
                continue
            result = ledger.consistency(older.size, newer.size)
            proof = ConsistencyProof(older.size, newer.size, tuple(Hash.parse(h) for h in result.proof))
            verify_consistency(proof, older.root, newer.root)
    with pytest.raises(LedgerError, match="first"):
        ledger.consistency(heads[-1].size + 1)


def test_two_writers_on_one_database_never_fork_the_tree(
    ledger_settings: Settings, ledger: Ledger, clock: FakeClock
) -> None:
    other = Ledger(ledger_settings, clock=clock)
    try:

        def write(target: Ledger, name: str) -> None:
            for i in range(40):
                target.record("x.y", f"{name}{i}")

        threads = [threading.Thread(target=write, args=(t, n)) for t, n in ((ledger, "a"), (other, "b"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ledger.record_many([Entry("x.y", "tail")])
        assert other.store.size() == 81
        assert (81, bytes(other.checkpoint().root)) == _recompute_root(ledger_settings)
        with _db(ledger_settings) as conn:
            assert [r[0] for r in conn.execute("SELECT seq FROM ledger_entries ORDER BY seq")] == list(
                range(81)
            )
    finally:
        other.close()


def test_time_never_goes_backwards_in_the_log(ledger: Ledger, clock: FakeClock) -> None:
    ledger.record("x.y")
    clock.advance(-1)  # the wall clock steps back a day
    second = ledger.record("x.y")
    first_time = json.loads(ledger.select()[0].leaf)["time"]
    assert second.logged_at >= first_time


def test_retention_below_six_months_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="6 months"):
        Ledger.open(Settings(data_dir=tmp_path, ledger_retention_days=180))


def test_purge_erases_personal_data_keeps_proofs_and_logs_itself(
    ledger: Ledger, ledger_settings: Settings, clock: FakeClock
) -> None:
    ledger.record("generation.input", "OLD", user_id="alice", personal={"ip": "198.51.100.1"})
    old_head = ledger.checkpoint()
    clock.advance(230)  # Jan 1 + 230 days - 184 days retention: all of January is past the cutoff
    ledger.record("generation.input", "NEW", user_id="alice", personal={"ip": "198.51.100.2"})
    before = ledger.proofs_for("OLD")

    result = ledger.purge()

    assert result.personal_records_erased == 1 and result.entries_unlinked == 1
    assert result.keys_destroyed == ["2026-01"]
    assert ledger.vault.open([0, 1]).keys() == {1}  # the old record is gone, the recent one stays
    assert [e.content_id for e in ledger.select(user_id="alice")] == ["NEW"]
    after = ledger.proofs_for("OLD")
    assert after.entries[0].leaf == before.entries[0].leaf  # the leaf (commitments only) survives
    proof = InclusionProof(0, after.checkpoint.size, tuple(Hash.parse(h) for h in after.entries[0].proof))
    verify_inclusion(proof, leaf_hash(after.entries[0].leaf.encode()), Hash.parse(after.checkpoint.root))
    consistency = ledger.consistency(old_head.size)
    verify_consistency(
        ConsistencyProof(old_head.size, consistency.second, tuple(Hash.parse(h) for h in consistency.proof)),
        old_head.root,
        Hash.parse(consistency.second_root),
    )
    stats = ledger.stats()
    assert stats.last_purge is not None and stats.last_purge["seq"] == result.purge_entry_seq
    assert stats.last_purge["personal_records_erased"] == 1
    # Logging into a month whose key was destroyed is refused rather than silently re-keyed.
    with _db(ledger_settings) as conn:
        assert (
            conn.execute("SELECT wrapped FROM ledger_data_keys WHERE period='2026-01'").fetchone()[0] is None
        )
    assert ledger.purge().personal_records_erased == 0  # idempotent


def test_replicas_with_another_master_key_cannot_open_personal_data(
    ledger: Ledger, ledger_settings: Settings, tmp_path: Path
) -> None:
    import base64

    ledger.record("x.y", user_id="bob", personal={"a": 1})
    stranger = Ledger(
        ledger_settings.model_copy(update={"ledger_master_key": base64.b64encode(b"k" * 32).decode()})
    )
    try:
        with pytest.raises(ConfigError, match="master key"):
            stranger.vault.open([0])
    finally:
        stranger.close()
