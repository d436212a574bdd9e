"""The core: producer labels, platform propagation, and verify's five outcomes on real files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synthguard.config import Settings
from synthguard.core import Synthguard
from synthguard.errors import ConfigError, UnsupportedFormat
from synthguard.labels import implicit
from synthguard.labels.model import AIGCLabel
from tests.conftest import PLATFORM, PRODUCER, make_jpeg, make_png


def test_label_file_signs_and_records_the_content_id(sg: Synthguard, tmp_path: Path) -> None:
    path = make_png(tmp_path / "a.png")
    outcome = sg.label_file(path)
    assert outcome.label is not None and outcome.label["ContentProducer"] == PRODUCER
    inspection = sg.inspect_file(path)
    assert inspection.verdict == "compliant"
    assert inspection.integrity == "intact"
    assert inspection.label == outcome.label
    assert inspection.display_zh == "人工智能生成"


def test_platform_propagation_keeps_the_producer_keys(sg: Synthguard, tmp_path: Path) -> None:
    path = make_jpeg(tmp_path / "a.jpg")
    produced = sg.label_file(path).label
    assert produced is not None
    outcome = sg.propagate_file(path)
    label = outcome.label
    assert label is not None
    for key in ("Label", "ContentProducer", "ProduceID", "ReservedCode1"):
        assert label[key] == produced[key]
    assert label["ContentPropagator"] == PLATFORM
    assert label["ReservedCode2"]
    inspection = sg.inspect_file(path)
    assert inspection.integrity == "intact"
    assert inspection.producer is not None and inspection.propagator is not None


@pytest.mark.parametrize(("producer_digest", "platform_digest"), [("sha256", "blake3"), ("blake3", "sha256")])
def test_sg1_and_sg2_signatures_verify_side_by_side(
    settings: Settings, tmp_path: Path, producer_digest: str, platform_digest: str
) -> None:
    """A label made before SG2 (or with SYNTHGUARD_LABEL_DIGEST=sha256) meets a platform on the other
    form: each signature is checked against the content digest of its own algorithm."""
    path = make_jpeg(tmp_path / "a.jpg")
    scheme = {"sha256": "SG1.", "blake3": "SG2."}
    with Synthguard.open(settings.model_copy(update={"label_digest": producer_digest})) as producer:
        made = producer.label_file(path)
    with Synthguard.open(settings.model_copy(update={"label_digest": platform_digest})) as platform:
        shared = platform.propagate_file(path)
        assert made.label is not None and made.label["ReservedCode1"].startswith(scheme[producer_digest])
        assert shared.label is not None and shared.label["ReservedCode2"].startswith(scheme[platform_digest])
        inspection = platform.inspect_file(path)
        assert inspection.integrity == "intact"
        assert inspection.producer is not None and inspection.producer.integrity == "intact"
        assert inspection.propagator is not None and inspection.propagator.integrity == "intact"
        other = make_jpeg(tmp_path / "b.jpg", size=(65, 48))
        implicit.write_label(other, AIGCLabel(**shared.label))
        swapped = platform.inspect_file(other)
        assert swapped.producer is not None and swapped.producer.integrity == "content-altered"
        assert swapped.propagator is not None and swapped.propagator.integrity == "content-altered"
        entry = platform.ledger.select()[-1]
        assert f"content_{platform_digest}" in json.loads(entry.leaf)["refs"]


def test_unlabeled_upload_propagated_as_suspected(sg: Synthguard, tmp_path: Path) -> None:
    path = make_png(tmp_path / "u.png")
    outcome = sg.propagate_file(path, label="3")
    assert outcome.label is not None and outcome.label["Label"] == "3"
    assert sg.inspect_file(path).display_en == "Suspected AI-generated"


def test_absent_label(sg: Synthguard, tmp_path: Path) -> None:
    assert sg.inspect_file(make_png(tmp_path / "n.png")).integrity == "absent"


def test_edited_label_is_label_altered(sg: Synthguard, tmp_path: Path) -> None:
    path = make_png(tmp_path / "a.png")
    label = AIGCLabel(**sg.label_file(path).label)  # type: ignore[arg-type]
    implicit.write_label(path, label.replace(ProduceID="someone-else"))
    assert sg.inspect_file(path).integrity == "label-altered"


def test_swapped_content_is_content_altered(sg: Synthguard, tmp_path: Path) -> None:
    path = make_png(tmp_path / "a.png")
    label = AIGCLabel(**sg.label_file(path).label)  # type: ignore[arg-type]
    other = make_png(tmp_path / "b.png", size=(65, 48))
    implicit.write_label(other, label)
    assert sg.inspect_file(other).integrity == "content-altered"


def test_signature_from_another_installation_is_unknown_key(sg: Synthguard, tmp_path: Path) -> None:
    path = make_png(tmp_path / "a.png")
    other_settings = Settings(data_dir=tmp_path / "other", provider_code=PRODUCER, fsync=False)
    with Synthguard.open(other_settings) as other:
        other.label_file(path)
        foreign_key = other.signer
    assert sg.inspect_file(path).integrity == "signature-unknown-key"
    sg.add_public_key(foreign_key.key_id, foreign_key.public_key_bytes(), owner_code=PRODUCER)
    assert sg.inspect_file(path).integrity == "intact"


def test_key_persists_across_restarts(settings: Settings, tmp_path: Path) -> None:
    path = make_png(tmp_path / "a.png")
    with Synthguard.open(settings) as first:
        first.label_file(path)
        key = first.signer.key_id
    with Synthguard.open(settings) as second:
        assert second.signer.key_id == key
        assert second.inspect_file(path).integrity == "intact"


def test_labeling_without_a_provider_code_is_a_config_error(tmp_path: Path) -> None:
    with (
        Synthguard.open(Settings(data_dir=tmp_path / "v")) as core,
        pytest.raises(ConfigError, match="PROVIDER_CODE"),
    ):
        core.label_file(make_png(tmp_path / "a.png"))


def test_batch_reports_bad_files_and_labels_the_rest(sg: Synthguard, tmp_path: Path) -> None:
    good = make_png(tmp_path / "good.png")
    bad = tmp_path / "bad.xyz"
    bad.write_bytes(b"\x00\x01\x02\x03 not a format")
    outcomes = sg.label_files([good, bad])
    assert outcomes[0].ok and not outcomes[1].ok
    assert outcomes[1].error is not None and outcomes[1].error.code == "unsupported_format"
    assert bad.read_bytes() == b"\x00\x01\x02\x03 not a format"
    with pytest.raises(UnsupportedFormat):
        sg.label_file(bad)
