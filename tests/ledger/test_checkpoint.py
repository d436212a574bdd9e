"""C2SP tlog-checkpoint / signed-note: Go's published note vector, strict parsing, wrong keys."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from synthguard.errors import CheckpointInvalid
from synthguard.ledger.checkpoint import (
    Checkpoint,
    CheckpointSigner,
    CheckpointVerifier,
    NoteSignature,
    SignedCheckpoint,
    key_id,
    load_verifier,
    verify_checkpoint,
)
from synthguard.ledger.merkle import leaf_hash

# golang.org/x/mod/sumdb/note, note.go package documentation (Ed25519 is deterministic, RFC 8032).
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
)
GO_SIG_LINE = (
    "\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_go_sumdb_note_vector_is_reproduced_byte_for_byte() -> None:
    verifier = CheckpointVerifier.from_vkey(GO_VKEY)
    assert verifier.to_vkey() == GO_VKEY
    seed = base64.b64decode(GO_SKEY.split("+", 4)[4])[1:]
    private = Ed25519PrivateKey.from_private_bytes(seed)
    signer = CheckpointSigner("PeterNeumann", private)
    assert signer.public_key == verifier.public_key
    assert key_id("PeterNeumann", verifier.public_key).hex() == "c74f20a3"
    line = NoteSignature("PeterNeumann", verifier.key_id, private.sign(GO_TEXT.encode())).to_line()
    assert line == GO_SIG_LINE


def _signer(name: str = "example.com/log") -> CheckpointSigner:
    return CheckpointSigner(name, Ed25519PrivateKey.generate())


def test_signed_checkpoint_round_trips_and_verifies() -> None:
    signer = _signer()
    cp = Checkpoint("example.com/log", 12345, leaf_hash(b"root"))
    text = signer.sign(cp).to_text()
    assert text.startswith("example.com/log\n12345\n")
    assert "\n\n\u2014 example.com/log " in text
    assert SignedCheckpoint.from_text(text).to_text() == text
    assert verify_checkpoint(text, signer.verifier) == cp
    assert verify_checkpoint(text.encode(), load_verifier(signer.verifier.to_vkey())) == cp


def test_public_key_pem_also_verifies(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    signer = _signer()
    pem = signer.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    text = signer.sign(Checkpoint("example.com/log", 1, leaf_hash(b"x"))).to_text()
    assert verify_checkpoint(text, load_verifier(pem.decode())).size == 1


def test_wrong_key_and_altered_checkpoint_are_refused() -> None:
    signer, other = _signer(), _signer()
    text = signer.sign(Checkpoint("example.com/log", 7, leaf_hash(b"r"))).to_text()
    with pytest.raises(CheckpointInvalid, match="wrong public key"):
        verify_checkpoint(text, other.verifier)
    altered = text.replace("\n7\n", "\n8\n", 1)
    with pytest.raises(CheckpointInvalid, match="does not match"):
        verify_checkpoint(altered, signer.verifier)


def test_cosignatures_by_unknown_keys_are_ignored() -> None:
    signer, witness = _signer(), _signer("witness.example")
    signed = signer.sign(Checkpoint("example.com/log", 3, leaf_hash(b"r")))
    extra = witness.sign(signed.checkpoint).signatures
    text = SignedCheckpoint(signed.checkpoint, extra + signed.signatures).to_text()
    assert verify_checkpoint(text, signer.verifier).size == 3


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("o\n02\n{root}\n\n\u2014 o AAAAAAA=\n", "canonical"),
        ("o\n+2\n{root}\n\n\u2014 o AAAAAAA=\n", "canonical"),
        ("o\n2\n{root}x\n\n\u2014 o AAAAAAA=\n", "root"),
        ("o\n2\n{root}\n\u2014 o AAAAAAA=\n", "blank line"),
        ("o\n2\n{root}\n\n- o AAAAAAA=\n", "em dash"),
        ("o\n2\n{root}\n\n\u2014 o AAAAAAA=", "newline"),
        ("o\n2\n{root}\n\n\u2014 o !!\n", "base64"),
        ("o\n2\n\n\u2014 o AAAAAAA=\n", "need origin"),
        ("o\r\n2\n{root}\n\n\u2014 o AAAAAAA=\n", "control"),
        ("o\n2\n{root}\n" + "x" * 70_000 + "\n\n\u2014 o AAAAAAA=\n", "bytes"),
    ],
)
def test_malformed_checkpoints_are_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(CheckpointInvalid, match=reason):
        SignedCheckpoint.from_text(text.format(root=str(leaf_hash(b"r"))))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300) | st.binary(max_size=300))
def test_parser_raises_only_checkpoint_invalid(data: str | bytes) -> None:
    try:
        parsed = SignedCheckpoint.from_text(data)
    except CheckpointInvalid:
        return
    # Anything accepted prints back to exactly what was read: one text per checkpoint.
    text = data.decode() if isinstance(data, bytes) else data
    assert parsed.to_text() == text


@settings(max_examples=100, deadline=None)
@given(
    origin=st.from_regex(r"[a-z0-9./-]{1,40}", fullmatch=True),
    size=st.integers(0, 2**63 - 1),
    root=st.binary(min_size=32, max_size=32),
)
def test_any_valid_checkpoint_round_trips(origin: str, size: int, root: bytes) -> None:
    signer = _signer(origin)
    cp = Checkpoint(origin, size, leaf_hash(root))
    assert verify_checkpoint(signer.sign(cp).to_text(), signer.verifier) == cp


def test_bad_verifier_keys_are_refused() -> None:
    for bad in ["", "name", "name+00000000+AAAA", GO_VKEY.replace("c74f20a3", "c74f20a4"), "-----BEGIN junk"]:
        with pytest.raises(CheckpointInvalid):
            load_verifier(bad)
