"""The speed-ups keep the exact bytes and the exact tree: leaf JSON is canonical JSON, the cached
right edge follows other writers, and batch-computed nodes equal the one-leaf-at-a-time ones."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from synthguard.config import Settings
from synthguard.ledger import Entry, Ledger
from synthguard.ledger.log import LEAF_VERSION, canonical_json, leaf_json
from tests.ledger.test_merkle import ref_mth

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    seq=st.integers(0, 2**62),
    event_type=st.from_regex(r"[a-z][a-z0-9_]{0,8}(\.[a-z0-9_]{1,8}){0,2}", fullmatch=True),
    content_id=st.none() | st.text(min_size=1, max_size=64),
    refs=st.dictionaries(st.text(max_size=10), json_values, max_size=6),
    idem=st.none() | st.text(min_size=1, max_size=20),
    personal=st.none() | st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
)
def test_leaf_json_is_byte_identical_to_canonical_json(
    seq: int,
    event_type: str,
    content_id: str | None,
    refs: dict[str, Any],
    idem: str | None,
    personal: str | None,
) -> None:
    time = "2026-01-01T00:00:00.000001Z"
    body: dict[str, Any] = {"v": LEAF_VERSION, "seq": seq, "time": time, "type": event_type}
    if content_id is not None:
        body["content_id"] = content_id
    if refs:
        body["refs"] = refs
    if idem is not None:
        body["idem"] = idem
    if personal is not None:
        body["personal"] = personal
    try:
        expected = canonical_json(body)
    except (UnicodeEncodeError, ValueError):  # lone surrogates: both must refuse
        try:
            leaf_json(seq, time, event_type, content_id, refs, idem, personal)
        except (UnicodeEncodeError, ValueError):
            return
        raise AssertionError("leaf_json accepted what canonical_json refuses") from None
    assert leaf_json(seq, time, event_type, content_id, refs, idem, personal) == expected


def test_cached_right_edge_follows_another_writer(tmp_path: Any) -> None:
    settings_ = Settings(data_dir=tmp_path / "var")
    a, b = Ledger.open(settings_), Ledger(settings_)
    try:
        for round_ in range(7):  # uneven batch sizes so the edges differ in shape each time
            a.record_many([Entry("a.b", f"A{round_}-{k}") for k in range(round_ + 1)])
            b.record_many([Entry("a.b", f"B{round_}-{k}") for k in range(2 * round_ + 3)])
            a.record("a.b", f"a{round_}")
        leaves = [e.leaf for e in a.select()]
        assert bytes(a.checkpoint().root) == bytes(b.checkpoint().root) == ref_mth(leaves)
        assert [e.seq for e in a.select()] == list(range(len(leaves)))
    finally:
        a.close()
        b.close()
