from __future__ import annotations

import random

import pytest

from synthguard.review.keywords import Entry, Matcher, read_library
from synthguard.review.library import sample_library

# Synthetic placeholder terms: random strings of common characters, prefixed so they never occur
# in real text. Some contain characters with emoji or homoglyph substitutes so every transform
# has something to transform.
ALPHABET = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理府研马火禁龙鱼车门书"  # noqa: E501


def synthetic_terms(n: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    terms: set[str] = set()
    while len(terms) < n:
        body = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(2, 4)))
        terms.add(rng.choice(["示例", "测试", "演示", "样例"]) + body)
    return sorted(terms)


@pytest.fixture(scope="session")
def sample_entries() -> list[Entry]:
    entries, problems = read_library(sample_library(), "sample_library.csv")
    assert not problems
    return entries


@pytest.fixture(scope="session")
def test_entries(sample_entries: list[Entry]) -> list[Entry]:
    terms = synthetic_terms(300)
    extra = [
        Entry(term=t, category="A.1.h", action="block", pinyin=i % 10 == 0, initials=i % 20 == 0)
        for i, t in enumerate(terms)
    ]
    ascii_terms = [
        Entry(term=t, category="P.demo", mode="word")
        for t in ("sampleblockword", "demo-bad-phrase", "testbanned")
    ]
    return sample_entries + extra + ascii_terms


@pytest.fixture(scope="session")
def matcher(test_entries: list[Entry]) -> Matcher:
    return Matcher.compile(test_entries, version=1)
