"""GB 45438-2025 Annex E rules on the AIGC value."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synthguard.errors import InvalidLabel
from synthguard.labels.model import KEYS, AIGCLabel, LabelValue, provider_code_problem
from tests.conftest import PLATFORM, PRODUCER


def test_first_write_repeats_production_keys_as_propagation_keys() -> None:
    label = AIGCLabel.produce(PRODUCER, "id-1")
    assert label.ContentPropagator == PRODUCER
    assert label.PropagateID == "id-1"
    assert not label.propagated


def test_json_has_the_seven_keys_in_annex_e_order() -> None:
    text = AIGCLabel.produce(PRODUCER, "id-1").to_json()
    assert list(json.loads(text)) == list(KEYS)
    assert " " not in text


def test_wrapped_and_bare_forms_parse_to_the_same_label() -> None:
    label = AIGCLabel.produce(PRODUCER, "id-1")
    assert AIGCLabel.from_json(label.to_wrapped_json()) == label
    assert AIGCLabel.from_json(label.to_json()) == label


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"Label": "4"}, "Label must be"),
        ({"Label": "1 "}, "Annex E j"),
        ({"ContentProducer": ""}, "ContentProducer is required"),
        ({"ProduceID": "含中文"}, "Annex E j"),
        ({"ProduceID": 'a"b'}, "Annex E j"),
        ({"ProduceID": "a\\b"}, "Annex E j"),
        ({"ProduceID": "x" * 65}, "more than 64"),
        ({"ProduceID": "id-1\n"}, "Annex E j"),  # a regex "$" would let a final newline through
        ({"ReservedCode2": "x\n"}, "Annex E j"),
        ({"ReservedCode1": "x" * 4097}, "more than 4096"),
        ({"ProduceID": 7}, "ProduceID must be a string"),
    ],
)
def test_values_breaking_annex_e_are_refused_with_the_reason(changes: dict[str, str], reason: str) -> None:
    fields = AIGCLabel.produce(PRODUCER, "id-1").to_dict() | changes
    with pytest.raises(InvalidLabel, match=reason):
        AIGCLabel(**fields)


def test_unknown_keys_are_refused() -> None:
    data = AIGCLabel.produce(PRODUCER, "id-1").to_dict() | {"Extra": "x"}
    with pytest.raises(InvalidLabel, match="unknown keys"):
        AIGCLabel.from_json(json.dumps(data))


def test_not_json_is_an_invalid_label() -> None:
    with pytest.raises(InvalidLabel, match="not JSON"):
        AIGCLabel.from_json("{Label:1")


def test_provider_codes_with_a_valid_uscc_pass() -> None:
    assert provider_code_problem(PRODUCER) is None
    assert provider_code_problem(PLATFORM) is None
    assert provider_code_problem("001191330106MA2CFLDG4R10001") is None


def test_a_provider_code_with_a_final_newline_is_flagged() -> None:
    assert provider_code_problem(PRODUCER) is None
    assert provider_code_problem(PRODUCER + "\n") is not None


def test_provider_code_with_a_wrong_check_character_is_flagged() -> None:
    wrong = PRODUCER[:21] + ("5" if PRODUCER[21] != "5" else "6") + PRODUCER[22:]
    assert "check character" in (provider_code_problem(wrong) or "")
    assert provider_code_problem("doubao") is not None


def test_label_value_texts_are_bilingual() -> None:
    assert LabelValue.parse("3").text_zh == "疑似人工智能生成"
    assert LabelValue.parse("1").text_en == "AI-generated"
    with pytest.raises(InvalidLabel):
        LabelValue.parse("0")


_ANNEX_E_CHARS = "".join(chr(c) for c in [0x21, *range(0x23, 0x5C), *range(0x5D, 0x7F)])
_annex_e_values = st.text(alphabet=_ANNEX_E_CHARS, max_size=64)


@given(
    label=st.sampled_from(["1", "2", "3"]),
    ids=st.lists(st.text(alphabet=_ANNEX_E_CHARS, min_size=1, max_size=64), min_size=2, max_size=2),
    optional=st.lists(_annex_e_values, min_size=4, max_size=4),
    security_data=st.sampled_from(["", "1", "2"]),
)
def test_to_json_is_exactly_what_json_dumps_writes(
    label: str, ids: list[str], optional: list[str], security_data: str
) -> None:
    """``to_json`` joins the values itself; it must stay byte-equal to compact ``json.dumps``."""
    reserved1, propagator, propagate_id, reserved2 = optional
    sealed = '{"SecurityData":{"Signature":"a\\"b\\\\c","Note":"\u7b7e\u540d"}}'
    if security_data == "1":
        reserved1 = sealed
    elif security_data == "2":
        reserved2 = sealed
    aigc = AIGCLabel(label, ids[0], ids[1], reserved1, propagator, propagate_id, reserved2)
    assert aigc.to_json() == json.dumps(aigc.to_dict(), ensure_ascii=True, separators=(",", ":"))
    assert AIGCLabel.from_json(aigc.to_json()) == aigc


def test_a_label_rebuilt_from_checked_values_equals_the_checked_one() -> None:
    label = AIGCLabel.produce(PRODUCER, "id-9", "3").replace(ReservedCode1="SG2.k.d.s")
    values = [getattr(label, key) for key in KEYS]
    rebuilt = AIGCLabel.checked_before(values)
    assert rebuilt == label and hash(rebuilt) == hash(label) and rebuilt.to_json() == label.to_json()
    with pytest.raises(ValueError):  # a wrong number of values is still refused
        AIGCLabel.checked_before(values[:-1])
