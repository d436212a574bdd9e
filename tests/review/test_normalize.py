from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from synthguard.review.normalize import StreamNormalizer, fold_term, normalize, to_sound


def test_folding_undoes_common_evasions() -> None:
    assert normalize("示*例 違\u200b禁詞").text == "示例违禁词"
    assert normalize("ＳＡＭＰＬＥ").text == normalize("sample").text
    assert normalize("敏敏敏感感词").text == "敏感词"
    assert normalize("h3ll0 wοrld").text == normalize("hello world").text  # leet digits, Cyrillic о
    assert normalize("🈲止").text == "禁止"
    assert normalize("⼈").text == "人"  # Kangxi radical (NFKC)


def test_offsets_point_into_the_original() -> None:
    text = "前文 示**例違禁詞 后文"
    norm = normalize(text)
    start = norm.text.index("示例违禁词")
    s, e = norm.span(start, start + 5)
    assert text[s:e] == "示**例違禁詞"


def test_repeats_span_their_whole_run() -> None:
    norm = normalize("啊敏敏敏感感感词")
    s, e = norm.span(1, 3)
    assert (s, e) == (1, 7)


def test_homophones_share_a_sound_class() -> None:
    assert to_sound(fold_term("敏感")) == to_sound(fold_term("民赶"))
    assert to_sound(fold_term("敏感")) != to_sound(fold_term("明天"))


@settings(max_examples=200, deadline=None)
@given(
    st.text(min_size=0, max_size=80), st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=40)
)
def test_stream_normalizer_agrees_with_bulk(text: str, cuts: list[int]) -> None:
    stream = StreamNormalizer()
    chars: list[str] = []
    starts: list[int] = []
    pos = 0
    i = 0
    while pos < len(text):
        step = cuts[i % len(cuts)]
        out, st_ = stream.feed(text[pos : pos + step])
        chars.append(out)
        starts.extend(st_)
        pos += step
        i += 1
    bulk = normalize(text)
    assert "".join(chars) == bulk.text
    assert starts == bulk.starts.tolist()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_normalize_never_fails_and_offsets_are_monotonic(text: str) -> None:
    norm = normalize(text)
    assert len(norm.starts) == len(norm.text) == len(norm.ends)
    assert all(0 <= s < e <= len(text) for s, e in zip(norm.starts.tolist(), norm.ends.tolist(), strict=True))
    assert norm.starts.tolist() == sorted(norm.starts.tolist())


def test_lone_surrogates_do_not_crash() -> None:
    assert normalize("a\ud800b").text == "ab"
