from __future__ import annotations

import contextlib
import random
import time
import unicodedata
from collections.abc import Callable
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthguard.errors import InvalidText, LibraryInvalid, PatternRejected
from synthguard.review.keywords import (
    Entry,
    IncrementalMatcher,
    Matcher,
    compile_regex,
    read_csv,
    read_json,
    read_library,
    write_csv,
    write_json,
)
from synthguard.review.normalize import EMOJI, fold_term, syllables_of
from tests.review.corpus import fortunes_text, modern_text

SEPARATORS = [
    "*",
    " ",
    "·",
    "-",
    "_",
    "/",
    "|",
    "\u200b",
    "\u200d",
    "\ufeff",
    "。",
    "！",
    "\u3000",
    "✨",
    "💫",
    "\u0301",
    "@",
    "#",
]
HOMOGLYPH_ASCII = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і", "s": "ѕ"}
LEET = {"o": "0", "i": "1", "e": "3", "a": "4", "s": "5", "t": "7", "b": "8"}
EMOJI_FOR = {v: k for k, v in EMOJI.items() if len(k) == 1 and len(v) == 1}


@cache
def _compat_variants() -> dict[str, str]:
    """A compatibility look-alike per CJK character (CJK compatibility ideographs, Kangxi radicals)."""
    out: dict[str, str] = {}
    for cp in list(range(0x2F00, 0x2FD6)) + list(range(0xF900, 0xFADA)):
        target = unicodedata.normalize("NFKC", chr(cp))
        if len(target) == 1:
            out.setdefault(target, chr(cp))
    return out


@cache
def _s2t_converter() -> object:
    import opencc

    return opencc.OpenCC("s2t.json")  # loading the dictionaries costs ~40 ms: once


def _s2t(term: str) -> str:
    return str(_s2t_converter().convert(term))  # type: ignore[attr-defined]


def _separators(term: str, rng: random.Random) -> str:
    return "".join(c + rng.choice(SEPARATORS) for c in term[:-1]) + term[-1]


def _fullwidth(term: str, rng: random.Random) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in term) + "\u3000"


def _case(term: str, rng: random.Random) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c for c in term)


def _repeats(term: str, rng: random.Random) -> str:
    return "".join(c * rng.randint(1, 3) for c in term)


def _homoglyphs(term: str, rng: random.Random) -> str:
    compat = _compat_variants()
    return "".join(HOMOGLYPH_ASCII.get(c, compat.get(c, c)) for c in term)


def _leet(term: str, rng: random.Random) -> str:
    return "".join(LEET.get(c, c) for c in term)


def _emoji(term: str, rng: random.Random) -> str:
    return "".join(EMOJI_FOR.get(c, c) for c in term)


def _combined(term: str, rng: random.Random) -> str:
    return _separators(_repeats(_fullwidth(_s2t(term), rng), rng), rng)


TRANSFORMS: dict[str, Callable[[str, random.Random], str]] = {
    "identity": lambda t, r: t,
    "traditional": lambda t, r: _s2t(t),
    "fullwidth": _fullwidth,
    "case": _case,
    "separators": _separators,
    "zero_width": lambda t, r: "\u200b".join(t),
    "repeats": _repeats,
    "homoglyphs": _homoglyphs,
    "leet": _leet,
    "emoji": _emoji,
    "combined": _combined,
}


def _pinyin_transforms(term: str, rng: random.Random) -> dict[str, str]:
    from pypinyin import Style, lazy_pinyin

    folded = fold_term(term)
    syl = syllables_of(folded)
    said = lazy_pinyin(folded, style=Style.NORMAL)
    out = {
        "pinyin_typed": " ".join(said),
        "pinyin_mixed": "".join(s if i % 2 else c for i, (c, s) in enumerate(zip(folded, said, strict=True))),
        "initials": " ".join(s[0] for s in said),
    }
    # A homophone: a different character with the same default reading at the first position.
    by_sound = _chars_by_syllable()
    first = syl[0]
    if first is not None:
        other = next((c for c in by_sound.get(first, []) if c != folded[0]), None)
        if other is not None:
            out["homophone"] = other + folded[1:]
    return out


@cache
def _chars_by_syllable() -> dict[str, list[str]]:
    common = "".join(chr(cp) for cp in range(0x4E00, 0x9FA6))
    folded = fold_term(common)  # simplified classes; repeats collapse, so read per character
    out: dict[str, list[str]] = {}
    for ch in dict.fromkeys(folded):
        (s,) = syllables_of(ch)
        if s is not None:
            out.setdefault(s, []).append(ch)
    return out


def _hit(matcher: Matcher, entry: Entry, text: str, lo: int, hi: int) -> bool:
    for m in matcher.scan(text):
        if m.entry == entry and lo <= m.start < m.end <= hi:
            assert m.text == text[m.start : m.end]
            return True
    return False


def test_full_recall_under_every_transform_with_original_offsets(
    matcher: Matcher, test_entries: list[Entry]
) -> None:
    rng = random.Random(3)
    misses: list[str] = []
    checked = 0
    for entry in test_entries:
        if entry.mode not in ("exact", "word"):
            continue
        for name, transform in TRANSFORMS.items():
            variant = transform(entry.term, rng)
            text = f"他说：「{variant}」。"
            lo = text.index(variant)
            checked += 1
            if not _hit(matcher, entry, text, lo, lo + len(variant)):
                misses.append(f"{name}: {entry.term} -> {variant!r}")
        if entry.pinyin or entry.initials:
            for name, variant in _pinyin_transforms(entry.term, rng).items():
                if name == "initials" and not entry.initials:
                    continue
                text = f"他说：{variant}。"
                lo = text.index(variant)
                checked += 1
                if not _hit(matcher, entry, text, lo, lo + len(variant)):
                    misses.append(f"{name}: {entry.term} -> {variant!r}")
    assert checked > 3000
    assert misses == []


def test_every_transform_changes_something(test_entries: list[Entry]) -> None:
    """The recall test is only worth something if each transform really disguises some term."""
    rng = random.Random(4)
    for name, transform in TRANSFORMS.items():
        if name == "identity":
            continue
        assert any(transform(e.term, rng) != e.term for e in test_entries if e.mode != "regex"), name


def test_near_mode_needs_both_terms_within_distance(matcher: Matcher) -> None:
    hits = [m for m in matcher.scan("示例甲方说了很多关于示例回扣的事") if m.variant == "near"]
    assert len(hits) == 1 and hits[0].text == "示例甲方说了很多关于示例回扣"
    assert not [
        m
        for m in matcher.scan("示例甲方我们今天在公司开会讨论新产品的设计方案示例回扣")
        if m.variant == "near"
    ]


def test_word_mode_respects_boundaries(matcher: Matcher) -> None:
    assert {m.text for m in matcher.scan("I said sampleblockword!")} == {"sampleblockword"}
    assert {m.text for m in matcher.scan("他说sampleblockword了")} == {"sampleblockword"}
    assert matcher.scan("xsampleblockwords") == []


def test_regex_entries_match_the_original_text(matcher: Matcher) -> None:
    hits = [m for m in matcher.scan("请加示例联系方式：abc_12345 谢谢") if m.variant == "regex"]
    assert [h.text for h in hits] == ["示例联系方式：abc_12345"]


def test_clean_generated_text_has_no_hits(matcher: Matcher) -> None:
    text = modern_text(300_000)
    assert matcher.scan(text) == []


def test_clean_fortunes_have_no_hits(matcher: Matcher) -> None:
    text = fortunes_text()
    if not text:
        pytest.fail("fortunes-zh is not installed (`make test` installs it)")
    assert len(text) > 500_000
    assert matcher.scan(text) == []


@settings(max_examples=150, deadline=None)
@given(
    prefix=st.text(alphabet="的一是在不了有和人这中大 ，。abc", max_size=20),
    suffix=st.text(alphabet="的一是在不了有和人这中大 ，。abc", max_size=20),
    cuts=st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=20),
    which=st.integers(min_value=0, max_value=15),
)
def test_stream_matching_finds_what_bulk_finds_and_never_releases_a_partial_term(
    matcher: Matcher, test_entries: list[Entry], prefix: str, suffix: str, cuts: list[int], which: int
) -> None:
    entry = [e for e in test_entries if e.mode == "exact"][which]
    text = prefix + "示*" + entry.term + suffix
    inc = IncrementalMatcher(matcher)
    found: set[tuple[str, int, int]] = set()
    pos = i = 0
    while pos < len(text):
        step = cuts[i % len(cuts)]
        for m in inc.feed(text[pos : pos + step]):
            found.add((m.entry.term, m.start, m.end))
        pos += step
        i += 1
        # Text before `releasable` can go to the client: no term may be unfinished there.
        released = text[: inc.releasable]
        term_at = text.find(entry.term)
        if term_at != -1 and term_at < len(released):
            assert any(t == entry.term for t, _, _ in found), "a term was released before it was matched"
    for m in inc.finish():
        found.add((m.entry.term, m.start, m.end))
    bulk = {(m.entry.term, m.start, m.end) for m in matcher.scan(text) if m.variant != "regex"}
    assert bulk <= found


# --- bad input ------------------------------------------------------------------------------------


def test_csv_with_only_term_and_category_imports_with_defaults() -> None:
    entries, problems = read_csv("term,category\n示例违禁词,A.1.h\nsamplebad,自定义类别\n")
    assert problems == []
    assert entries[0].mode == "exact" and entries[0].severity == 3 and entries[0].action == ""
    assert entries[1].mode == "word"  # ASCII terms default to whole-word matching


def test_malformed_rows_are_reported_with_row_numbers() -> None:
    text = (
        "term,category,action,mode,within\n"
        "好词,A.1.h,explode,,\n,A.1.h,,,\n***,A.1.h,,,\n甲,A.1.h,,near,5\n乙,A.1.h,,exact,9999\n"
    )
    entries, problems = read_csv(text)
    assert entries == [] or all(e.term != "好词" for e in entries)
    messages = {p.row: p.message for p in problems}
    assert "action" in messages[2]
    assert "term: empty" in messages[3]
    assert "no letters" in messages[4]
    assert "near" in messages[5]


def test_unknown_columns_and_missing_header_are_refused() -> None:
    _, problems = read_csv("term,category,colour\n示例,A.1.h,red\n")
    assert "unknown column" in problems[0].message
    with pytest.raises(LibraryInvalid, match="header"):
        read_csv("示例违禁词,A.1.h\n")


def test_invalid_utf8_library_is_refused_with_the_byte_offset() -> None:
    with pytest.raises(InvalidText, match="byte 24"):
        read_library(
            "term,category\n示例词,A\xff".encode("utf-8", "surrogateescape")[:24] + b"\xff\xfe", "x.csv"
        )


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?=a)b", r"(?<=x)y"])
def test_regexes_re2_cannot_run_in_linear_time_are_rejected(pattern: str) -> None:
    with pytest.raises(PatternRejected, match="RE2"):
        compile_regex(pattern)


def test_regex_matching_everything_is_rejected() -> None:
    with pytest.raises(PatternRejected, match="empty string"):
        compile_regex("a*")


def test_catastrophic_regex_runs_in_linear_time() -> None:
    matcher = Matcher.compile([Entry(term="(a+)+$", category="A.1.h", mode="regex")])
    text = "a" * 200_000 + "!"
    t0 = time.perf_counter()
    matcher.scan(text)
    assert time.perf_counter() - t0 < 2.0


def test_csv_and_json_round_trip(test_entries: list[Entry]) -> None:
    assert read_csv(write_csv(test_entries))[0] == test_entries
    assert read_json(write_json(test_entries, 3))[0] == test_entries


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_csv_text_gives_entries_problems_or_a_library_error(text: str) -> None:
    try:
        entries, _ = read_csv("term,category,action,mode,near,within\n" + text)
    except LibraryInvalid:
        return
    assert all(e.term and e.category for e in entries)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_json_text_gives_entries_problems_or_a_library_error(text: str) -> None:
    with contextlib.suppress(LibraryInvalid):
        read_json(text)


def test_a_word_edge_inside_a_run_of_repeats_still_counts() -> None:
    """The normalizer folds "c「c" into one "c": the filler's letter and the term's first letter
    share a run, and the word edge (after "「") lies inside it. Found by the streaming property test."""
    initials = Entry(term="测试敏感词", category="A.1.h", action="block", initials=True)
    word = Entry(term="testbanned", category="P.demo", mode="word")
    matcher = Matcher.compile([initials, word], version=1)

    def terms(text: str) -> set[str]:
        return {m.entry.term for m in matcher.scan(text)}

    assert terms("1c「c s m g c」") == {"测试敏感词"}
    assert terms("1c「csmgc」c2") == {"测试敏感词"}  # and the end edge inside the closing run
    assert terms("x「testbanned」d9") == {"testbanned"}
    assert terms("t「testbanned") == {"testbanned"}
    # No edge anywhere in the run: still not a word.
    assert terms("1ccsmgc") == set()
    assert terms("xcsmgcx") == set()
    assert terms("xttestbanned") == set()
