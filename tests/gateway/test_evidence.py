"""The gateway's evidence: every input decision is a stored row linked both ways to its ledger
entry, committed with (or before) the answer's own record; concurrent answers share commits."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import httpx
import pytest

from synthguard.core import Synthguard
from synthguard.gateway.evidence import EvidenceWriter, ReviewRecord
from synthguard.ledger import Entry
from synthguard.review import Context
from tests.gateway.conftest import MASKED_TERM, Running


def leaf(core: Synthguard, seq: int) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(core.ledger.store.entries([seq])[seq].leaf)
    return body


def input_row(core: Synthguard, user: str, text: str) -> Any:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    rows = [
        r
        for r in core.reviewer.decisions(user_id=user, limit=1000)
        if r.direction == "in" and r.text_sha256 == digest
    ]
    assert len(rows) == 1, "one stored decision per reviewed input, never two"
    return rows[0]


@pytest.mark.parametrize(
    ("prompt", "action"), [("证据测试：普通问题", "pass"), (f"证据测试：{MASKED_TERM}", "mask")]
)
@pytest.mark.parametrize("stream", [False, True])
def test_input_decision_is_stored_linked_and_logged_before_the_answer(
    gateway: Running, prompt: str, action: str, stream: bool
) -> None:
    prompt = f"{prompt} ({'stream' if stream else 'plain'})"
    body = {"model": "demo", "messages": [{"role": "user", "content": prompt}], "stream": stream}
    auth = {"Authorization": f"Bearer {gateway.keys['frank']}"}
    with httpx.stream("POST", gateway.url + "/v1/chat/completions", json=body, headers=auth, timeout=30) as r:
        assert r.status_code == 200
        content_id = r.headers["X-Synthguard-Content-Id"]
        r.read()
    core = gateway.core
    row = input_row(core, "frank", prompt)
    assert row.action == action and row.service == "chat" and row.text_chars == len(prompt)
    entry = leaf(core, int(row.ledger_ref))  # the row points at its entry ...
    assert entry["type"] == "review_decision"
    assert entry["refs"]["decision_id"] == row.id  # ... and the entry at its row
    assert entry["refs"]["text_sha256"] == row.text_sha256 and entry["refs"]["action"] == action
    (answer,) = core.ledger.select(content_id=content_id)
    refs = json.loads(answer.leaf)["refs"]
    assert refs["input_action"] == action and refs["prompt_sha256"] == row.text_sha256
    assert answer.seq > int(row.ledger_ref)


def test_concurrent_records_share_commits_and_each_lands_once(sg: Synthguard) -> None:
    sg.users.add_user("zoe")
    writer = EvidenceWriter(sg)
    ctx = Context(service="chat", direction="in", user_id="zoe", user_status="unverified")

    async def one(i: int) -> int:
        text = f"第{i}个问题"
        decision = sg.reviewer.review_text(text, ctx, record=False)
        entry = Entry("gateway.generated", f"cid-{i}", {"n": i}, "zoe", None, f"gateway.generated-cid-{i}")
        (appended,) = await writer.commit([ReviewRecord(decision, ctx, len(text))], [entry])
        assert decision.decision_id is not None and decision.ledger_ref
        return appended.seq

    async def main() -> list[int]:
        return await asyncio.gather(*(one(i) for i in range(24)))

    seqs = asyncio.run(main())
    assert len(set(seqs)) == 24
    assert writer.commits < 24  # requests that arrive during a commit share the next one
    rows = [r for r in sg.reviewer.decisions(user_id="zoe", limit=100)]
    assert len(rows) == 24 and all(r.ledger_ref for r in rows)
    for r in rows:
        assert leaf(sg, int(r.ledger_ref))["refs"]["decision_id"] == r.id


def test_a_bad_entry_fails_its_own_caller_only(sg: Synthguard) -> None:
    writer = EvidenceWriter(sg)

    async def main() -> tuple[object, object]:
        good = writer.commit([], [Entry("gateway.generated", "cid-good", {"ok": True})])
        bad = writer.commit([], [Entry("not a valid event type!", "cid-bad", {})])
        return tuple(await asyncio.gather(good, bad, return_exceptions=True))  # type: ignore[return-value]

    good, bad = asyncio.run(main())
    assert isinstance(bad, Exception) and not isinstance(good, BaseException)
    assert [e.content_id for e in sg.ledger.select(content_id="cid-good")] == ["cid-good"]
