"""Content IDs: 26 Crockford base32 characters, the first 10 the creation time in milliseconds."""

from __future__ import annotations

import time

from synthguard.ids import _CROCKFORD, new_content_id


def _decode(text: str) -> int:
    value = 0
    for char in text:
        value = value * 32 + _CROCKFORD.index(char)
    return value


def test_ids_are_ulids_that_sort_by_time_and_never_repeat() -> None:
    before = int(time.time() * 1000)
    ids = [new_content_id() for _ in range(2000)]
    after = int(time.time() * 1000)
    assert len(set(ids)) == len(ids)
    for content_id in ids:
        assert len(content_id) == 26 and set(content_id) <= set(_CROCKFORD)
        assert content_id[0] in "01234567"  # 130 bits of characters for a 128-bit value
        assert before <= _decode(content_id) >> 80 <= after
    first = new_content_id()
    time.sleep(0.002)
    last = new_content_id()
    assert first[:10] < last[:10]  # a later millisecond sorts later
