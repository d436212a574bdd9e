"""Streamed matching finds exactly what a whole-text scan finds, whatever the delta boundaries.

The gateway reviews an SSE answer delta by delta (``IncrementalMatcher``) and releases text only
up to ``releasable``. Two guarantees are checked on random answers with disguised library terms
planted in them (every evasion transform of the recall test, pinyin variants where the entry asks
for them, ``near`` pairs) and cut at random delta boundaries:

* the streamed findings (keyword, pinyin, initials and near variants, with original offsets) are
  identical to ``Matcher.scan`` on the whole answer;
* no character of a finding is ever released before the finding is reported.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthguard.review.keywords import Entry, IncrementalMatcher, Match, Matcher
from tests.review.test_keywords import TRANSFORMS, _pinyin_transforms

FILLER = "的一是在不了有和人这中大我们今天公司 ，。！、？abcXYZ 12\n*·✨\u200b"
NEAR_PAIRS = [("示例甲方", "示例回扣", 10)]


@dataclass(frozen=True)
class Library:
    """The test library, with a short repr (hypothesis prints the arguments of a failing case)."""

    matcher: Matcher
    plantable: list[Entry]

    def __repr__(self) -> str:
        return f"Library({len(self.matcher.entries)} entries)"


@pytest.fixture(scope="module")
def lib(matcher: Matcher, test_entries: list[Entry]) -> Library:
    return Library(matcher, [e for e in test_entries if e.mode in ("exact", "word")])


def _key(m: Match) -> tuple[str, str, str, int, int, str]:
    return (m.entry.term, m.entry.category, m.variant, m.start, m.end, m.text)


@st.composite
def answers(draw: st.DrawFn, entries: list[Entry]) -> tuple[str, list[tuple[Entry, int, int]]]:
    """Filler text with 1-4 disguised library terms (and sometimes a near pair) planted in it."""
    rng = random.Random(draw(st.integers(min_value=0, max_value=2**32 - 1)))
    pieces: list[str] = []
    planted: list[tuple[Entry, int, int]] = []
    pos = 0
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        filler = draw(st.text(alphabet=FILLER, max_size=12))
        entry = entries[draw(st.integers(min_value=0, max_value=len(entries) - 1))]
        variants = {name: fn(entry.term, rng) for name, fn in TRANSFORMS.items()}
        if entry.pinyin or entry.initials:
            extra = _pinyin_transforms(entry.term, rng)
            if not entry.initials:
                extra.pop("initials", None)
            variants.update(extra)
        name = draw(st.sampled_from(sorted(variants)))
        # A word entry, or pinyin spelled in letters, needs a non-letter neighbour to be a word:
        # the recall test plants terms between Chinese punctuation, so do the same here.
        variant = f"「{variants[name]}」"
        pieces += [filler, variant]
        planted.append((entry, pos + len(filler), pos + len(filler) + len(variant)))
        pos += len(filler) + len(variant)
    if draw(st.booleans()):
        a, b, within = NEAR_PAIRS[0]
        gap = draw(st.text(alphabet=FILLER, max_size=within + 4))
        pieces.append(a + gap + b)
    pieces.append(draw(st.text(alphabet=FILLER, max_size=12)))
    return "".join(pieces), planted


def _stream(matcher: Matcher, text: str, cuts: list[int]) -> tuple[list[Match], list[Match]]:
    """Feed ``text`` cut by ``cuts``; check the release guarantee against the whole-text findings."""
    bulk = [m for m in matcher.scan(text) if m.variant != "regex"]
    inc = IncrementalMatcher(matcher)
    found: list[Match] = []
    pos = i = 0
    while pos < len(text):
        step = cuts[i % len(cuts)]
        found += [m for m in inc.feed(text[pos : pos + step]) if m.variant != "regex"]
        pos += step
        i += 1
        released = inc.releasable
        assert released <= pos
        reported = {_key(m) for m in found}
        for m in bulk:
            assert _key(m) in reported or released <= m.start, f"released {text[:released]!r} before {m}"
    found += [m for m in inc.finish() if m.variant != "regex"]
    assert inc.raw_text == text
    return found, bulk


@settings(max_examples=300, deadline=None)
@given(data=st.data(), cuts=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=12))
def test_streamed_findings_equal_whole_text_findings(
    lib: Library, data: st.DataObject, cuts: list[int]
) -> None:
    text, planted = data.draw(answers(lib.plantable))
    found, bulk = _stream(lib.matcher, text, cuts)
    assert sorted(map(_key, found)) == sorted(map(_key, bulk))
    for m in found:
        assert m.text == text[m.start : m.end]
    # Recall: every planted term is found where it was planted (a repeat of its first or last
    # character in the filler next to it joins the run, so the span may reach into the filler).
    for entry, lo, hi in planted:
        assert any(m.entry == entry and m.start < hi and m.end > lo for m in found), (entry.term, text[lo:hi])


@settings(max_examples=100, deadline=None)
@given(
    text=st.text(max_size=60),
    cuts=st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=12),
)
def test_streamed_findings_equal_whole_text_findings_on_any_text(
    lib: Library, text: str, cuts: list[int]
) -> None:
    found, bulk = _stream(lib.matcher, text, cuts)
    assert sorted(map(_key, found)) == sorted(map(_key, bulk))


def test_repeated_last_character_extends_the_span_like_the_whole_text_scan(matcher: Matcher) -> None:
    entry = next(e for e in matcher.entries if e.mode == "exact" and e.term.startswith("示例"))
    text = entry.term + entry.term[-1] * 3 + "*" + entry.term[-1] + "。好"
    found, bulk = _stream(matcher, text, [1])
    assert sorted(map(_key, found)) == sorted(map(_key, bulk))
    assert [(m.start, m.end) for m in found if m.entry == entry] == [(0, len(entry.term) + 5)]


def test_odd_deltas_empty_nul_surrogates_and_one_big_delta(lib: Library) -> None:
    entry = next(e for e in lib.plantable if e.mode == "exact" and e.term.startswith("示例"))
    term = entry.term
    text = f"前\x00{term[0]}\ud800{term[1:]}后{term}{term[-1]}\U0001f600。" * 3
    for cuts in ([1], [3, 0, 2], [len(text)]):
        inc = IncrementalMatcher(lib.matcher)
        found: list[Match] = []
        pos = i = 0
        while pos < len(text):
            step = cuts[i % len(cuts)]
            found += inc.feed(text[pos : pos + step])
            pos += step
            i += 1
        found += inc.finish()
        bulk = lib.matcher.scan(text)
        assert sorted(map(_key, found)) == sorted(map(_key, bulk))
        assert sum(m.entry == entry for m in found) == 6
