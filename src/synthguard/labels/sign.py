"""Signatures in ``ReservedCode1`` (producer) and ``ReservedCode2`` (propagator).

GB 45438 Annex E f)/i) leave these fields to each party's own integrity protection; the value must
still satisfy item j) (printable ASCII, no space, ``"`` or ``\\``). Our compact form is::

    SG1.<key id: 16 hex>.<content digest: base64url SHA-256>.<signature: base64url Ed25519>

The signature covers a domain-separated message: the producer's three keys (or, for a propagator,
every key except ``ReservedCode2``, the producer's signature included) and the content digest, which
is also carried in clear. So ``verify`` can tell the cases apart: a bad signature means the label
changed; a good signature over a digest that no longer matches the file means the content changed.

Ed25519 comes from ``cryptography``; the key pair is generated once and kept under
``<data_dir>/keys`` (private half, mode 0600) and in the store (public half) so every replica and
every later verify recognises it.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from synthguard.errors import SigningKeyError
from synthguard.labels import security_data
from synthguard.labels.model import AIGCLabel, Integrity
from synthguard.labels.security_data import Sm2Signer

SCHEME = "SG1"
PRODUCER_DOMAIN = b"synthguard/aigc/producer/v1"
PROPAGATOR_DOMAIN = b"synthguard/aigc/propagator/v1"
ALGORITHM = "ed25519"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id_for(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()[:16]


class Signer(Protocol):
    """What the labeler needs from a key: its ID and a signature. SM2 or HSM signers plug in here."""

    @property
    def key_id(self) -> str: ...

    @property
    def algorithm(self) -> str: ...

    def sign(self, message: bytes) -> bytes: ...

    def public_key_bytes(self) -> bytes: ...


@dataclass(frozen=True)
class Ed25519Signer:
    private_key: Ed25519PrivateKey
    key_id: str
    algorithm: str = ALGORITHM

    @classmethod
    def generate(cls) -> Ed25519Signer:
        key = Ed25519PrivateKey.generate()
        return cls(key, key_id_for(_raw_public(key.public_key())))

    @classmethod
    def load(cls, path: Path) -> Ed25519Signer:
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise SigningKeyError(f"cannot read signing key {path}: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"{path} is not an Ed25519 private key")
        return cls(key, key_id_for(_raw_public(key.public_key())))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)

    def public_key_bytes(self) -> bytes:
        return _raw_public(self.private_key.public_key())


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _message(domain: bytes, fields: list[str], digest: bytes) -> bytes:
    return b"\x00".join([domain, *(f.encode("ascii") for f in fields), digest])


def producer_fields(label: AIGCLabel) -> list[str]:
    return [label.Label, label.ContentProducer, label.ProduceID]


def propagator_fields(label: AIGCLabel) -> list[str]:
    return [
        label.Label,
        label.ContentProducer,
        label.ProduceID,
        label.ReservedCode1,
        label.ContentPropagator,
        label.PropagateID,
    ]


def _seal(signer: Signer, domain: bytes, fields: list[str], digest: bytes) -> str:
    signature = signer.sign(_message(domain, fields, digest))
    return f"{SCHEME}.{signer.key_id}.{b64url(digest)}.{b64url(signature)}"


def sign_producer(label: AIGCLabel, digest: bytes, signer: Signer) -> AIGCLabel:
    """Fill ``ReservedCode1`` for ``label`` over ``digest`` (SHA-256 of the content bytes).

    An SM2 signer writes the TC260-PG-202511A ``SecurityData`` form instead of ``SG1``.
    """
    if isinstance(signer, Sm2Signer):
        return label.replace(ReservedCode1=security_data.seal(label, digest, signer))
    return label.replace(ReservedCode1=_seal(signer, PRODUCER_DOMAIN, producer_fields(label), digest))


def sign_propagator(label: AIGCLabel, digest: bytes, signer: Signer) -> AIGCLabel:
    """Fill ``ReservedCode2``; the producer's keys and signature are inputs, never changed."""
    return label.replace(ReservedCode2=_seal(signer, PROPAGATOR_DOMAIN, propagator_fields(label), digest))


PublicKeyLookup = Callable[[str], bytes | None]


@dataclass(frozen=True)
class SignatureCheck:
    integrity: Integrity
    key_id: str = ""
    reason: str = ""


def _check(
    sealed: str, domain: bytes, fields: list[str], digest: bytes, lookup: PublicKeyLookup
) -> SignatureCheck:
    if not sealed:
        return SignatureCheck(Integrity.UNSIGNED, reason="reserved field is empty")
    parts = sealed.split(".")
    if len(parts) != 4 or parts[0] != SCHEME:
        return SignatureCheck(Integrity.UNSIGNED, reason="not a synthguard signature")
    _, key_id, digest_text, signature_text = parts
    try:
        signed_digest = unb64url(digest_text)
        signature = unb64url(signature_text)
    except ValueError:
        return SignatureCheck(Integrity.LABEL_ALTERED, key_id, "signature is not valid base64url")
    public = lookup(key_id)
    if public is None:
        return SignatureCheck(Integrity.UNKNOWN_KEY, key_id, f"key {key_id} is not in the keyring")
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, _message(domain, fields, signed_digest))
    except (InvalidSignature, ValueError):
        return SignatureCheck(Integrity.LABEL_ALTERED, key_id, "signature does not match the label")
    if signed_digest != digest:
        return SignatureCheck(
            Integrity.CONTENT_ALTERED, key_id, "content digest differs from the signed digest"
        )
    return SignatureCheck(Integrity.INTACT, key_id)


def check_producer(label: AIGCLabel, digest: bytes, lookup: PublicKeyLookup) -> SignatureCheck:
    if security_data.is_security_data(label.ReservedCode1):
        integrity, key_id, reason = security_data.check(label, label.ReservedCode1, digest, lookup)
        return SignatureCheck(integrity, key_id, reason)
    return _check(label.ReservedCode1, PRODUCER_DOMAIN, producer_fields(label), digest, lookup)


def check_propagator(label: AIGCLabel, digest: bytes, lookup: PublicKeyLookup) -> SignatureCheck:
    return _check(label.ReservedCode2, PROPAGATOR_DOMAIN, propagator_fields(label), digest, lookup)
