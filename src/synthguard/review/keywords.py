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
import threading
from collections.abc import Iterable, Iterator, Sequence
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
STREAM_BATCH = 8  # normalized characters per stream scan
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
    return _Automaton(automaton, [patterns[k] for k in keys], edges, bytewise)


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
            for m in pattern.finditer(text):
                if m.end() > m.start():
                    matches.append(Match(self.entries[index], "regex", m.start(), m.end(), m.group(0)))
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
        return (start == 0 or not before(text[start - 1])) and (end >= len(text) or not after(text[end]))
    if kind in (SOUND, INITIALS):
        if first_ascii and start > 0 and _is_ascii_word_char(text[start - 1]):
            return False
        if last_ascii and end < len(text) and _is_ascii_word_char(text[end]):
            return False
    return True


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
    """Keyword matching over a stream of deltas (SSE), ~1-2 us per delta.

    Keeps the last ``hold_back`` normalized characters as a tail window and scans only tail + new,
    reporting hits that end in the new part. ``releasable`` is the original offset up to which text
    can be sent to the client: no library term can start before it and still be incomplete.
    Regex entries run on segment boundaries (punctuation or line end, or every
    ``REGEX_STREAM_WINDOW`` characters) over a window of ``REGEX_STREAM_WINDOW`` original
    characters, so a regex hit is found by the end of its sentence, not mid-token.
    """

    def __init__(self, matcher: Matcher) -> None:
        self.matcher = matcher
        self._norm = nz.StreamNormalizer()
        self._hold = matcher.hold_back
        self._tail = ""
        self._stail = b""
        self._tail_starts: list[int] = []
        self._raw: list[str] = []
        self._raw_len = 0
        self._pending: list[Match] = []
        self._near_seen: list[tuple[int, int, int, int]] = []  # (entry, kind, orig start, norm end)
        self._norm_pos = 0
        self._find = matcher.main.automaton.find_overlapping if matcher.main.automaton else None
        self._sfind = matcher.sound.automaton.find_overlapping if matcher.sound.automaton else None
        self._regex = bool(matcher.regexes)
        self._regex_done = 0  # raw offset up to which regexes have run
        self._recent = ""  # the last few REGEX_STREAM_WINDOWs of raw text, for regexes
        self._batch = ""  # normalized characters not scanned yet
        self._batch_starts: list[int] = []
        self._recent_base = 0

    @property
    def raw_text(self) -> str:
        if len(self._raw) > 1:
            self._raw = ["".join(self._raw)]
        return self._raw[0] if self._raw else ""

    @property
    def releasable(self) -> int:
        if self._tail_starts and self._hold:
            limit = self._tail_starts[0]
        elif self._batch_starts:
            limit = self._batch_starts[0]
        else:
            limit = self._raw_len
        if self._batch_starts:
            limit = min(limit, self._batch_starts[0])
        if self._regex:
            limit = min(limit, self._regex_done)
        if self._pending:
            limit = min(limit, *(m.start for m in self._pending))
        return limit

    def feed(self, delta: str) -> list[Match]:
        self._raw.append(delta)
        self._raw_len += len(delta)
        chars, starts = self._norm.feed(delta)
        out = self._recheck_pending(final=False) if self._pending else []
        segment_end = not _SEGMENT_END.isdisjoint(delta)
        if self._regex:
            self._recent += delta
            if segment_end or self._raw_len - self._regex_done >= REGEX_STREAM_WINDOW:
                out += self._regex_scan(final=False)
        if chars:
            # Scanning costs the same for 1 or 8 new characters: batch them (the hold-back grows
            # by at most STREAM_BATCH - 1 characters, a few tokens).
            self._batch += chars
            self._batch_starts += starts
        if len(self._batch) >= STREAM_BATCH or (segment_end and self._batch):
            out += self._scan_batch()
        return out

    def _scan_batch(self) -> list[Match]:
        chars, starts = self._batch, self._batch_starts
        self._batch, self._batch_starts = "", []
        out: list[Match] = []
        tail_len = len(self._tail)
        window = self._tail + chars
        wstarts = self._tail_starts + starts
        if self._find is not None:
            hits = self._find(window)
            if hits:
                out += self._collect(hits, window, wstarts, tail_len, self.matcher.main)
        hold = self._hold
        if self._sfind is not None:
            swindow = self._stail + nz.sound_bytes_of(chars)
            shits = self._sfind(swindow)
            if shits:
                units = [(s >> 1, e >> 1, pid) for s, e, pid in shits if not s & 1]
                out += self._collect(units, window, wstarts, tail_len, self.matcher.sound)
            self._stail = swindow[-2 * hold :] if hold else b""
        self._norm_pos += len(chars)
        if hold:
            self._tail = window[-hold:]
            self._tail_starts = wstarts[-hold:]
        else:
            self._tail, self._tail_starts = "", []
        return out

    def finish(self) -> list[Match]:
        """Hits still in the batch, or waiting for a right boundary or a segment end."""
        out = self._scan_batch() if self._batch else []
        out += self._recheck_pending(final=True)
        if self._regex:
            out += self._regex_scan(final=True)
        return out

    def _collect(
        self,
        hits: list[tuple[int, int, int]],
        window: str,
        wstarts: list[int],
        tail_len: int,
        auto: _Automaton,
    ) -> list[Match]:
        out: list[Match] = []
        raw = self.raw_text
        base = self._norm_pos - tail_len
        for s, e, pid in hits:
            if e <= tail_len:
                continue
            start = wstarts[s]
            end = wstarts[e - 1] + 1
            first_ascii, last_ascii = auto.edges[pid]
            for index, kind in auto.targets[pid]:
                entry = self.matcher.entries[index]
                if kind in (NEAR_A, NEAR_B):
                    out += self._near_hit(index, kind, start, end, base + s, base + e)
                    continue
                if kind == SOUND and not self.matcher.homophone_ok(index, window[s:e]):
                    continue
                m = Match(entry, _VARIANT[kind], start, end, raw[start:end])
                if end >= len(raw) and _needs_right_boundary(entry, kind, last_ascii):
                    self._pending.append(m)
                    continue
                if _bounded(raw, start, end, entry, kind, first_ascii, last_ascii):
                    out.append(m)
        return out

    def _near_hit(self, index: int, kind: int, start: int, end: int, ns: int, ne: int) -> list[Match]:
        entry = self.matcher.entries[index]
        out: list[Match] = []
        horizon = ns - self.matcher.near_span
        self._near_seen = [h for h in self._near_seen if h[3] >= horizon]
        for other_index, other_kind, other_start, other_ne in self._near_seen:
            if other_index == index and other_kind != kind and ns - other_ne <= entry.within:
                out.append(Match(entry, "near", other_start, end, self.raw_text[other_start:end]))
        self._near_seen.append((index, kind, start, ne))
        return out

    def _regex_scan(self, *, final: bool) -> list[Match]:
        lo = max(self._recent_base, self._regex_done - REGEX_STREAM_WINDOW)
        window = self._recent[lo - self._recent_base :]
        out: list[Match] = []
        for index, pattern in self.matcher.regexes:
            for m in pattern.finditer(window):
                if lo + m.end() > self._regex_done and m.end() > m.start():
                    out.append(
                        Match(self.matcher.entries[index], "regex", lo + m.start(), lo + m.end(), m.group(0))
                    )
        self._regex_done = self._raw_len
        keep_from = max(self._recent_base, self._raw_len - REGEX_STREAM_WINDOW)
        self._recent = self._recent[keep_from - self._recent_base :]
        self._recent_base = keep_from
        return out

    def _recheck_pending(self, *, final: bool) -> list[Match]:
        raw = self.raw_text
        keep: list[Match] = []
        out: list[Match] = []
        for m in self._pending:
            if m.end >= len(raw) and not final:
                keep.append(m)
                continue
            kind = TERM if m.variant == "term" else (SOUND if m.variant == "pinyin" else INITIALS)
            first_ascii = m.text[:1].isascii()
            if _bounded(raw, m.start, m.end, m.entry, kind, first_ascii, True):
                out.append(m)
        self._pending = keep
        return out


_SEGMENT_END = frozenset("。！？；.!?;\n，,")


def _needs_right_boundary(entry: Entry, kind: int, last_ascii: bool) -> bool:
    return (kind == TERM and entry.mode == "word") or (kind in (SOUND, INITIALS) and last_ascii)


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
