"""The hold-back guard on its own: over any split of the answer into deltas, no part of a blocked
term is ever released, masks cover exactly the term, and the SSE reader keeps events intact."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthguard.gateway.streaming import TextGuard, sse_events
from synthguard.review import Entry, Match, Matcher, ReviewDecision

TERM = "示例违禁词"
MASKED = "样例遮蔽词"
MATCHER = Matcher.compile(
    [Entry(term=TERM, category="A.1.h", action="block"), Entry(term=MASKED, category="A.2.g", action="mask")],
    version=1,
)


def action_for(m: Match) -> str:
    return m.entry.action


def run(deltas: list[str], **kw: object) -> tuple[str, bool, list[str]]:
    guard = TextGuard(MATCHER, action_for, **kw)  # type: ignore[arg-type]
    out, sent_after_each = [], []
    stopped = False
    for d in deltas:
        r = guard.feed(d)
        out.append(r.text)
        sent_after_each.append("".join(out))
        if r.stopped:
            stopped = True
            break
    if not stopped:
        r = guard.finish()
        out.append(r.text)
        stopped = r.stopped
    return "".join(out), stopped, sent_after_each


def splits(text: str) -> st.SearchStrategy[list[str]]:
    return st.lists(st.integers(0, len(text)), max_size=12).map(
        lambda cuts: [text[a:b] for a, b in zip([0, *sorted(cuts)], [*sorted(cuts), len(text)], strict=True)]
    )


SAFE = st.text(alphabet="甲乙丙丁戊己庚辛，。ab ", max_size=30)


@settings(max_examples=300, deadline=None)
@given(st.data(), SAFE, SAFE)
def test_blocked_term_is_never_released_in_any_split(data: st.DataObject, before: str, after: str) -> None:
    text = before + TERM + after
    deltas = data.draw(splits(text))
    released, stopped, _ = run(deltas)
    assert stopped and released == before


@settings(max_examples=200, deadline=None)
@given(st.data(), SAFE, SAFE)
def test_masked_term_is_starred_and_the_rest_is_intact(data: st.DataObject, before: str, after: str) -> None:
    text = before + MASKED + after
    released, stopped, _ = run(data.draw(splits(text)))
    assert not stopped and released == before + "*" * len(MASKED) + after


@settings(max_examples=100, deadline=None)
@given(st.data(), SAFE)
def test_clean_text_is_released_in_full_and_in_order(data: st.DataObject, text: str) -> None:
    released, stopped, progress = run(data.draw(splits(text)))
    assert not stopped and released == text
    assert all(text.startswith(p) for p in progress)


def test_audit_mode_forwards_everything_and_only_records_the_hit() -> None:
    guard = TextGuard(MATCHER, action_for, mode="audit")
    text = "".join(guard.feed(d).text for d in ["前", "示例违", "禁词", "后"]) + guard.finish().text
    assert text == "前示例违禁词后" and [a for _, a in guard.hits] == ["block"]


def test_on_hit_stop_turns_a_mask_into_a_stop() -> None:
    released, stopped, _ = run(["前", MASKED, "后"], on_hit="stop")
    assert stopped and released == "前"


def test_strict_mode_holds_each_sentence_until_its_full_review_passes() -> None:
    reviewed: list[str] = []

    def review(segment: str) -> ReviewDecision:
        reviewed.append(segment)
        action = "block" if "电话" in segment else "pass"
        return ReviewDecision(action=action, service="chat", direction="out")

    guard = TextGuard(MATCHER, action_for, mode="strict", review_segment=review)
    first = guard.feed("第一句话没问题。第二句")
    assert "第一句话没问题。".startswith(first.text) and "第二" not in first.text  # the open sentence is held
    second = guard.feed("有电话号码。第三句")
    assert second.stopped and first.text + second.text == "第一句话没问题。"
    assert reviewed == ["第一句话没问题。", "第二句有电话号码。"]


def test_sse_reader_joins_multiline_data_and_skips_comments() -> None:
    async def lines() -> AsyncIterator[str]:
        for line in [": keep-alive", "", "data: a", "data: b", "", "event: x", "data:c", ""]:
            yield line

    async def collect() -> list[str]:
        return [e async for e in sse_events(lines())]

    assert asyncio.run(collect()) == ["a\nb", "c"]


@pytest.mark.parametrize("mode", ["balanced", "strict"])
def test_release_never_runs_ahead_of_the_hold_back_window(mode: str) -> None:
    guard = TextGuard(
        MATCHER,
        action_for,
        mode=mode,
        review_segment=lambda s: ReviewDecision(action="pass", service="chat", direction="out"),
    )
    out = ""
    for ch in "甲乙丙丁戊己庚辛" * 3:
        out += guard.feed(ch).text
        assert len(guard.raw) - len(out) >= min(len(guard.raw), MATCHER.hold_back) or mode == "strict"


@pytest.mark.parametrize("mode", ["balanced", "strict", "audit"])
def test_a_long_answer_is_released_whole_without_rejoining_the_text_per_delta(mode: str) -> None:
    """An LLM answer is hundreds of deltas: each delta must cost its own size, not the answer's
    (the guard once re-joined the whole answer on every delta). The matcher keeps the deltas as a
    list that only ``raw`` joins, so the list length shows whether anything joined it mid-stream."""

    def review(segment: str) -> ReviewDecision:  # strict mode: mask one digit of each sentence
        masked = segment.replace("7", "*")
        return ReviewDecision(
            action="mask" if masked != segment else "pass",
            service="chat",
            direction="out",
            masked_text=masked if masked != segment else None,
        )

    sentence = "甲乙丙丁，电话7号。ab cd! "
    deltas = [sentence[i : i + 3] for i in range(0, len(sentence), 3)] * 60
    guard = TextGuard(MATCHER, action_for, mode=mode, review_segment=review if mode == "strict" else None)
    out = [guard.feed(d).text for d in deltas]
    assert guard._inc is not None and len(guard._inc._raw) == len(deltas)  # never re-joined
    out.append(guard.finish().text)
    whole = "".join(deltas)
    assert "".join(out) == (whole.replace("7", "*") if mode == "strict" else whole)
    assert guard.raw == whole and guard.sent == len(whole)
