"""Evasion-resistant text normalization with an offset map back to the original text.

Deep Synthesis Provisions Art. 10 asks providers to review inputs and outputs against a feature
library of illegal and undesirable information; TC260-003 (GB/T 45654-2025) 7.x sets its size. A
library is only as good as its resistance to trivial evasion: traditional characters, full-width
forms, case, separators and inserted symbols ("敏*感*词"), zero-width characters, repeated
characters ("敏敏敏感"), homoglyphs (Cyrillic "а" for Latin "a"), look-alike digits ("h3ll0"),
emoji substitutions ("🈲") and pinyin.

Why one table instead of layered passes: the research (shared/research/gateway.md §0.5) measured
that a straightforward NFKC + OpenCC + strip + dedupe pipeline drops matching from 12.8 to 4.8 MB/s.
Here every per-character rule (NFKC, lower case, OpenCC t2s/tw2s/hk2s at character level,
Unicode confusables, look-alike digits, emoji, deletion of separators) is folded **once, at
start-up** into a single code-point table ``FOLD`` (0 means "delete"). A text is then normalized by
one vectorized lookup (numpy over its UTF-32 code points), one comparison for repeat-collapse and
one decode, and the kept indices *are* the offset map. Pinyin homophones use a second,
length-preserving table ``SOUND`` (hanzi -> a private-use code point per toneless syllable), so a
homophone scan never changes offsets.

No library fits: OpenCC converts phrases but keeps no offsets; ``pypinyin`` and
``confusable_homoglyphs`` give data but no stream transform. Their data is used to build the
tables; the transform itself is the ~40 lines below.

OpenCC at character level (not phrase level) is deliberate: the same function normalizes library
terms and texts, so what matters is that every traditional or variant form of a character lands on
the same class. Classes are merged union-find style so ``t2s(s2t(c)) == t2s(c)`` always holds.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

TABLE_VERSION = 1
UNICODE_SIZE = 0x110000
# First code point of the sound classes: the BMP private-use area. Folding deletes private-use
# characters, so a normalized text never contains one, and BMP code points scan faster than
# plane-15 ones (3 UTF-8 bytes like the hanzi they replace; measured 75 -> see benchmarks).
SOUND_BASE = 0xE000

# Ranges whose per-character rules are computed; everything else maps to itself, except the
# invisible tag characters (used to smuggle hidden text), which are deleted.
_COMPUTED_RANGES = ((0, 0x30000), (0x30000, 0x323B0))
_DELETED_RANGES = ((0xE0000, 0xE0080), (0xE0100, 0xE01F0), (0xF0000, 0x110000))

# Look-alike digits (leetspeak) fold to the letter they stand for. Digits that look like no
# letter (2, 6, 9) keep their value.
LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b"}

# Emoji commonly typed in place of a character ("草泥🐴", "🈲止"). Only a curated list is mapped;
# every other emoji is deleted like any inserted symbol.
EMOJI = {
    "🈲": "禁", "🈚": "无", "🈶": "有", "🈷": "月", "🈸": "申", "🈹": "割", "🈺": "营", "🉐": "得",
    "🉑": "可", "🈯": "指", "🈳": "空", "🈴": "合", "🈵": "满", "🈁": "这",
    "🐴": "马", "🐎": "马", "🐶": "狗", "🐕": "狗", "🐷": "猪", "🐖": "猪", "🐮": "牛", "🐂": "牛",
    "🐔": "鸡", "🐓": "鸡", "🐍": "蛇", "🐭": "鼠", "🐀": "鼠", "🐯": "虎", "🐅": "虎", "🐰": "兔",
    "🐇": "兔", "🐲": "龙", "🐉": "龙", "🐑": "羊", "🐏": "羊", "🐵": "猴", "🐒": "猴", "🐟": "鱼",
    "🐠": "鱼", "🐦": "鸟", "🐤": "鸟", "🐸": "蛙", "🐺": "狼", "🦊": "狐", "🐻": "熊", "🐘": "象",
    "🔥": "火", "💧": "水", "🌊": "水", "🌙": "月", "☀": "日", "🌞": "日", "⭐": "星", "🌟": "星",
    "🌲": "木", "🌳": "木", "⛰": "山", "🏔": "山", "🌸": "花", "🌹": "花", "💰": "钱", "💵": "钱",
    "🔫": "枪", "💣": "炸", "🔪": "刀", "🗡": "刀", "💊": "药", "🍺": "酒", "🍷": "酒", "🚬": "烟",
    "👁": "目", "👀": "看", "✋": "手", "🤚": "手", "👄": "口", "❤": "心", "💔": "心", "💀": "死",
    "☠": "死", "⚡": "电", "☁": "云", "🌧": "雨", "❄": "雪", "🏠": "家", "🏡": "家", "🚗": "车",
    "🚪": "门", "📖": "书", "📚": "书", "🎵": "音", "🍚": "饭", "🍵": "茶", "🍜": "面", "🥚": "蛋",
    "👨": "男", "👩": "女", "👶": "婴",
}  # fmt: skip
# Negative circled / squared Latin letters have no NFKC decomposition.
_LETTER_BLOCKS = (0x1F150, 0x1F170, 0x1F1E6)  # 🅐..🅩, 🅰..🆉, regional indicators 🇦..🇿

Array = npt.NDArray[np.uint32]
IndexArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Tables:
    fold: Array  # code point -> folded code point, 0 = delete
    sound: Array  # folded code point -> sound class (identity for non-hanzi)
    sound16: npt.NDArray[np.uint16]  # ``sound`` with non-BMP code points -> U+FFFD: 2 bytes per char
    syllables: tuple[str, ...]  # sound class index -> toneless pinyin
    fold_str: dict[str, str]  # the non-identity part of ``fold`` as str -> str ("" = delete)
    sound_str: dict[str, str]  # the non-identity part of ``sound``


@dataclass(frozen=True)
class Normalized:
    """A normalized text and, per normalized character, where it came from in the original.

    ``starts[i]`` is the index in the original text of the first character of the run that became
    normalized character ``i``; ``ends[i]`` is one past its last (repeats collapse into one run).
    """

    original: str
    text: str
    starts: IndexArray
    ends: IndexArray
    points: Array  # the code points of ``text``

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original ``[start, end)`` of the normalized ``[start, end)``."""
        return int(self.starts[start]), int(self.ends[end - 1])


def _is_deleted_category(ch: str) -> bool:
    # Separators, punctuation, symbols, controls/format (zero-width), marks (combining tricks)
    # carry no lexical content in a keyword match: delete them.
    return unicodedata.category(ch)[0] in "ZPSCM"


def _base_fold(ch: str) -> str:
    """NFKC, lower case, alphanumerics only: '' deletes, a 1-char result replaces."""
    if ch in EMOJI:
        return EMOJI[ch] if len(EMOJI[ch]) == 1 else ""
    cp = ord(ch)
    for block in _LETTER_BLOCKS:
        if block <= cp < block + 26:
            return chr(ord("a") + cp - block)
    folded = "".join(c for c in unicodedata.normalize("NFKC", ch).lower() if c.isalnum())
    deleted = _is_deleted_category(ch)
    # A symbol whose compatibility form is one letter (Kangxi radical "⼈" -> "人") is that letter.
    if len(folded) == 1 and (not deleted or unicodedata.normalize("NFKC", ch) != ch):
        return folded
    if deleted:
        return ""
    # Ligatures and squared words ("㍿" -> "株式会社") cannot fold to one character: keep them.
    return ch.lower() if len(ch.lower()) == 1 else ch


def _confusables() -> dict[str, str]:
    """Non-ASCII look-alikes of ASCII letters and digits, from the Unicode confusables data."""
    import json
    from importlib import resources

    data = json.loads(
        resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8")
    )
    mapping: dict[str, str] = {}
    for key, homoglyphs in data.items():
        if len(key) != 1 or not key.isascii() or not key.isalnum():
            continue
        target = key.lower()
        for item in homoglyphs:
            glyph = item["c"]
            if len(glyph) != 1 or glyph.isascii():
                continue
            # Prefer a letter over a digit when a glyph looks like both (Cyrillic о: o / 0).
            if glyph not in mapping or (mapping[glyph].isdigit() and target.isalpha()):
                mapping[glyph] = target
    return mapping


def _hanzi_classes(chars: list[str]) -> dict[str, str]:
    """Character-level OpenCC t2s/tw2s/hk2s, merged so each class has one simplified representative."""
    import opencc

    joined = "\n".join(chars)
    parent: dict[str, str] = {}

    def find(c: str) -> str:
        while parent.get(c, c) != c:
            c = parent[c]
        return c

    for config in ("t2s.json", "tw2s.json", "hk2s.json"):
        converted = opencc.OpenCC(config).convert(joined).split("\n")
        for src, dst in zip(chars, converted, strict=True):
            if len(dst) == 1 and dst != src:
                root_src, root_dst = find(src), find(dst)
                if root_src != root_dst:
                    parent[root_src] = root_dst
    # The representative is the conversion target: simplified forms never convert further.
    return {c: find(c) for c in parent}


def _syllable(reading: str) -> str:
    reading = reading.replace("ü", "v")
    return "".join(c for c in unicodedata.normalize("NFD", reading) if not unicodedata.combining(c))


@cache
def tables() -> Tables:
    """Build the fold and sound tables once per process (~0.2 s)."""
    fold = np.arange(UNICODE_SIZE, dtype=np.uint32)
    for lo, hi in _DELETED_RANGES:
        fold[lo:hi] = 0
    confusable = _confusables()
    chars: list[str] = []
    base: dict[int, str] = {}
    for lo, hi in _COMPUTED_RANGES:
        for cp in range(lo, hi):
            if 0xD800 <= cp < 0xE000:
                fold[cp] = 0  # surrogates (possible via "surrogatepass")
                continue
            ch = chr(cp)
            out = _base_fold(ch)
            out = confusable.get(out, out) if len(out) == 1 else out
            out = LEET.get(out, out)
            base[cp] = out
            if len(out) == 1 and ord(out) >= 0x2E80:
                chars.append(out)
    for ch, repl in EMOJI.items():
        if len(ch) == 1:
            out = repl if len(repl) == 1 else ""
            base[ord(ch)] = out
            if out and ord(out) >= 0x2E80:
                chars.append(out)
    classes = _hanzi_classes(sorted(set(chars)))
    for cp, out in base.items():
        if not out:
            fold[cp] = 0
        elif len(out) == 1:
            fold[cp] = ord(classes.get(out, out))
        # multi-character results keep the identity set above
    fold[0] = 0

    from pypinyin.pinyin_dict import pinyin_dict

    sound = np.arange(UNICODE_SIZE, dtype=np.uint32)
    syllables: dict[str, int] = {}
    for cp, readings in pinyin_dict.items():
        target = int(fold[cp]) if cp < UNICODE_SIZE else 0
        if not target or target < 0x2E80:
            continue
        syl = _syllable(readings.split(",")[0])
        index = syllables.setdefault(syl, len(syllables))
        # A traditional character and its simplified class share the reading of the class.
        if sound[target] == target:
            sound[target] = SOUND_BASE + index
    ordered = tuple(sorted(syllables, key=syllables.__getitem__))

    changed = np.flatnonzero(fold != np.arange(UNICODE_SIZE, dtype=np.uint32))
    fold_str = {chr(int(cp)): (chr(int(fold[cp])) if fold[cp] else "") for cp in changed}
    fold_str["\x00"] = ""  # NUL maps to 0, which ``changed`` cannot tell from identity
    sound_changed = np.flatnonzero(sound != np.arange(UNICODE_SIZE, dtype=np.uint32))
    sound_str = {chr(int(cp)): chr(int(sound[cp])) for cp in sound_changed}
    sound16 = np.where(sound < 0x10000, sound, 0xFFFD).astype(np.uint16)
    return Tables(
        fold=fold, sound=sound, sound16=sound16, syllables=ordered, fold_str=fold_str, sound_str=sound_str
    )


def _codepoints(text: str) -> Array:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _decode(points: Array) -> str:
    return points.tobytes().decode("utf-32-le", "surrogatepass")


def normalize(text: str) -> Normalized:
    """Fold ``text`` (delete separators, unify forms, collapse repeats) keeping the offset map."""
    t = tables()
    mapped = t.fold[_codepoints(text)]
    kept = np.flatnonzero(mapped)
    values = mapped[kept]
    if values.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Normalized(text, "", empty, empty, np.zeros(0, dtype=np.uint32))
    first = np.empty(values.size, dtype=bool)
    first[0] = True
    np.not_equal(values[1:], values[:-1], out=first[1:])
    last = np.empty(values.size, dtype=bool)
    last[-1] = True
    last[:-1] = first[1:]
    points = values[first]
    return Normalized(text, _decode(points), kept[first], kept[last] + 1, points)


def fold_term(term: str) -> str:
    """The normalized form of a library term (same function as for texts, offsets dropped)."""
    return normalize(term).text


def to_sound(normalized: str) -> str:
    """Replace every hanzi of an already normalized text by its toneless-syllable class."""
    if not normalized:
        return ""
    return _decode(tables().sound[_codepoints(normalized)])


def sound_bytes(norm: Normalized) -> bytes:
    """The sound projection as UTF-16-LE code units: exactly 2 bytes per normalized character.

    A bytewise automaton over this scans ~3.5x faster than a charwise one over the projected
    string (measured 473 vs 131 MB/s), so the homophone scan no longer halves review throughput.
    """
    return tables().sound16[norm.points].tobytes()


def syllables_of(normalized: str) -> list[str | None]:
    """Per character of a normalized text: its toneless pinyin (None for non-hanzi)."""
    t = tables()
    out: list[str | None] = []
    for ch in normalized:
        value = int(t.sound[ord(ch)])
        index = value - SOUND_BASE
        out.append(t.syllables[index] if 0 <= index < len(t.syllables) and value != ord(ch) else None)
    return out


class StreamNormalizer:
    """Normalizes text delta by delta (the gateway's SSE stream) with the same result as ``normalize``.

    Pure Python on purpose: a delta is 1-4 characters, where numpy's per-call overhead would cost
    more than the work. ``feed`` returns the normalized characters this delta added and the
    original offsets of each; a repeat of the previous character only extends the previous run.
    The common case (nothing deleted, no repeat) is one ``str.translate`` in C.
    """

    __slots__ = ("_last", "_pos", "_trans", "last_end")

    def __init__(self) -> None:
        self._trans = translate_table()
        self._last = ""
        self._pos = 0
        self.last_end = 0  # one past the original end of the last normalized character

    def feed(self, delta: str) -> tuple[str, list[int]]:
        pos = self._pos
        n = len(delta)
        self._pos = pos + n
        if not n:
            return "", []
        out = delta.translate(self._trans)
        if DELETED not in out and out[0] != self._last and (n == 1 or _REPEAT.search(out) is None):
            self._last = out[-1]
            self.last_end = pos + n
            return out, list(range(pos, pos + n))
        chars: list[str] = []
        starts: list[int] = []
        last = self._last
        for i, folded in enumerate(out):
            if folded != DELETED:
                if folded != last:
                    chars.append(folded)
                    starts.append(pos + i)
                    last = folded
                self.last_end = pos + i + 1
        self._last = last
        return "".join(chars), starts


_REPEAT = re.compile(r"(.)\1", re.DOTALL)
DELETED = "\x00"  # ``translate_table``'s mark for a deleted character (NUL itself is deleted)


def fold_walk(marked: str, offset: int) -> tuple[str, list[int]]:
    """Collapse repeats and drop deletions of a stream piece translated by ``translate_table``.

    Returns the normalized text and the original start of each of its characters; ``offset``
    is the piece's position in the stream. The piece must begin a new run (at the stream start,
    or at a character that folds differently from the last normalized one), so no state from
    before it is needed. The stream matcher needs this only for a piece with a repeat; without
    one, ``str.replace`` and ``str.split`` on the marks say the same at C speed.
    """
    chars: list[str] = []
    starts: list[int] = []
    last = ""
    for i, folded in enumerate(marked):
        if folded != DELETED and folded != last:
            chars.append(folded)
            starts.append(offset + i)
            last = folded
    return "".join(chars), starts


def fold_char(ch: str) -> str:
    """The normalized form of one character ('' if normalization deletes it)."""
    return tables().fold_str.get(ch, ch)


@cache
def translate_table() -> dict[int, str | int]:
    """``fold`` as a ``str.translate`` table; a deleted character becomes ``DELETED``.

    Marking deletions instead of dropping them keeps the translated text aligned with the
    original, so the stream path finds where the deletions were with C string methods
    (``in``, ``split``) instead of a Python loop over characters.
    """
    table: dict[int, str | int] = {ord(k): (v or DELETED) for k, v in tables().fold_str.items()}
    _add_identity(table)
    return table


@cache
def sound_table() -> dict[int, str | int]:
    """``sound`` as a ``str.translate`` table (hanzi -> sound class, the rest unchanged)."""
    table: dict[int, str | int] = {ord(k): v for k, v in tables().sound_str.items()}
    _add_identity(table)
    return table


# Code points whose identity mapping is spelled out in the translate tables: ``str.translate``
# treats a missing key as "unchanged", but only after a KeyError per character, which costs about
# a third of the translation (measured 517 -> 387 ns for 9 hanzi). Latin, CJK symbols, kana and
# the CJK Unified Ideographs cover nearly all of a Chinese answer, for ~2 MB per table.
_IDENTITY_END = 0xA000


def _add_identity(table: dict[int, str | int]) -> None:
    for cp in range(_IDENTITY_END):
        table.setdefault(cp, cp)


def iter_variants(options: Iterable[list[str]], limit: int) -> list[str]:
    """The cartesian product of per-position options, joined; empty if it would exceed ``limit``."""
    combos = [""]
    for opts in options:
        combos = [c + o for c in combos for o in opts]
        if len(combos) > limit:
            return []
    return combos
