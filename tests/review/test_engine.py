from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from synthguard.config import Settings
from synthguard.core import Synthguard
from synthguard.errors import InvalidText, LibraryInvalid, NotFound, QueueConflict, TextTooLarge
from synthguard.review.engine import text_from_bytes
from synthguard.review.keywords import Entry, read_csv, read_library
from synthguard.review.library import sample_library
from synthguard.store.models import ReviewDecision


@pytest.fixture
def sg_lib(sg: Synthguard) -> Synthguard:
    entries, problems = read_library(sample_library(), "sample.csv")
    sg.reviewer.library.import_entries(entries, problems=problems, source="sample")
    return sg


def test_blocked_input_has_bilingual_refusal_spans_and_a_record(sg_lib: Synthguard) -> None:
    text = "请问示·例·違禁詞是什么"
    d = sg_lib.review_text(text, user_id="u1")
    assert d.action == "block"
    assert d.categories == ["A.1.h"]
    (f,) = [f for f in d.findings if f.source == "keyword"]
    assert text[f.start : f.end] == "示·例·違禁詞" == f.text  # type: ignore[index]
    assert "无法处理" in d.refusal_zh and "cannot be processed" in d.refusal_en
    assert "示例违禁词" not in d.refusal_zh  # the refusal names the category, never the term
    with sg_lib.sessions() as s:
        row = s.get(ReviewDecision, d.decision_id)
    assert row is not None and row.action == "block" and row.text_sha256 == d.text_sha256
    assert row.spans[0]["start"] == f.start


def test_stored_reasons_name_where_a_term_matched_never_the_users_text(sg_lib: Synthguard) -> None:
    text = "加我示例联系方式：alice_2024 聊"  # a regex entry whose match is a user's contact handle
    d = sg_lib.review_text(text, user_id="u1", direction="out")
    (f,) = [f for f in d.findings if f.source == "keyword"]
    assert f.text is not None and "alice_2024" in f.text  # the caller still sees what matched
    with sg_lib.sessions() as s:
        row = s.get(ReviewDecision, d.decision_id)
    assert row is not None and row.reasons
    assert not any("alice_2024" in reason or "示例联系方式" in reason for reason in row.reasons)
    assert f"at {f.start}-{f.end}" in row.reasons[0]


def test_clean_text_passes(sg_lib: Synthguard) -> None:
    d = sg_lib.review_text("今天天气不错，我们去公园散步吧。")
    assert d.action == "pass" and d.findings == [] and d.refusal_zh == ""


def test_personal_information_is_masked_in_outputs_only(sg_lib: Synthguard) -> None:
    text = "客户电话是13800138000，身份证11010519491231002X。"
    out = sg_lib.review_text(text, direction="out")
    assert out.action == "mask"
    assert out.masked_text == "客户电话是***********，身份证******************。"
    assert {f.label for f in out.findings} == {"mobile", "resident_id"}
    assert all("13800138000" not in f.text for f in out.findings)
    assert sg_lib.review_text(text, direction="in").action == "pass"


def test_review_action_opens_a_queue_item(sg_lib: Synthguard) -> None:
    d = sg_lib.review_text("示例甲方提到示例回扣", service="chat")
    assert d.action == "review" and d.queue_item_id is not None
    item = sg_lib.reviewer.queue.get(d.queue_item_id)
    assert item.status == "open" and item.categories == ["A.3.b"] and item.decision_id == d.decision_id


def test_three_blocked_inputs_in_a_row_sanction_the_user(sg_lib: Synthguard) -> None:
    actions = [sg_lib.review_text("示例违禁词", user_id="repeat").action for _ in range(3)]
    assert actions == ["block", "block", "sanction"]
    d = sg_lib.review_text("示例违禁词", user_id="repeat")
    assert "暂停" in sg_lib.review_text("示例违禁词", user_id="repeat").refusal_zh
    assert d.action == "sanction"


def test_suspended_user_is_refused_before_scanning(sg_lib: Synthguard) -> None:
    d = sg_lib.review_text("你好", user_id="x", user_status="suspended")
    assert d.action == "block" and "suspended" in d.reasons[0] and d.refusal_zh


def test_oversized_text_is_refused_without_decoding() -> None:
    big = b"a" * (100 * 1024 * 1024)
    t0 = time.perf_counter()
    with pytest.raises(TextTooLarge, match="review limit"):
        text_from_bytes(big, 16 * 1024 * 1024)
    assert time.perf_counter() - t0 < 0.5


def test_oversized_text_string_is_refused(sg_lib: Synthguard) -> None:
    with pytest.raises(TextTooLarge):
        sg_lib.review_text("字" * (sg_lib.settings.review_max_bytes // 3 + 1))


def test_invalid_utf8_is_a_clear_error() -> None:
    with pytest.raises(InvalidText, match="byte 2"):
        text_from_bytes(b"ab\xff\xfe", 1000)


def test_bad_direction_is_refused(sg_lib: Synthguard) -> None:
    with pytest.raises(InvalidText, match="direction"):
        sg_lib.review_text("x", direction="sideways")


# --- library store ----------------------------------------------------------------------------------


def test_import_creates_provider_categories_and_versions(sg: Synthguard) -> None:
    lib = sg.reviewer.library
    entries, _ = read_csv("term,category,action\n示例新词,我的自定义类别,review\n示例违禁词,A.1.h,\n")
    r1 = lib.import_entries(entries)
    assert r1.version == 1 and r1.added == 2 and r1.created_categories == ["P.我的自定义类别"]
    assert "P.我的自定义类别" in lib.risks()
    r2 = lib.import_entries(entries)
    assert r2.version == 2 and r2.unchanged == 2 and r2.added == 0
    changed, _ = read_csv("term,category,action\n示例新词,我的自定义类别,block\n")
    r3 = lib.import_entries(changed, replace=True)
    assert (r3.updated, r3.removed, r3.total) == (1, 1, 1)
    assert [e.term for e in lib.entries(version=2)] == ["示例新词", "示例违禁词"]
    assert [(e.term, e.action) for e in lib.entries()] == [("示例新词", "block")]


def test_malformed_rows_abort_the_import_unless_skipped(sg: Synthguard) -> None:
    entries, problems = read_csv("term,category,action\n示例好词,A.1.h,\n示例坏词,A.1.h,explode\n")
    with pytest.raises(LibraryInvalid, match="row 3"):
        sg.reviewer.library.import_entries(entries, problems=problems)
    assert sg.reviewer.library.version() == 0
    report = sg.reviewer.library.import_entries(entries, problems=problems, skip_invalid=True)
    assert report.added == 1 and report.skipped[0].row == 3


def test_second_replica_sees_a_new_version_without_restart(settings: Settings) -> None:
    fast = settings.model_copy(update={"review_library_poll_s": 0.0})
    with Synthguard.open(fast) as a, Synthguard.open(fast) as b:
        assert b.review_text("示例热更新词").action == "pass"
        a.reviewer.library.import_entries([Entry(term="示例热更新词", category="A.1.h", action="block")])
        assert b.review_text("示例热更新词").action == "block"
        assert b.reviewer.library.matcher().version == 1


def test_concurrent_imports_get_distinct_versions(settings: Settings) -> None:
    with Synthguard.open(settings) as a, Synthguard.open(settings) as b:
        errors: list[BaseException] = []
        versions: list[int] = []

        def run(core: Synthguard, term: str) -> None:
            try:
                versions.append(
                    core.reviewer.library.import_entries([Entry(term=term, category="A.1.h")]).version
                )
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(c, f"示例并发{i}")) for i, c in enumerate([a, b, a, b])]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [] and sorted(versions) == [1, 2, 3, 4]
        assert len(a.reviewer.library.entries()) == 4


def test_stats_report_tc260_minimums(sg_lib: Synthguard) -> None:
    stats = sg_lib.reviewer.library.stats()
    a1a = next(c for c in stats.categories if c.code == "A.1.a")
    assert a1a.required == 200 and a1a.count == 1 and not a1a.meets
    assert not stats.meets_total and stats.updated_within_week and stats.total == 16


# --- queue ----------------------------------------------------------------------------------------


def test_only_one_of_many_concurrent_claims_wins(sg: Synthguard) -> None:
    item_id = sg.reviewer.queue.enqueue("内容", categories=["A.1.h"])
    winners: list[str] = []
    losers: list[str] = []
    barrier = threading.Barrier(8)

    def claim(name: str) -> None:
        barrier.wait()
        try:
            sg.reviewer.queue.claim(item_id, name)
            winners.append(name)
        except QueueConflict:
            losers.append(name)

    threads = [threading.Thread(target=claim, args=(f"r{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1 and len(losers) == 7
    assert sg.reviewer.queue.get(item_id).claimed_by == winners[0]


def test_claim_decide_escalate_flow_keeps_an_audit_trail(sg: Synthguard) -> None:
    q = sg.reviewer.queue
    item_id = q.enqueue("待审内容")
    q.claim(item_id, "alice")
    with pytest.raises(QueueConflict, match="claimed by alice"):
        q.decide(item_id, "bob", "pass")
    q.add_note(item_id, "alice", "需要上级确认")
    escalated = q.escalate(item_id, "alice", "涉及敏感领域")
    assert escalated.status == "escalated" and escalated.level == 2 and escalated.claimed_by == ""
    q.claim(item_id, "lead")
    done = q.decide(item_id, "lead", "block", "确认违规")
    assert done.status == "decided" and done.outcome == "block" and done.decided_by == "lead"
    assert [n.kind for n in done.notes] == ["claim", "note", "escalate", "claim", "decide"]
    with pytest.raises(QueueConflict):
        q.claim(item_id, "carol")


def test_deadlines_mark_items_overdue(settings: Settings) -> None:
    quick = settings.model_copy(update={"review_queue_deadline_h": 1e-7})
    with Synthguard.open(quick) as core:
        item_id = core.reviewer.queue.enqueue("过期内容")
        time.sleep(0.01)
        assert [i.id for i in core.reviewer.queue.list(overdue=True)] == [item_id]
        assert core.reviewer.queue.get(item_id).overdue


def test_unknown_item_is_not_found(sg: Synthguard) -> None:
    with pytest.raises(NotFound):
        sg.reviewer.queue.claim(999, "alice")


def test_claim_next_takes_the_most_urgent(sg: Synthguard) -> None:
    q = sg.reviewer.queue
    q.enqueue("低", priority=1)
    high = q.enqueue("高", priority=5)
    item = q.claim_next("alice")
    assert item is not None and item.id == high


def test_policy_file_rules_come_first(tmp_path: Path, settings: Settings) -> None:
    rules = tmp_path / "policy.json"
    rules.write_text('[{"service": "kids", "risk": "A.3", "action": "block"}]', "utf-8")
    with Synthguard.open(settings.model_copy(update={"review_policy_file": rules})) as core:
        core.reviewer.library.import_entries([Entry(term="示例广告词", category="A.3.b", action="review")])
        assert core.review_text("示例广告词", service="kids").action == "block"
        assert core.review_text("示例广告词", service="chat").action == "review"


def test_text_review_is_local_only_while_the_matcher_and_risks_are_fresh(sg_lib: Synthguard) -> None:
    """The gateway reviews on its event loop only when no store query can happen: a matcher
    polled within ``poll_s`` and the risk table of its version cached; a lapsed poll window or a
    remote moderation service sends the review back to a worker thread."""
    engine = sg_lib.reviewer
    engine.library._checked = -1e18  # as after start-up or a lapsed poll window
    assert engine.library.fresh() is None and not engine.text_review_is_local()
    sg_lib.review_text("你好", user_id="u1")  # polls the store and caches the risk table
    assert engine.library.fresh() is not None and engine.text_review_is_local()
    engine.library._checked -= engine.library.poll_s + 1  # the poll window lapses
    assert not engine.text_review_is_local()
    remote = sg_lib.settings.model_copy(update={"review_moderation_url": "http://127.0.0.1:9/moderate"})
    with Synthguard.open(remote) as other:
        other.review_text("你好", user_id="u1")
        assert not other.reviewer.text_review_is_local()
