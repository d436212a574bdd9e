"""Keyword review throughput and precision, beside the peers, in one run.

numbers.md (Review engine): a 20,000-entry library over 10 MB of Chinese text with normalization
on must reach >= 30 MB/s on one core; false hits per MB of clean text < 1; streaming < 2 us per
delta. Peers on the same text in the same run: ``pyahocorasick`` and ``ahocorasick-rs`` (raw, no
normalization), a pure-Python Aho-Corasick DFA (raw), ``daachorse`` raw, and the naive layered
normalization the research measured (NFKC + OpenCC + strip + dedupe, then pyahocorasick).

Run: ``.venv/bin/python benchmarks/review.py`` (``--mb 10 --entries 20000``); ``--only stream``
runs just the streaming section (seconds instead of a minute). Peers come from the ``bench`` extra;
a missing one is reported, not fatal.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.review.conftest import ALPHABET
from tests.review.corpus import fortunes_text, modern_text

from synthguard.review.keywords import STREAM_BATCH, Entry, IncrementalMatcher, Matcher

# ~3,500 frequent characters: the alphabet size at which pyahocorasick slows down on CJK.
COMMON = "".join(chr(c) for c in range(0x4E00, 0x4E00 + 3500))


def make_library(n: int, seed: int = 11) -> list[Entry]:
    rng = random.Random(seed)
    alphabet = ALPHABET + COMMON[:2000]
    terms: set[str] = set()
    while len(terms) < n:
        terms.add("".join(rng.choice(alphabet) for _ in range(rng.randint(3, 6))))
    entries = []
    for i, term in enumerate(sorted(terms)):
        # 1 % of entries ask for pinyin/homophones, 0.25 % for initials too (as a real library would).
        entries.append(Entry(term=term, category="A.1.h", pinyin=i % 100 == 0, initials=i % 400 == 0))
    return entries


def disguise(term: str, rng: random.Random) -> str:
    seps = ["*", " ", "·", "\u200b", "。", "✨"]
    return "".join(c * rng.randint(1, 2) + rng.choice(seps) for c in term[:-1]) + term[-1]


def make_text(mb: float, entries: list[Entry], seed: int = 2) -> tuple[str, int]:
    """Modern Chinese prose with a disguised library term planted about every 10 KB."""
    rng = random.Random(seed)
    base = modern_text(int(mb * 1024 * 1024 / 3), seed=seed)
    pieces: list[str] = []
    planted = 0
    step = 3400
    for i in range(0, len(base), step):
        pieces.append(base[i : i + step])
        pieces.append(disguise(rng.choice(entries).term, rng))
        planted += 1
    return "".join(pieces), planted


class PurePythonDFA:
    """Textbook Aho-Corasick with dict transitions: the no-dependency baseline."""

    def __init__(self, words: list[str]) -> None:
        self.goto: list[dict[str, int]] = [{}]
        self.out: list[list[int]] = [[]]
        self.fail: list[int] = [0]
        for index, word in enumerate(words):
            state = 0
            for ch in word:
                nxt = self.goto[state].get(ch)
                if nxt is None:
                    nxt = len(self.goto)
                    self.goto[state][ch] = nxt
                    self.goto.append({})
                    self.out.append([])
                    self.fail.append(0)
                state = nxt
            self.out[state].append(index)
        queue = list(self.goto[0].values())
        while queue:
            state = queue.pop(0)
            for ch, nxt in self.goto[state].items():
                queue.append(nxt)
                f = self.fail[state]
                while f and ch not in self.goto[f]:
                    f = self.fail[f]
                self.fail[nxt] = self.goto[f].get(ch, 0) if self.goto[f].get(ch, 0) != nxt else 0
                self.out[nxt] = self.out[nxt] + self.out[self.fail[nxt]]

    def count(self, text: str) -> int:
        goto, fail, out = self.goto, self.fail, self.out
        state = hits = 0
        for ch in text:
            while state and ch not in goto[state]:
                state = fail[state]
            state = goto[state].get(ch, 0)
            if out[state]:
                hits += len(out[state])
        return hits


def layered_normalize(text: str, t2s: Any) -> str:
    """The naive pipeline of the research: NFKC, OpenCC t2s, strip symbols, collapse repeats."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = t2s.convert(text)
    text = re.sub(r"[^\w]|_", "", text)
    return re.sub(r"(.)\1+", r"\1", text)


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times: list[float] = []
    result: Any = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def split_deltas(answer: str, seed: int) -> list[str]:
    """Cut an answer into SSE-like deltas of 1-4 characters (what LLM streams give for Chinese)."""
    rng = random.Random(seed)
    deltas: list[str] = []
    i = 0
    while i < len(answer):
        step = rng.randint(1, 4)
        deltas.append(answer[i : i + step])
        i += step
    return deltas


def timed_cpu(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median wall and median CPU (process) seconds: CPU time is steadier on a shared machine."""
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def stream_section(matcher: Matcher, entries: list[Entry], repeat: int) -> None:
    """Per-delta cost of ``IncrementalMatcher`` beside re-scanning the whole answer per delta."""
    clean = modern_text(2000, seed=5)
    rng = random.Random(9)
    base = modern_text(2000, seed=6)
    pieces: list[str] = []
    for i in range(0, len(base), 200):  # a disguised library term every ~200 characters
        pieces += [base[i : i + 200], disguise(rng.choice(entries).term, rng)]
    planted = "".join(pieces)
    answers = 20
    plain = Matcher.compile([Entry(term=e.term, category=e.category) for e in entries], version=1)

    def stream(m: Matcher, deltas: list[str], releasable: bool) -> Callable[[], None]:
        def run() -> None:
            for _ in range(answers):
                inc = IncrementalMatcher(m)
                if releasable:  # what the gateway does per delta
                    for d in deltas:
                        inc.feed(d)
                        inc.releasable  # noqa: B018
                else:
                    for d in deltas:
                        inc.feed(d)
                inc.finish()

        return run

    cases = [
        ("incremental, clean answer", matcher, split_deltas(clean, 3), False),
        ("incremental + releasable per delta (gateway)", matcher, split_deltas(clean, 3), True),
        ("incremental, answer with a hit every ~200 chars", matcher, split_deltas(planted, 4), True),
        ("incremental, library without pinyin entries", plain, split_deltas(clean, 3), True),
    ]
    print(
        f"\nstreaming: 2,000-char answers in deltas of 1-4 chars, {len(entries):,}-entry library, "
        f"hold-back {matcher.hold_back} normalized chars, scan batch {STREAM_BATCH} raw chars"
    )
    print(f"  {'':<50} {'wall us/delta':>14} {'CPU us/delta':>13}")
    first_cpu = 0.0
    for name, m, deltas, releasable in cases:
        wall, cpu = timed_cpu(stream(m, deltas, releasable), max(repeat, 5))
        n = answers * len(deltas)
        first_cpu = first_cpu or cpu / n
        print(f"  {name:<50} {wall / n * 1e6:14.2f} {cpu / n * 1e6:13.2f}")
    deltas = split_deltas(clean, 3)

    def rescan() -> None:
        acc = ""
        for d in deltas:
            acc += d
            matcher.scan(acc)

    wall, cpu = timed_cpu(rescan, 1)
    print(
        f"  {'re-scan the whole answer on every delta':<50} {wall / len(deltas) * 1e6:14.2f} "
        f"{cpu / len(deltas) * 1e6:13.2f}  ({cpu / len(deltas) / first_cpu:.0f}x)"
    )
    target = "meets" if first_cpu * 1e6 < 2 else "MISSES"
    print(f"  target < 2 us per delta: {target} ({first_cpu * 1e6:.2f} us CPU)")

    # The streamed findings must be the whole-text findings (same spans, variants, offsets).
    inc = IncrementalMatcher(matcher)
    found = [m for d in split_deltas(planted, 4) for m in inc.feed(d)] + inc.finish()
    key = lambda m: (m.entry.term, m.variant, m.start, m.end)  # noqa: E731
    bulk = sorted(map(key, matcher.scan(planted)))
    same = sorted(map(key, found)) == bulk
    print(f"  streamed findings == whole-text findings on the planted answer: {same} ({len(bulk)} findings)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=float, default=10.0)
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=("throughput", "precision", "stream"), help="run one section")
    args = parser.parse_args()

    entries = make_library(args.entries)
    words = [e.term for e in entries]
    # The 10 MB text is for the throughput section only (it takes seconds to generate).
    text, planted = make_text(args.mb if args.only in (None, "throughput") else 0.001, entries)
    mb = len(text.encode("utf-8")) / 1e6
    print(
        f"library: {len(entries):,} entries (1% pinyin/homophone, 0.25% initials); "
        f"text: {mb:.1f} MB UTF-8, {len(text):,} chars, {planted:,} disguised terms planted"
    )

    t0 = time.perf_counter()
    matcher = Matcher.compile(entries, version=1)
    compile_s = time.perf_counter() - t0
    if args.only in (None, "throughput"):
        rows: list[tuple[str, float, str]] = []
        sg_s, sg_hits = timed(lambda: matcher.scan(text), args.repeat)
        found_planted = len({m.start for m in sg_hits if m.variant == "term" and m.text != m.entry.term})
        rows.append(
            (
                "synthguard (normalize + daachorse + pinyin automaton + offsets)",
                mb / sg_s,
                f"{len(sg_hits):,} hits; {found_planted:,}/{planted:,} disguised terms found",
            )
        )

        plain = Matcher.compile([Entry(term=e.term, category=e.category) for e in entries], version=1)
        s, hits = timed(lambda: plain.scan(text), args.repeat)
        rows.append(("synthguard, same library without pinyin entries", mb / s, f"{len(hits):,} hits"))

        import daachorse

        raw_daac = daachorse.CharwiseDoubleArrayAhoCorasick(words)
        s, hits = timed(lambda: raw_daac.find_overlapping(text), args.repeat)
        rows.append(("daachorse raw (no normalization)", mb / s, f"{len(hits):,} hits"))

        try:
            import ahocorasick_rs

            rs = ahocorasick_rs.AhoCorasick(words)
            s, hits = timed(lambda: rs.find_matches_as_indexes(text, overlapping=True), args.repeat)
            rows.append(("ahocorasick-rs raw (no normalization)", mb / s, f"{len(hits):,} hits"))
        except ImportError:
            rows.append(("ahocorasick-rs raw", float("nan"), "not installed: pip install -e '.[bench]'"))

        pyac: Any = None
        try:
            import ahocorasick

            pyac = ahocorasick.Automaton()
            for i, w in enumerate(words):
                pyac.add_word(w, i)
            pyac.make_automaton()
            s, hits = timed(lambda: sum(1 for _ in pyac.iter(text)), args.repeat)
            rows.append(("pyahocorasick raw (no normalization)", mb / s, f"{hits:,} hits"))
        except ImportError:
            rows.append(("pyahocorasick raw", float("nan"), "not installed: pip install -e '.[bench]'"))

        dfa = PurePythonDFA(words)
        s, hits = timed(lambda: dfa.count(text), 1)
        rows.append(("pure-Python Aho-Corasick DFA raw", mb / s, f"{hits:,} hits"))

        if pyac is not None:
            import opencc

            t2s = opencc.OpenCC("t2s.json")
            norm_words = {layered_normalize(w, t2s) for w in words}
            layered = ahocorasick.Automaton()
            for i, w in enumerate(sorted(norm_words)):
                layered.add_word(w, i)
            layered.make_automaton()
            s, hits = timed(lambda: sum(1 for _ in layered.iter(layered_normalize(text, t2s))), 1)
            rows.append(
                ("layered NFKC+OpenCC+strip+dedupe -> pyahocorasick (no offsets)", mb / s, f"{hits:,} hits")
            )

        print(f"\ncompile 20k-entry matcher: {compile_s:.2f} s\n")
        print(f"{'matcher':<66} {'MB/s':>8} {'vs synthguard':>14}  notes")
        for name, rate, note in rows:
            ratio = rate / rows[0][1] if rate == rate else float("nan")
            print(f"{name:<66} {rate:8.1f} {ratio:13.2f}x  {note}")
        target = "meets" if rows[0][1] >= 30 else "MISSES"
        print(f"target >= 30 MB/s with normalization: {target} ({rows[0][1]:.1f} MB/s)")
    if args.only in (None, "precision"):
        # --- precision on clean text ---------------------------------------------------------------------
        clean_parts = {"generated modern prose": modern_text(700_000, seed=77)}
        fortunes = fortunes_text()
        if fortunes:
            clean_parts["Debian fortunes-zh"] = fortunes
        print(f"\n{'clean corpus':<28} {'MB':>6} {'false hits':>10} {'per MB':>8}  by variant")
        total_hits = 0
        total_mb = 0.0
        for name, clean in clean_parts.items():
            cmb = len(clean.encode("utf-8")) / 1e6
            hits = matcher.scan(clean)
            by: dict[str, int] = {}
            for h in hits:
                by[h.variant] = by.get(h.variant, 0) + 1
            total_hits += len(hits)
            total_mb += cmb
            print(f"{name:<28} {cmb:6.2f} {len(hits):10d} {len(hits) / cmb:8.2f}  {by or '-'}")
        rate = total_hits / total_mb

        class NoHomophoneRule(Matcher):
            def homophone_ok(self, index: int, span: str) -> bool:
                return True

        loose = NoHomophoneRule.compile(entries, version=1)
        loose_hits = sum(len(loose.scan(clean)) for clean in clean_parts.values())
        loose_rate = loose_hits / total_mb
        print(
            f"{'(ablation: homophones w/o':<28} {total_mb:6.2f} {loose_hits:10d} {loose_rate:8.2f}  "
            "the keep-half-the-characters rule)"
        )
        print(
            f"{'all clean text':<28} {total_mb:6.2f} {total_hits:10d} {rate:8.2f}  target < 1 per MB: "
            f"{'meets' if rate < 1 else 'MISSES'}"
        )
    if args.only in (None, "stream"):
        stream_section(matcher, entries, args.repeat)


if __name__ == "__main__":
    main()
