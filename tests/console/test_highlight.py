"""``highlight``: matched spans become marked runs that rebuild the text exactly."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from synthguard.console.pages import highlight


def test_overlapping_spans_merge_and_keep_the_first_risk() -> None:
    runs = highlight(
        "abcdefgh", [{"start": 1, "end": 4, "risk": "A.1.g"}, {"start": 3, "end": 6, "risk": "A.2.a"}]
    )
    assert runs == [("a", ""), ("bcdef", "A.1.g"), ("gh", "")]


def test_spans_out_of_range_or_malformed_are_ignored() -> None:
    spans = [{"start": 5, "end": 99, "risk": "x"}, {"start": "1", "end": 2}, {"start": 3, "end": 1}]
    assert highlight("abcdef", spans) == [("abcde", ""), ("f", "x")]
    assert highlight("", []) == [("", "")]


@given(
    st.text(max_size=60),
    st.lists(st.tuples(st.integers(-5, 70), st.integers(-5, 70)), max_size=8),
)
def test_runs_always_rebuild_the_text_and_mark_only_span_characters(
    text: str, pairs: list[tuple[int, int]]
) -> None:
    spans = [{"start": a, "end": b, "risk": "r"} for a, b in pairs]
    runs = highlight(text, spans)
    assert "".join(piece for piece, _ in runs) == text
    covered = {i for a, b in pairs for i in range(max(0, a), min(len(text), b))}
    pos = 0
    for piece, risk in runs:
        for i in range(pos, pos + len(piece)):
            assert (i in covered) == bool(risk)
        pos += len(piece)
