"""GB 45438-2025 Annex E rules on the AIGC value."""

from __future__ import annotations

import json

import pytest

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


def test_provider_code_with_a_wrong_check_character_is_flagged() -> None:
    wrong = PRODUCER[:21] + ("5" if PRODUCER[21] != "5" else "6") + PRODUCER[22:]
    assert "check character" in (provider_code_problem(wrong) or "")
    assert provider_code_problem("doubao") is not None


def test_label_value_texts_are_bilingual() -> None:
    assert LabelValue.parse("3").text_zh == "疑似人工智能生成"
    assert LabelValue.parse("1").text_en == "AI-generated"
    with pytest.raises(InvalidLabel):
        LabelValue.parse("0")
