"""The keyword feature library: entries, CSV/JSON import and export, and the compiled matcher.

Deep Synthesis Provisions Art. 10 requires a feature library for identifying illegal and
undesirable information; TC260-003 (GB/T 45654-2025) Appendix A and section 8 size it (>= 10,000
entries over the 17 A.1/A.2 risks, >= 200 per A.1 risk, >= 100 per A.2 risk, weekly updates).

Matching runs on normalized text (``normalize.py``) with one compiled Aho-Corasick automaton
(``daachorse``, measured fastest on CJK: shared/research/gateway.md §0.4), plus a second automaton
over the pinyin sound projection for the few entries that ask for homophone/pinyin matching, and
Google RE2 for regex entries (linear time, so no pattern can hang the engine; backreferences and
look-arounds are refused at import). Offsets always point into the original text.

Match modes:

* ``exact``: the folded term anywhere (default for terms with Chinese characters);
* ``word``: the folded term, not glued to letters or digits on either side (default for ASCII);
* ``regex``: an RE2 pattern over the original text (at most ``MAX_REGEX_ENTRIES`` per library);
* ``near``: ``term`` and ``near`` both present, at most ``within`` normalized characters apart.

``pinyin=true`` adds typed-pinyin, mixed and homophone variants; ``initials=true`` adds pinyin
initials as a whole ASCII word (never by default: naive initials gave ~19,000 false hits per MB).
"""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import daachorse

from synthguard.errors import LibraryInvalid, PatternRejected
from synthguard.review import normalize as nz
from synthguard.review.taxonomy import Action

MODES = ("exact", "word", "regex", "near")
MAX_TERM_CHARS = 128
MAX_FOLDED_CHARS = 64  # bounds the stream hold-back window (max term length - 1)
MAX_WITHIN = 200
MAX_REGEX_CHARS = 256
MAX_REGEX_ENTRIES = 500
MAX_PINYIN_VARIANTS = 64
MAX_ENTRIES = 1_000_000
MAX_HITS_PER_SCAN = 100_000
REGEX_STREAM_WINDOW = 256
STREAM_BATCH = 8  # raw characters per stream scan (the open character included)
COLUMNS = ("term", "category", "action", "severity", "mode", "near", "within", "pinyin", "initials", "source")
_TRUE = {"1", "true", "yes", "y", "是", "t"}
_FALSE = {"", "0", "false", "no", "n", "否", "f"}

# Pattern kinds: what a hit of an automaton pattern means for its entry.
TERM, NEAR_A, NEAR_B, SOUND, INITIALS = range(5)
_VARIANT = {TERM: "term", NEAR_A: "near", NEAR_B: "near", SOUND: "pinyin", INITIALS: "initials"}


@dataclass(frozen=True)
class Entry:
    """One library entry; ``action`` empty means the category's default action."""

    term: str
    category: str
    action: str = ""
    severity: int = 3
    mode: str = "exact"
    near: str = ""
    within: int = 0
    pinyin: bool = False
    initials: bool = False
    source: str = ""

    def key(self) -> tuple[str, str, str, int]:
        """Identity for merging imports: same folded term, mode and companion = same entry."""
        if self.mode == "regex":
            return (self.mode, self.term, "", 0)
        return (self.mode, nz.fold_term(self.term), nz.fold_term(self.near), self.within)

    def to_row(self) -> dict[str, str]:
        return {
            "term": self.term,
            "category": self.category,
            "action": self.action,
            "severity": str(self.severity),
            "mode": self.mode,
            "near": self.near,
            "within": str(self.within) if self.mode == "near" else "",
            "pinyin": "true" if self.pinyin else "",
            "initials": "true" if self.initials else "",
            "source": self.source,
        }


@dataclass(frozen=True)
class Match:
    """A library hit: the entry, how it matched, and the span in the original text."""

    entry: Entry
    variant: str  # term | pinyin | initials | near | regex
    start: int
    end: int
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "term": self.entry.term,
            "category": self.entry.category,
            "severity": self.entry.severity,
            "mode": self.entry.mode,
            "variant": self.variant,
            "start": self.start,
            "end": self.end,
            "text": self.text,
        }


@dataclass
class RowProblem:
    row: int
    message: str


# --- parsing and serialization -----------------------------------------------------------------


def _bool(value: object, column: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{column}: expected true/false, got {value!r}")


def _int(value: object, column: str, lo: int, hi: int, default: int) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValueError(f"{column}: expected an integer, got {value!r}") from None
    if not lo <= number <= hi:
        raise ValueError(f"{column}: {number} is outside {lo}..{hi}")
    return number


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def compile_regex(pattern: str) -> Any:
    """Compile an RE2 pattern or raise ``PatternRejected`` (too long, invalid, matches empty)."""
    import re2

    if len(pattern) > MAX_REGEX_CHARS:
        raise PatternRejected(pattern[:40], f"longer than {MAX_REGEX_CHARS} characters")
    options = re2.Options()
    options.log_errors = False
    options.max_mem = 8 << 20
    try:
        compiled = re2.compile(pattern, options)
    except re2.error as exc:
        reason = (
            exc.args[0].decode("utf-8", "replace")
            if exc.args and isinstance(exc.args[0], bytes)
            else str(exc)
        )
        raise PatternRejected(
            pattern[:40],
            f"RE2 cannot compile it ({reason}); backreferences and look-arounds are not supported",
        ) from None
    if compiled.search("") is not None:
        raise PatternRejected(pattern[:40], "it matches the empty string, so it would match everywhere")
    return compiled


def entry_from_mapping(row: dict[str, Any]) -> Entry:
    """Validate one row (from CSV or JSON); raises ``ValueError`` with a message naming the column."""
    unknown = sorted(set(row) - set(COLUMNS))
    if unknown:
        raise ValueError(f"unknown column(s) {', '.join(unknown)}; allowed: {', '.join(COLUMNS)}")
    term = _text(row.get("term"))
    category = _text(row.get("category"))
    if not term:
        raise ValueError("term: empty")
    if not category:
        raise ValueError("category: empty")
    if len(term) > MAX_TERM_CHARS and _text(row.get("mode")) != "regex":
        raise ValueError(f"term: longer than {MAX_TERM_CHARS} characters")
    action = _text(row.get("action")).lower()
    if action and action not in {a.value for a in Action}:
        raise ValueError(f"action: {action!r} is not one of {', '.join(a.value for a in Action)}")
    folded = nz.fold_term(term)
    mode = _text(row.get("mode")).lower() or ("word" if folded.isascii() else "exact")
    if mode not in MODES:
        raise ValueError(f"mode: {mode!r} is not one of {', '.join(MODES)}")
    near = _text(row.get("near"))
    within = _int(row.get("within"), "within", 0, MAX_WITHIN, 10)
    entry = Entry(
        term=term,
        category=category,
        action=action,
        severity=_int(row.get("severity"), "severity", 1, 5, 3),
        mode=mode,
        near=near if mode == "near" else "",
        within=within if mode == "near" else 0,
        pinyin=_bool(row.get("pinyin", ""), "pinyin"),
        initials=_bool(row.get("initials", ""), "initials"),
        source=_text(row.get("source"))[:255],
    )
    if mode == "regex":
        compile_regex(term)
        if entry.pinyin or entry.initials:
            raise ValueError("pinyin/initials: not available for regex entries")
        return entry
    if not folded:
        raise ValueError(f"term: {term!r} has no letters or digits left after normalization")
    if len(folded) > MAX_FOLDED_CHARS:
        raise ValueError(f"term: longer than {MAX_FOLDED_CHARS} characters after normalization")
    if mode == "near":
        folded_near = nz.fold_term(near)
        if not folded_near:
            raise ValueError("near: mode near needs a second term in column 'near'")
        if len(folded_near) > MAX_FOLDED_CHARS:
            raise ValueError(f"near: longer than {MAX_FOLDED_CHARS} characters after normalization")
    if entry.pinyin or entry.initials:
        readings = nz.syllables_of(folded)
        if not any(readings):
            raise ValueError("pinyin/initials: the term has no Chinese characters to read")
        if any(
            r is None and not (c.isascii() and c.isalnum()) for r, c in zip(readings, folded, strict=True)
        ):
            raise ValueError(
                "pinyin/initials: every character must be a readable hanzi or an ASCII letter/digit"
            )
    return entry


def decode_utf8(data: bytes, what: str) -> str:
    from synthguard.errors import InvalidText

    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidText(f"{what} is not valid UTF-8 (byte {exc.start}: {exc.reason})") from None


def parse_rows(rows: Iterable[tuple[int, dict[str, Any]]]) -> tuple[list[Entry], list[RowProblem]]:
    entries: list[Entry] = []
    problems: list[RowProblem] = []
    for number, row in rows:
        if len(entries) + len(problems) >= MAX_ENTRIES:
            problems.append(RowProblem(number, f"more than {MAX_ENTRIES} rows"))
            break
        try:
            entries.append(entry_from_mapping(row))
        except PatternRejected as exc:
            problems.append(RowProblem(number, exc.message))
        except ValueError as exc:
            problems.append(RowProblem(number, str(exc)))
    return entries, problems


def read_csv(text: str) -> tuple[list[Entry], list[RowProblem]]:
    """Rows of a CSV whose header names the columns (``term,category`` at least)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "term" not in header or "category" not in header:
        raise LibraryInvalid(
            "the CSV header must name the columns, at least 'term,category' (optional: "
            + ", ".join(COLUMNS[2:])
            + ")",
            message_zh="CSV 首行须为列名，至少包含 term,category",
        )
    reader.fieldnames = header

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        try:
            for row in reader:
                if None in row:
                    yield reader.line_num, {"__extra__": row.pop(None), **row}
                    continue
                if not any((v or "").strip() for v in row.values()):
                    continue
                yield reader.line_num, {k: v for k, v in row.items() if k}
        except csv.Error as exc:
            raise LibraryInvalid(
                f"CSV line {reader.line_num}: {exc}", message_zh=f"CSV 第 {reader.line_num} 行格式错误：{exc}"
            ) from None

    return parse_rows(rows())


def read_json(text: str) -> tuple[list[Entry], list[RowProblem]]:
    """A JSON list of entry objects, or ``{"entries": [...]}`` as ``export`` writes it."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LibraryInvalid(f"not JSON: {exc}", message_zh=f"JSON 格式错误：{exc}") from None
    items = data.get("entries") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise LibraryInvalid("expected a list of entries or an object with 'entries'")
    rows: list[tuple[int, dict[str, Any]]] = []
    for index, item in enumerate(items, start=1):
        rows.append((index, item if isinstance(item, dict) else {"__not_an_object__": item}))
    return parse_rows(rows)


def read_library(data: bytes, name: str) -> tuple[list[Entry], list[RowProblem]]:
    """CSV or JSON by extension, or by the first non-blank character when the name does not say."""
    text = decode_utf8(data, name)
    lower = name.lower()
    if lower.endswith(".json") or (not lower.endswith(".csv") and text.lstrip()[:1] in ("[", "{")):
        return read_json(text)
    return read_csv(text)


def write_csv(entries: Sequence[Entry]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for entry in entries:
        writer.writerow(entry.to_row())
    return out.getvalue()


def write_json(entries: Sequence[Entry], version: int) -> str:
    items = []
    for e in entries:
        row: dict[str, Any] = {k: v for k, v in e.to_row().items() if v}
        row["severity"] = e.severity
        if e.mode == "near":
            row["within"] = e.within
        for flag in ("pinyin", "initials"):
            if flag in row:
                row[flag] = True
        items.append(row)
    return json.dumps({"schema": 1, "version": version, "entries": items}, ensure_ascii=False, indent=1)


# --- compiling and matching --------------------------------------------------------------------


def _pinyin_variants(folded: str) -> tuple[list[str], list[str]]:
    """Sound-space patterns (homophones, typed and mixed pinyin) and initials of a folded term."""
    from pypinyin import Style, lazy_pinyin

    defaults = nz.syllables_of(folded)
    phrase = lazy_pinyin(folded, style=Style.NORMAL, v_to_u=False, errors="default")
    options: list[list[str]] = []
    if len(phrase) == len(folded):
        phrase_syl = [p.replace("ü", "v") for p in phrase]
    else:  # pypinyin merged non-hanzi runs: fall back to per-character readings
        phrase_syl = [d or c for d, c in zip(defaults, folded, strict=True)]
    for ch, default, said in zip(folded, defaults, phrase_syl, strict=True):
        if default is None:
            options.append([ch])
            continue
        opts = [ch, default]
        if said != default and said.isascii():
            opts.append(said)
        options.append(opts)
    variants = nz.iter_variants(options, MAX_PINYIN_VARIANTS)
    if not variants:  # too many mixtures: keep the all-hanzi and the all-pinyin forms
        variants = [
            folded,
            "".join(d or c for d, c in zip(defaults, folded, strict=True)),
            "".join(phrase_syl),
        ]
    sounds = sorted({nz.to_sound(nz.fold_term(v)) for v in variants} - {""})
    initials = sorted(
        {
            nz.fold_term("".join((d or c)[0] for d, c in zip(syls, folded, strict=True)))
            for syls in (defaults, phrase_syl)
        }
        - {""}
    )
    return sounds, initials


def _is_word_char(ch: str) -> bool:
    folded = nz.tables().fold_str.get(ch, ch)
    return bool(folded) and folded.isalnum()


def _is_ascii_word_char(ch: str) -> bool:
    folded = nz.tables().fold_str.get(ch, ch)
    return bool(folded) and folded.isascii() and folded.isalnum()


@dataclass
class _Automaton:
    automaton: Any  # daachorse charwise (main) or bytewise over UTF-16-LE (sound)
    targets: list[list[tuple[int, int]]]  # pattern id -> [(entry index, kind)]
    edges: list[tuple[bool, bool]]  # pattern id -> (first char ASCII, last char ASCII)
    bytewise: bool = False
    longest: int = 0  # characters in the longest pattern: a stream re-scans longest - 1
    keys: list[str] = field(default_factory=list)  # bytewise only: the patterns, for ``charwise``
    _twin: tuple[Any, list[int]] | None = None

    def charwise(self) -> tuple[Any, list[int]]:
        """A charwise twin of the bytewise automaton and its pattern-id map, built on first use.

        The bytewise form is the fast one over megabytes; over the ~30 characters of a stream
        scan, encoding the window to UTF-16 costs more than the scan, so the stream matches the
        sound projection as a string. A pattern with a character outside the BMP is left out: the
        bulk projection turns such characters into U+FFFD, so it can never match there either.
        """
        if self._twin is None:
            ids = [i for i, k in enumerate(self.keys) if k and max(k) <= "\uffff"]
            twin = (
                daachorse.CharwiseDoubleArrayAhoCorasick(
                    [self.keys[i] for i in ids], daachorse.MATCH_KIND_STANDARD
                )
                if ids
                else None
            )
            self._twin = (twin, ids)
        return self._twin

    def find(self, text: str) -> list[tuple[int, int, int]]:
        if self.automaton is None or not text:
            return []
        hits: list[tuple[int, int, int]] = self.automaton.find_overlapping(text)
        return hits

    def find_units(self, data: bytes) -> list[tuple[int, int, int]]:
        """Hits over 2-byte code units, as character offsets (odd byte offsets are not hits)."""
        if self.automaton is None or not data:
            return []
        return [(s >> 1, e >> 1, pid) for s, e, pid in self.automaton.find_overlapping(data) if not s & 1]


def _build(patterns: dict[str, list[tuple[int, int]]], *, bytewise: bool = False) -> _Automaton:
    keys = list(patterns)
    if not keys:
        return _Automaton(None, [], [], bytewise)
    automaton: Any
    if bytewise:
        encoded = [k.encode("utf-16-le", "surrogatepass") for k in keys]
        automaton = daachorse.DoubleArrayAhoCorasick(encoded, daachorse.MATCH_KIND_STANDARD)
    else:
        automaton = daachorse.CharwiseDoubleArrayAhoCorasick(keys, daachorse.MATCH_KIND_STANDARD)
    edges = [(k[0].isascii(), k[-1].isascii()) for k in keys]
    return _Automaton(
        automaton, [patterns[k] for k in keys], edges, bytewise, max(map(len, keys)), keys if bytewise else []
    )


@dataclass
class Matcher:
    """A compiled library version: immutable, shared by every thread until the next reload."""

    version: int
    entries: list[Entry]
    main: _Automaton
    sound: _Automaton
    regexes: list[tuple[int, Any]]
    max_len: int  # longest folded pattern, for the stream hold-back
    near_span: int  # longest near window (len A + within + len B)
    uses_sound: bool = field(default=False)
    has_near: bool = field(default=False)
    folded: list[str] = field(default_factory=list)  # entry index -> folded term

    @classmethod
    def compile(cls, entries: Sequence[Entry], version: int = 0) -> Matcher:
        main: dict[str, list[tuple[int, int]]] = {}
        sound: dict[str, list[tuple[int, int]]] = {}
        regexes: list[tuple[int, Any]] = []
        max_len = 1
        near_span = 0
        for index, entry in enumerate(entries):
            if entry.mode == "regex":
                regexes.append((index, compile_regex(entry.term)))
                continue
            folded = nz.fold_term(entry.term)
            if not folded:
                continue
            max_len = max(max_len, len(folded))
            if entry.mode == "near":
                other = nz.fold_term(entry.near)
                main.setdefault(folded, []).append((index, NEAR_A))
                main.setdefault(other, []).append((index, NEAR_B))
                max_len = max(max_len, len(other))
                near_span = max(near_span, len(folded) + entry.within + len(other))
                continue
            main.setdefault(folded, []).append((index, TERM))
            if entry.pinyin or entry.initials:
                sounds, initials = _pinyin_variants(folded)
                if entry.pinyin:
                    for pattern in sounds:
                        max_len = max(max_len, len(pattern))
                        sound.setdefault(pattern, []).append((index, SOUND))
                if entry.initials:
                    for pattern in initials:
                        if len(pattern) >= 2:
                            sound.setdefault(pattern, []).append((index, INITIALS))
        if len(regexes) > MAX_REGEX_ENTRIES:
            raise LibraryInvalid(f"{len(regexes)} regex entries; at most {MAX_REGEX_ENTRIES} are allowed")
        return cls(
            version=version,
            entries=list(entries),
            main=_build(main),
            sound=_build(sound, bytewise=True),
            regexes=regexes,
            max_len=max_len,
            near_span=near_span,
            uses_sound=bool(sound),
            folded=[nz.fold_term(e.term) if e.mode != "regex" else "" for e in entries],
            has_near=near_span > 0 or any(e.mode == "near" for e in entries),
        )

    @property
    def hold_back(self) -> int:
        """Normalized characters a stream must hold back so no partial term is ever released."""
        return max(self.max_len, self.near_span) - 1

    def scan(self, text: str) -> list[Match]:
        """Every library hit in ``text`` with offsets into ``text`` (overlaps included)."""
        norm = nz.normalize(text)
        hits = self.main.find(norm.text)
        matches = self._resolve(norm, hits, self.main)
        if self.uses_sound:
            matches += self._resolve(norm, self.sound.find_units(nz.sound_bytes(norm)), self.sound)
        if self.has_near:
            matches += self._near(norm, hits)
        for index, pattern in self.regexes:
            for start, end in _regex_spans(pattern, text):
                matches.append(Match(self.entries[index], "regex", start, end, text[start:end]))
        return _dedupe(matches)

    def _resolve(
        self, norm: nz.Normalized, hits: list[tuple[int, int, int]], auto: _Automaton
    ) -> list[Match]:
        text = norm.original
        out: list[Match] = []
        for s, e, pid in hits[:MAX_HITS_PER_SCAN]:
            start, end = norm.span(s, e)
            first_ascii, last_ascii = auto.edges[pid]
            for index, kind in auto.targets[pid]:
                if kind in (NEAR_A, NEAR_B):
                    continue
                entry = self.entries[index]
                if not _bounded(text, start, end, entry, kind, first_ascii, last_ascii):
                    continue
                if kind == SOUND and not self.homophone_ok(index, norm.text[s:e]):
                    continue
                out.append(Match(entry, _VARIANT[kind], start, end, text[start:end]))
        return out

    def homophone_ok(self, index: int, span: str) -> bool:
        """An all-hanzi sound hit must keep at least half of the term's own characters.

        Evaders swap one or two characters for homophones; requiring the rest to stay keeps the
        homophone variant from firing on unrelated words that merely sound alike (measured on
        clean text: ~90 false hits per MB without this rule, see benchmarks/review.py).
        """
        if (
            not span.isascii()
            and len(span) == len(self.folded[index])
            and all(ord(c) >= 0x2E80 for c in span)
        ):
            same = sum(1 for a, b in zip(span, self.folded[index], strict=True) if a == b)
            return 2 * same >= len(span)
        return True

    def _near(self, norm: nz.Normalized, hits: list[tuple[int, int, int]]) -> list[Match]:
        by_entry: dict[int, tuple[list[tuple[int, int]], list[tuple[int, int]]]] = {}
        for s, e, pid in hits[:MAX_HITS_PER_SCAN]:
            for index, kind in self.main.targets[pid]:
                if kind == NEAR_A:
                    by_entry.setdefault(index, ([], []))[0].append((s, e))
                elif kind == NEAR_B:
                    by_entry.setdefault(index, ([], []))[1].append((s, e))
        out: list[Match] = []
        for index, (a_hits, b_hits) in by_entry.items():
            entry = self.entries[index]
            for a in a_hits:
                for b in b_hits:
                    if a == b:
                        continue
                    gap = max(b[0] - a[1], a[0] - b[1])
                    if gap <= entry.within:
                        start, end = norm.span(min(a[0], b[0]), max(a[1], b[1]))
                        out.append(Match(entry, "near", start, end, norm.original[start:end]))
        return out


def _bounded(
    text: str, start: int, end: int, entry: Entry, kind: int, first_ascii: bool, last_ascii: bool
) -> bool:
    """Word-boundary rule: ``word`` entries, and ASCII edges of pinyin/initials variants."""
    if kind == TERM and entry.mode == "word":
        # An ASCII edge only needs a non-ASCII-alphanumeric neighbour ("说badword了" is a word).
        before = _is_ascii_word_char if first_ascii else _is_word_char
        after = _is_ascii_word_char if last_ascii else _is_word_char
        return _starts_word(text, start, end, before) and _ends_word(text, start, end, after)
    if kind in (SOUND, INITIALS):
        if first_ascii and not _starts_word(text, start, end, _is_ascii_word_char):
            return False
        if last_ascii and not _ends_word(text, start, end, _is_ascii_word_char):
            return False
    return True


# The normalizer folds a repeated character into one run, across deleted characters: in
# "1c「csmgc」" the filler's "c" and the initials' first "c" are one run starting at the filler's.
# A word edge may then lie inside that run (after "「"), so both checks walk the run's repeats.


def _starts_word(text: str, start: int, end: int, is_word: Callable[[str], bool]) -> bool:
    """Some repeat of the span's first character begins a word (nothing word-like before it)."""
    first = nz.fold_char(text[start])
    q = start
    while True:
        if q == 0 or not is_word(text[q - 1]):
            return True
        q += 1
        while q < end and not nz.fold_char(text[q]):  # deleted characters inside the run
            q += 1
        if q >= end or nz.fold_char(text[q]) != first:
            return False


def _ends_word(text: str, start: int, end: int, is_word: Callable[[str], bool]) -> bool:
    """Some repeat of the span's last character ends a word (nothing word-like after it)."""
    last = nz.fold_char(text[end - 1])
    r = end
    while True:
        if r >= len(text) or not is_word(text[r]):
            return True
        r -= 1
        while r > start and not nz.fold_char(text[r - 1]):
            r -= 1
        if r <= start or nz.fold_char(text[r - 1]) != last:
            return False


def _regex_spans(pattern: Any, text: str) -> list[tuple[int, int]]:
    """Non-empty ``[start, end)`` of an RE2 pattern's matches, in characters of ``text``.

    RE2 reads UTF-8, which a lone surrogate (a JSON ``"\\ud800"`` escape decodes to one) cannot
    be encoded in: such a text is matched with each surrogate replaced by U+FFFD, one character
    for one, so the offsets still point into ``text``.
    """
    try:
        return [(m.start(), m.end()) for m in pattern.finditer(text) if m.end() > m.start()]
    except UnicodeEncodeError:
        safe = _SURROGATE.sub("\ufffd", text)
        return [(m.start(), m.end()) for m in pattern.finditer(safe) if m.end() > m.start()]


_SURROGATE = re.compile("[\ud800-\udfff]")


def _dedupe(matches: list[Match]) -> list[Match]:
    seen: set[tuple[int, int, int]] = set()
    out: list[Match] = []
    # "term" before "pinyin"/"initials" so an exact hit is reported as such.
    for m in sorted(matches, key=lambda m: (m.start, m.end, m.variant != "term")):
        key = (id(m.entry), m.start, m.end)
        if key not in seen:
            seen.add(key)
            out.append(m)
    return out


class IncrementalMatcher:
    """Keyword matching over a stream of deltas (SSE) with the findings of ``Matcher.scan``.

    Per delta the work is two appends and a length check: raw text is normalized and scanned in
    batches of ``STREAM_BATCH`` raw characters, each scan covering only the new normalized
    characters plus, per automaton, a tail of (its longest pattern - 1) already scanned ones, so
    a term split across deltas is found and nothing is scanned twice. A batch is normalized by
    one ``str.translate`` (a C loop over the fold table, deletions marked in place, so ``split``
    finds them); only a batch with a repeat to collapse is walked in Python. Original offsets
    are kept as a list of run starts for the last ``hold_back`` characters; the end of a run
    (repeats and separators folded into it) is worked out from the raw text only on a hit.

    The last normalized character stays unscanned ("open") until a different one follows: a
    repeat or a separator arriving in a later delta could still extend its run, and with it the
    end of a hit, so a hit is reported only once its end is final. That makes the streamed
    findings (offsets, variants, near pairs) identical to a whole-text scan of the same answer.

    ``releasable`` is the original offset up to which text can be sent to the client: no library
    term can start before it and still be unfinished or unreported. Regex entries run on segment
    boundaries (punctuation or line end, or every ``REGEX_STREAM_WINDOW`` characters) over a
    window of ``REGEX_STREAM_WINDOW`` original characters, so a regex hit is found by the end of
    its sentence, not mid-token.
    """

    __slots__ = (
        "_emitted",
        "_find",
        "_fold",
        "_hold",
        "_keep",
        "_limit",
        "_mhold",
        "_mtail",
        "_near_seen",
        "_norm_pos",
        "_pend",
        "_pend_at",
        "_raw",
        "_recent",
        "_recent_base",
        "_regex",
        "_regex_done",
        "_sfind",
        "_shold",
        "_sids",
        "_sound",
        "_stail",
        "_starts",
        "matcher",
    )

    def __init__(self, matcher: Matcher) -> None:
        self.matcher = matcher
        self._fold = nz.translate_table()
        self._sound = nz.sound_table()
        self._hold = matcher.hold_back  # normalized characters held back from the client
        self._find = matcher.main.automaton.find_overlapping if matcher.main.automaton else None
        twin, self._sids = matcher.sound.charwise() if matcher.sound.automaton else (None, [])
        self._sfind = twin.find_overlapping if twin is not None else None
        # Characters each scan re-reads (at least one, which is harmless, so slices stay simple).
        self._mhold = max(matcher.main.longest - 1, 1)
        self._shold = max(matcher.sound.longest - 1, 1)
        # Starts to keep: the hold-back for ``releasable``, each automaton's tail for mapping hits.
        self._keep = max(self._hold, self._mhold, self._shold) + 1
        self._mtail = ""  # the last ``_mhold`` scanned normalized characters
        self._stail = ""  # the sound projection of the last ``_shold`` ones
        self._raw: list[str] = []
        self._pend = ""  # raw text not scanned yet: from the open character's start to the end
        self._pend_at = 0
        # Original starts of the last ``_hold`` scanned normalized characters, then of the open one.
        self._starts: list[int] = []
        self._limit = 0  # ``releasable`` as far as keyword entries go
        self._norm_pos = 0  # scanned normalized characters so far
        self._near_seen: list[tuple[int, int, int, int, int, int]] = []  # entry, kind, start, end, ns, ne
        self._emitted: set[tuple[int, int, int]] = set()  # near pairs already reported
        self._regex = bool(matcher.regexes)
        self._regex_done = 0  # raw offset up to which regexes have run
        self._recent = ""  # the last few REGEX_STREAM_WINDOWs of raw text, for regexes
        self._recent_base = 0

    @property
    def raw_text(self) -> str:
        if len(self._raw) > 1:
            self._raw = ["".join(self._raw)]
        return self._raw[0] if self._raw else ""

    @property
    def releasable(self) -> int:
        if self._regex:
            return min(self._limit, self._regex_done)
        return self._limit

    def feed(self, delta: str) -> list[Match]:
        self._raw.append(delta)
        self._pend += delta
        if self._regex:
            return self._feed_regex(delta)
        # A scan costs about the same for 1 or 8 new characters: batch them (the hold-back grows
        # by at most STREAM_BATCH - 1 characters, a few tokens).
        if len(self._pend) < STREAM_BATCH:
            return []
        return self._scan(final=False)

    def _feed_regex(self, delta: str) -> list[Match]:
        out: list[Match] = []
        self._recent += delta
        raw_len = self._pend_at + len(self._pend)
        if _SEGMENT_END.search(delta) is not None or raw_len - self._regex_done >= REGEX_STREAM_WINDOW:
            out += self._regex_scan()
        if len(self._pend) >= STREAM_BATCH:
            out += self._scan(final=False)
        return out

    def finish(self) -> list[Match]:
        """Hits in the unscanned rest (the open character's run is final now) and regex hits."""
        out = self._scan(final=True) if self._pend else []
        self._limit = self._pend_at + len(self._pend)
        if self._regex:
            out += self._regex_scan()
        return out

    def _scan(self, *, final: bool) -> list[Match]:
        chunk = self._pend
        at = self._pend_at
        held = self._starts
        marked = chunk.translate(self._fold)  # aligned with chunk: deletions are marked
        if DELETED in marked:
            chars = marked.replace(DELETED, "")
            if not chars:  # only deleted characters, so no open one: nothing can start here
                self._pend = ""
                self._pend_at = self._limit = at + len(chunk)
                return []
        else:
            chars = marked
        # Once anything is held, the chunk begins with the open character, whose start is held.
        skip = 1 if held else 0
        if len(chars) > 1 and _REPEAT.search(chars) is not None:
            chars, starts = nz.fold_walk(marked, at)  # a run to collapse: walk it
            held += starts[skip:]
        elif chars is marked:  # nothing deleted, no repeat: normalized character i is chunk[i]
            held.extend(range(at + skip, at + len(chars)))
        else:  # the kept stretches between deletions map one to one
            mark = len(held)
            pos = at
            for piece in marked.split(DELETED):
                if piece:
                    held.extend(range(pos, pos + len(piece)))
                pos += len(piece) + 1
            if skip:
                del held[mark]
        closed = chars if final else chars[:-1]
        out: list[Match] = []
        if closed:
            top = len(held) if final else len(held) - 1  # held index one past the last closed one
            if self._find is not None:
                window = self._mtail + closed
                hits = self._find(window)
                if hits:
                    out += self._collect(hits, top - len(window), len(self._mtail), self.matcher.main)
                self._mtail = window[-self._mhold :]
            if self._sfind is not None:
                swindow = self._stail + closed.translate(self._sound)
                hits = self._sfind(swindow)
                if hits:
                    sids = self._sids
                    hits = [(s, e, sids[pid]) for s, e, pid in hits]
                    tail = len(self._stail)
                    out += self._collect(hits, top - len(swindow), tail, self.matcher.sound)
                self._stail = swindow[-self._shold :]
            self._norm_pos += len(closed)
            if len(out) > 1:
                out = _dedupe(out)
        if final:  # everything is scanned: the stream is over
            held.clear()
            self._pend = ""
            self._pend_at = self._limit = at + len(chunk)
            return out
        keep = self._hold + 1  # the last ``hold`` scanned characters and the open one
        if len(held) > self._keep + 64:  # trim in bulk: one memmove per 64 characters
            del held[: -self._keep]
        open_at = held[-1]
        self._pend = chunk[open_at - at :]
        self._pend_at = open_at
        self._limit = held[-keep] if len(held) >= keep else held[0]
        return out

    def _run_end(self, raw: str, index: int) -> int:
        """One past the last raw character folded into the run of held character ``index``."""
        held = self._starts
        end = held[index + 1] if index + 1 < len(held) else len(raw)
        start = held[index]
        while end - 1 > start and not nz.fold_char(raw[end - 1]):
            end -= 1
        return end

    def _collect(
        self, hits: list[tuple[int, int, int]], first: int, tail: int, auto: _Automaton
    ) -> list[Match]:
        """Matches of ``hits`` over a window whose character i is held character ``first + i``."""
        out: list[Match] = []
        raw = self.raw_text
        held = self._starts
        base = self._norm_pos - tail  # normalized stream position of window[0]
        entries = self.matcher.entries
        for s, e, pid in hits:
            if e <= tail:  # ended in the tail: reported by an earlier scan
                continue
            start = held[first + s]
            end = self._run_end(raw, first + e - 1)
            first_ascii, last_ascii = auto.edges[pid]
            for index, kind in auto.targets[pid]:
                entry = entries[index]
                if kind in (NEAR_A, NEAR_B):
                    out += self._near_hit(index, kind, start, end, base + s, base + e)
                    continue
                if kind == SOUND:
                    # The normalized span: run k starts with a kept character that folds to it.
                    span = "".join(nz.fold_char(raw[held[first + i]]) for i in range(s, e))
                    if not self.matcher.homophone_ok(index, span):
                        continue
                if _bounded(raw, start, end, entry, kind, first_ascii, last_ascii):
                    out.append(Match(entry, _VARIANT[kind], start, end, raw[start:end]))
        return out

    def _near_hit(self, index: int, kind: int, start: int, end: int, ns: int, ne: int) -> list[Match]:
        """Pair a hit of one side of a ``near`` entry with the other side's hits seen before.

        The same rule as ``Matcher._near``: gap ``max(b0 - a1, a0 - b1) <= within``, identical
        spans never pair, and the finding spans both hits.
        """
        entry = self.matcher.entries[index]
        out: list[Match] = []
        # Hits come in end order, so one ending before this horizon can pair with no later hit.
        horizon = ns - self.matcher.near_span - self.matcher.max_len
        seen = self._near_seen = [h for h in self._near_seen if h[5] >= horizon]
        for o_index, o_kind, o_start, o_end, o_ns, o_ne in seen:
            if o_index != index or o_kind == kind or (o_ns, o_ne) == (ns, ne):
                continue
            if max(ns - o_ne, o_ns - ne) <= entry.within:
                lo, hi = min(start, o_start), max(end, o_end)
                if (index, lo, hi) not in self._emitted:
                    self._emitted.add((index, lo, hi))
                    out.append(Match(entry, "near", lo, hi, self.raw_text[lo:hi]))
        seen.append((index, kind, start, end, ns, ne))
        return out

    def _regex_scan(self) -> list[Match]:
        raw_len = self._pend_at + len(self._pend)
        lo = max(self._recent_base, self._regex_done - REGEX_STREAM_WINDOW)
        window = self._recent[lo - self._recent_base :]
        out: list[Match] = []
        for index, pattern in self.matcher.regexes:
            for start, end in _regex_spans(pattern, window):
                if lo + end > self._regex_done:
                    out.append(
                        Match(self.matcher.entries[index], "regex", lo + start, lo + end, window[start:end])
                    )
        self._regex_done = raw_len
        keep_from = max(self._recent_base, raw_len - REGEX_STREAM_WINDOW)
        self._recent = self._recent[keep_from - self._recent_base :]
        self._recent_base = keep_from
        return out


_SEGMENT_END = re.compile("[。！？；.!?;\n，,]")
_REPEAT = re.compile(r"(.)\1", re.DOTALL)
DELETED = nz.DELETED


class MatcherCache:
    """Holds the compiled matcher and swaps it when the store's library version changes.

    ``get(current_version)`` is cheap when nothing changed; a rebuild happens once, under a lock, and
    readers keep using the old matcher until the new one is ready (no pause on hot reload).
    """

    def __init__(self) -> None:
        self._matcher: Matcher | None = None
        self._lock = threading.Lock()

    @property
    def current(self) -> Matcher | None:
        return self._matcher

    def install(self, matcher: Matcher) -> Matcher:
        with self._lock:
            if self._matcher is None or matcher.version >= self._matcher.version:
                self._matcher = matcher
            return self._matcher


def with_category(entry: Entry, category: str) -> Entry:
    return replace(entry, category=category)
