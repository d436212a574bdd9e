"""ReservedCode1/2 signatures tell intact, label-altered, content-altered and unknown-key apart."""

from __future__ import annotations

import hashlib

import pytest

from synthguard.errors import InvalidLabel
from synthguard.labels import (
    AIGCLabel,
    Ed25519Signer,
    Integrity,
    check_producer,
    check_propagator,
    sign_producer,
    sign_propagator,
)
from synthguard.labels.model import value_problem
from synthguard.labels.sign import produce_signed
from tests.conftest import PLATFORM, PRODUCER

DIGEST = hashlib.sha256(b"pixels").digest()


def _lookup(*signers: Ed25519Signer):  # type: ignore[no-untyped-def]
    keys = {s.key_id: s.public_key_bytes() for s in signers}
    return keys.get


def test_signed_label_is_intact_and_fits_annex_e_charset() -> None:
    signer = Ed25519Signer.generate()
    label = sign_producer(AIGCLabel.produce(PRODUCER, "id-1"), DIGEST, signer)
    assert value_problem("ReservedCode1", label.ReservedCode1) is None
    assert check_producer(label, DIGEST, _lookup(signer)).integrity is Integrity.INTACT


def test_changed_label_key_is_label_altered() -> None:
    signer = Ed25519Signer.generate()
    label = sign_producer(AIGCLabel.produce(PRODUCER, "id-1"), DIGEST, signer)
    forged = label.replace(ProduceID="id-2")
    assert check_producer(forged, DIGEST, _lookup(signer)).integrity is Integrity.LABEL_ALTERED


def test_changed_content_is_content_altered() -> None:
    signer = Ed25519Signer.generate()
    label = sign_producer(AIGCLabel.produce(PRODUCER, "id-1"), DIGEST, signer)
    other = hashlib.sha256(b"other pixels").digest()
    assert check_producer(label, other, _lookup(signer)).integrity is Integrity.CONTENT_ALTERED


def test_signature_by_a_key_we_do_not_know_is_reported_as_such() -> None:
    signer = Ed25519Signer.generate()
    label = sign_producer(AIGCLabel.produce(PRODUCER, "id-1"), DIGEST, signer)
    check = check_producer(label, DIGEST, _lookup(Ed25519Signer.generate()))
    assert check.integrity is Integrity.UNKNOWN_KEY
    assert check.key_id == signer.key_id


def test_propagator_signature_covers_the_producer_signature() -> None:
    producer, platform = Ed25519Signer.generate(), Ed25519Signer.generate()
    label = sign_producer(AIGCLabel.produce(PRODUCER, "id-1"), DIGEST, producer)
    label = sign_propagator(label.replace(ContentPropagator=PLATFORM, PropagateID="p-9"), DIGEST, platform)
    lookup = _lookup(producer, platform)
    assert check_producer(label, DIGEST, lookup).integrity is Integrity.INTACT
    assert check_propagator(label, DIGEST, lookup).integrity is Integrity.INTACT
    stripped = label.replace(ReservedCode1="")
    assert check_propagator(stripped, DIGEST, lookup).integrity is Integrity.LABEL_ALTERED


def test_foreign_reserved_code_is_unsigned_not_altered() -> None:
    label = AIGCLabel.produce(PRODUCER, "id-1").replace(ReservedCode1="0123abcd" * 5)
    assert check_producer(label, DIGEST, _lookup()).integrity is Integrity.UNSIGNED


def test_sg2_seals_a_blake3_digest_and_sg1_labels_still_verify() -> None:
    from synthguard.labels.sign import digest_algorithm, label_digests

    signer = Ed25519Signer.generate()
    blake = hashlib.sha256(b"stand-in for a BLAKE3 digest").digest()
    digests = {"sha256": DIGEST, "blake3": blake}
    new = sign_producer(AIGCLabel.produce(PRODUCER, "id-1"), blake, signer, "blake3")
    old = sign_producer(AIGCLabel.produce(PRODUCER, "id-1"), DIGEST, signer)
    assert new.ReservedCode1.startswith("SG2.") and old.ReservedCode1.startswith("SG1.")
    assert digest_algorithm(new.ReservedCode1) == "blake3" and digest_algorithm(old.ReservedCode1) == "sha256"
    for label in (new, old):
        assert check_producer(label, digests, _lookup(signer)).integrity is Integrity.INTACT
    # Each signature is checked against the digest of its own algorithm, not the other one.
    swapped = {"sha256": blake, "blake3": DIGEST}
    for label in (new, old):
        assert check_producer(label, swapped, _lookup(signer)).integrity is Integrity.CONTENT_ALTERED
    # A platform signing SG2 over an SG1 producer label: both algorithms are needed to check it.
    mixed = sign_propagator(
        old.replace(ContentPropagator=PLATFORM, PropagateID="p-1"), blake, signer, "blake3"
    )
    assert label_digests(mixed) == {"sha256", "blake3"}
    assert check_propagator(mixed, digests, _lookup(signer)).integrity is Integrity.INTACT
    # Renaming the scheme (SG2 -> SG1) is a label change: each scheme signs under its own domain.
    renamed = new.replace(ReservedCode1="SG1." + new.ReservedCode1[4:])
    assert check_producer(renamed, digests, _lookup(signer)).integrity is Integrity.LABEL_ALTERED


def test_libsodium_signatures_are_the_ones_openssl_makes() -> None:
    """Ed25519Signer signs through PyNaCl; Ed25519 is deterministic, so OpenSSL's bytes must match."""
    import os

    signer = Ed25519Signer.generate()
    public = signer.private_key.public_key()
    for size in (0, 1, 32, 97, 4096):
        message = os.urandom(size)
        signature = signer.sign(message)
        assert signature == signer.private_key.sign(message)
        public.verify(signature, message)  # raises if it does not verify


def test_produce_signed_is_the_produced_label_signed() -> None:
    """The one-construction path the batch uses gives exactly what produce + sign_producer give."""
    signer = Ed25519Signer.generate()
    for algorithm in ("sha256", "blake3"):
        quick = produce_signed(PRODUCER, "id-7", "2", DIGEST, signer, algorithm)
        assert quick == sign_producer(AIGCLabel.produce(PRODUCER, "id-7", "2"), DIGEST, signer, algorithm)


def test_produce_signed_refuses_what_a_label_refuses() -> None:
    signer = Ed25519Signer.generate()
    for produce_id, value in (("标识-1", "1"), ("", "1"), ("id 1", "1"), ("id-1", "4")):
        with pytest.raises(InvalidLabel):
            produce_signed(PRODUCER, produce_id, value, DIGEST, signer)
