"""Queued text and media are sealed at rest, size-capped, served back intact, moved from clear
rows left by earlier versions, and erased (keys destroyed) when retention ends."""

from __future__ import annotations

import datetime as dt
import json
import os
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from synthguard.config import Settings
from synthguard.core import Synthguard
from synthguard.errors import ConfigError, SynthguardError
from synthguard.review.payloads import OCTET_STREAM, ReviewVault, sniff_media_type
from synthguard.review.queue import SEALED_NOTE, ReviewQueue
from synthguard.store.models import ReviewDataKey, ReviewPayload, ReviewQueueItem, ReviewQueueNote
from tests.conftest import PRODUCER
from tests.review.test_classifiers import drawn_face, png_bytes

SECRET_TEXT = "我的身份证号是一个秘密 secret-marker-7f3a"


@pytest.fixture
def core(settings: Settings) -> Iterator[Synthguard]:
    with Synthguard.open(settings) as sg:
        yield sg


def _raw_rows(core: Synthguard, item_id: int) -> tuple[str, bytes, bytes | None]:
    with core.sessions() as session:
        item = session.get(ReviewQueueItem, item_id)
        payload = session.get(ReviewPayload, item_id)
        assert item is not None and payload is not None and payload.text_sealed is not None
        return item.content, bytes(payload.text_sealed), payload.media_sealed


def test_queued_text_is_stored_sealed_and_read_back(core: Synthguard) -> None:
    item = core.reviewer.queue.enqueue(SECRET_TEXT, user_id="alice", service="chat", direction="in")
    clear, sealed, media = _raw_rows(core, item)
    assert clear == "" and media is None
    assert b"secret-marker-7f3a" not in sealed and SECRET_TEXT.encode() not in sealed
    assert core.reviewer.queue.get(item).content == SECRET_TEXT
    assert [i.content for i in core.reviewer.queue.list()] == [SECRET_TEXT]


def test_a_reviewed_face_image_keeps_its_media_sealed_for_the_preview(core: Synthguard) -> None:
    image = png_bytes(drawn_face())
    decision = core.review_media(image, "image", service="face_swap", user_id="bob")
    assert decision.action == "review" and decision.queue_item_id is not None
    item = core.reviewer.queue.get(decision.queue_item_id)
    assert (item.media_type, item.media_size, item.media_note) == ("image/png", len(image), "")
    _, _, sealed = _raw_rows(core, item.id)
    assert sealed is not None and b"\x89PNG" not in sealed and image[100:200] not in sealed
    assert core.reviewer.queue.media(item.id) == (image, "image/png")


def test_media_over_the_cap_keeps_only_its_digest(settings: Settings) -> None:
    settings.review_media_max_bytes = 1000
    with Synthguard.open(settings) as core:
        image = png_bytes(drawn_face())
        assert len(image) > 1000
        decision = core.review_media(image, "image", service="face_swap")
        assert decision.queue_item_id is not None
        item = core.reviewer.queue.get(decision.queue_item_id)
        assert item.media_note == "too_large" and item.media_type == ""
        assert item.content_sha256 == decision.text_sha256
        assert core.reviewer.queue.media(item.id) is None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(20), "image/png"),
        (b"\xff\xd8\xff\xe0" + bytes(20), "image/jpeg"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "audio/wav"),
        (b"ID3\x04" + bytes(20), "audio/mpeg"),
        (b"\x00\x00\x00\x18ftypisom" + bytes(8), "video/mp4"),
        (b"\x00\x00\x00\x18ftypM4A " + bytes(8), "audio/mp4"),
        (b"\x1a\x45\xdf\xa3" + bytes(20), "video/webm"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', OCTET_STREAM),
        (b"<!doctype html><script>alert(1)</script>", OCTET_STREAM),
        (b"\x00\x01garbage", OCTET_STREAM),
    ],
)
def test_media_type_is_sniffed_from_the_bytes_never_svg_or_html(data: bytes, expected: str) -> None:
    assert sniff_media_type(data) == expected


def test_clear_rows_from_before_0007_are_sealed_when_the_queue_opens(core: Synthguard) -> None:
    now = dt.datetime.now(dt.UTC)
    with core.sessions.begin() as session:  # a row as an older version wrote it
        row = ReviewQueueItem(
            created_at=now, updated_at=now, status="open", service="chat", direction="in",
            content=SECRET_TEXT, content_sha256="", due_at=now, categories=[],
        )  # fmt: skip
        session.add(row)
        session.flush()
        legacy = row.id
    queue = ReviewQueue(core.sessions, vault=ReviewVault.from_settings(core.settings))
    clear, sealed, _ = _raw_rows(core, legacy)
    assert clear == "" and SECRET_TEXT.encode() not in sealed
    assert queue.get(legacy).content == SECRET_TEXT
    assert queue.seal_legacy() == 0  # idempotent


def test_a_sealed_text_moved_to_another_item_is_refused(core: Synthguard) -> None:
    queue = core.reviewer.queue
    a = queue.enqueue("first text", service="chat", direction="in")
    b = queue.enqueue("second text", service="chat", direction="in")
    with core.sessions.begin() as session:
        sealed_a = session.get(ReviewPayload, a)
        assert sealed_a is not None
        session.execute(
            update(ReviewPayload).where(ReviewPayload.item_id == b).values(text_sealed=sealed_a.text_sealed)
        )
    with pytest.raises(SynthguardError, match="altered"):
        queue.get(b)


def test_a_replica_with_another_master_key_cannot_open_payloads(core: Synthguard) -> None:
    item = core.reviewer.queue.enqueue("shared", service="chat", direction="in")
    other = ReviewQueue(core.sessions, vault=ReviewVault(os.urandom(32)))
    with pytest.raises(ConfigError, match="replicas must share"):
        other.get(item)


def test_retention_erases_decided_payloads_and_destroys_emptied_month_keys(core: Synthguard) -> None:
    queue = core.reviewer.queue
    old_decided = queue.enqueue("old decided text", service="chat", direction="in")
    old_open = queue.enqueue("old open text", service="chat", direction="in")
    fresh = queue.enqueue("fresh text", service="chat", direction="in")
    queue.claim(old_decided, "r1")
    queue.decide(old_decided, "r1", "pass")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=400)
    # Backdate nothing: judge "now" 400 days on, when every item is past the 184-day retention.
    result = queue.purge(now=later)
    assert result["payloads_erased"] == 1 and result["keys_destroyed"] == []  # the open item pins its month
    erased = queue.get(old_decided)
    assert erased.content == "" and erased.erased and erased.content_sha256
    assert queue.get(old_open).content == "old open text" and queue.get(fresh).content == "fresh text"
    for item in (old_open, fresh):
        queue.claim(item, "r1")
        queue.decide(item, "r1", "block")
    result = queue.purge(now=later)
    assert result["payloads_erased"] == 2 and len(result["keys_destroyed"]) == 1
    with core.sessions() as session:
        keys = list(session.scalars(select(ReviewDataKey)))
        assert [k.wrapped for k in keys] == [None]
        sealed = session.execute(text("SELECT count(*) FROM review_payloads WHERE text_sealed IS NOT NULL"))
        assert sealed.scalar() == 0
    assert queue.purge(now=later)["payloads_erased"] == 0  # idempotent


def _raw_notes(core: Synthguard, item_id: int) -> list[str]:
    with core.sessions() as session:
        return list(
            session.scalars(
                select(ReviewQueueNote.body)
                .where(ReviewQueueNote.item_id == item_id)
                .order_by(ReviewQueueNote.id)
            )
        )


def test_reviewer_notes_are_sealed_like_the_item_and_erased_with_it(core: Synthguard) -> None:
    queue = core.reviewer.queue
    item = queue.enqueue("queued text", service="chat", direction="in")
    queue.add_note(item, "r1", f"user wrote {SECRET_TEXT}")
    queue.claim(item, "r1")
    queue.decide(item, "r1", "block", note=f"decided: {SECRET_TEXT}")
    stored = _raw_notes(core, item)
    assert stored and not any("secret-marker-7f3a" in body for body in stored)
    assert any(body.startswith(SEALED_NOTE) for body in stored)
    shown = [n.body for n in queue.get(item).notes]
    assert f"user wrote {SECRET_TEXT}" in shown and f"decided: {SECRET_TEXT}" in shown
    assert "" in shown  # the claim carried no note and stays empty
    with core.sessions.begin() as session:  # a sealed note moved to another item is refused
        other = queue.enqueue("other", service="chat", direction="in", session=session)
        session.add(ReviewQueueNote(item_id=other, author="x", kind="note", body=stored[0]))
    with pytest.raises(SynthguardError, match="altered"):
        queue.get(other)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=400)
    queue.purge(now=later)
    assert all(body == "" for body in _raw_notes(core, item))
    assert all(n.body == "" for n in queue.get(item).notes)


def test_notes_written_in_clear_by_an_older_version_are_sealed_on_open(core: Synthguard) -> None:
    item = core.reviewer.queue.enqueue("text", service="chat", direction="in")
    with core.sessions.begin() as session:
        session.add(ReviewQueueNote(item_id=item, author="r1", kind="note", body=SECRET_TEXT))
    queue = ReviewQueue(core.sessions, vault=ReviewVault.from_settings(core.settings))
    assert all("secret-marker-7f3a" not in body for body in _raw_notes(core, item))
    assert [n.body for n in queue.get(item).notes] == [SECRET_TEXT]
    assert queue.seal_legacy() == 0


def test_sniffing_handles_an_mpeg_frame_without_a_tag() -> None:
    frame = struct.pack(">I", 0xFFFB9064) + bytes(20)
    assert sniff_media_type(frame) == "audio/mpeg"


def test_cli_purge_runs_and_is_logged_to_the_ledger(tmp_path: Path) -> None:
    env = {**os.environ, "SYNTHGUARD_DATA_DIR": str(tmp_path / "var"), "SYNTHGUARD_PROVIDER_CODE": PRODUCER}
    proc = subprocess.run(
        [sys.executable, "-m", "synthguard", "review", "queue", "purge", "--json"],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    result = json.loads(proc.stdout)
    assert result["retention_days"] == 184 and result["payloads_erased"] == 0
    settings = Settings(data_dir=tmp_path / "var", provider_code=PRODUCER)
    with Synthguard.open(settings) as core:
        assert core.ledger.stats().event_types.get("review.purge") == 1


def test_a_store_at_0006_with_clear_rows_is_migrated_and_sealed(settings: Settings) -> None:
    from alembic import command

    from synthguard.store.session import _alembic_config, make_engine

    engine = make_engine(settings.resolved_database_url)
    cfg = _alembic_config("")
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0006_governance")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO review_queue_items (decision_id, created_at, updated_at, status, level, "
                "priority, service, direction, user_id, categories, content, content_sha256, due_at, "
                "claimed_by, decided_by, outcome, lock_version) VALUES (NULL, :now, :now, 'open', 1, 3, "
                "'chat', 'in', 'alice', '[]', :content, '', :now, '', '', '', 0)"
            ),
            {"now": dt.datetime.now(dt.UTC), "content": SECRET_TEXT},
        )
    engine.dispose()
    with Synthguard.open(settings) as core:
        [item] = core.reviewer.queue.list()
        assert item.content == SECRET_TEXT and item.user_id == "alice"
        clear, sealed, _ = _raw_rows(core, item.id)
        assert clear == "" and SECRET_TEXT.encode() not in sealed
