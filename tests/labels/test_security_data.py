"""TC260-PG-202511A interop: SecurityData with SM3withSM2 in ReservedCode1."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from synthguard.config import Settings
from synthguard.core import Synthguard
from synthguard.labels import AIGCLabel, Integrity, check_producer, sign_producer
from synthguard.labels.security_data import OID_SM3_WITH_SM2, Sm2Signer, a1_message
from tests.conftest import PLATFORM, PRODUCER, make_png

DIGEST = hashlib.sha256(b"content").digest()


def test_a1_message_is_the_three_producer_keys_json_quoted() -> None:
    label = AIGCLabel.produce(PRODUCER, "id-1")
    assert a1_message(label) == f'"Label":"1","ContentProducer":"{PRODUCER}","ProduceID":"id-1"'.encode()


def test_security_data_signature_verifies_with_the_pinned_key() -> None:
    signer = Sm2Signer.generate()
    label = sign_producer(AIGCLabel.produce(PRODUCER, "id-1"), DIGEST, signer)
    body = json.loads(label.ReservedCode1)["SecurityData"]
    assert body["Type"] == "TC260PG"
    assert any(e.get("AlgID") == OID_SM3_WITH_SM2 for e in body["PubSD"])
    pinned = {signer.key_id: signer.public_key_bytes()}.get
    assert check_producer(label, DIGEST, pinned).integrity is Integrity.INTACT
    assert (
        check_producer(label.replace(ProduceID="id-2"), DIGEST, pinned).integrity is Integrity.LABEL_ALTERED
    )
    other = hashlib.sha256(b"other").digest()
    assert check_producer(label, other, pinned).integrity is Integrity.CONTENT_ALTERED
    assert check_producer(label, DIGEST, {}.get).integrity is Integrity.UNKNOWN_KEY


def test_sm2_key_survives_save_and_load(tmp_path: Path) -> None:
    signer = Sm2Signer.generate()
    signer.save(tmp_path / "k")
    assert Sm2Signer.load(tmp_path / "k").key_id == signer.key_id


def test_core_in_sm2_mode_labels_and_verifies_files(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "var", provider_code=PRODUCER, propagator_code=PLATFORM, label_signature="sm2"
    )
    path = make_png(tmp_path / "a.png")
    with Synthguard.open(settings) as core:
        core.label_file(path)
        found = core.inspect_file(path)
        assert found.verdict == "compliant"
        assert found.integrity == "intact"
        assert any("SecurityData" in w for w in found.warnings)
        core.propagate_file(path)
        assert core.inspect_file(path).integrity == "intact"
