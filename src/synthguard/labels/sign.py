"""Signatures in ``ReservedCode1`` (producer) and ``ReservedCode2`` (propagator).

GB 45438 Annex E f)/i) leave these fields to each party's own integrity protection; the value must
still satisfy item j) (printable ASCII, no space, ``"`` or ``\\``). Our compact form is::

    SG2.<key id: 16 hex>.<content digest: base64url BLAKE3-256>.<signature: base64url Ed25519>

``SG1`` is the same form over a SHA-256 content digest. New labels use ``SG2`` unless the settings
ask for SHA-256 (``SYNTHGUARD_LABEL_DIGEST=sha256``); both verify forever. Why BLAKE3: the content
digest reads every byte of the file, and on a 370 KB photo SHA-256 (with the CPU's SHA extensions,
0.21 ms) was a third of the CPU the whole label costs; BLAKE3 (the ``blake3`` package, the BLAKE3
team's Rust implementation) takes 0.06 ms with the same 128-bit security level.

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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import nacl.bindings
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from synthguard.errors import SigningKeyError
from synthguard.labels import security_data
from synthguard.labels.model import AIGCLabel, Integrity
from synthguard.labels.security_data import Sm2Signer

SCHEME = "SG1"  # the first form (SHA-256 content digest); still written on request, always read
# Each synthguard signature form and the content digest algorithm its middle field holds.
SCHEMES = {"SG1": "sha256", "SG2": "blake3"}
SCHEME_FOR_DIGEST = {algorithm: scheme for scheme, algorithm in SCHEMES.items()}
PRODUCER_DOMAIN = b"synthguard/aigc/producer/v1"
PROPAGATOR_DOMAIN = b"synthguard/aigc/propagator/v1"
# SG2 signs under its own domains, so the scheme (and with it the digest algorithm) is bound to the
# signature: relabeling SG2 as SG1 breaks the signature instead of pointing the check at SHA-256.
_DOMAINS = {
    ("SG1", PRODUCER_DOMAIN): PRODUCER_DOMAIN,
    ("SG1", PROPAGATOR_DOMAIN): PROPAGATOR_DOMAIN,
    ("SG2", PRODUCER_DOMAIN): b"synthguard/aigc/producer/v2",
    ("SG2", PROPAGATOR_DOMAIN): b"synthguard/aigc/propagator/v2",
}
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
    # The same key in libsodium (PyNaCl, PyCA's binding like ``cryptography``), which signs in
    # ~20 us against ~31 us through OpenSSL: every labeled file is signed once, and that was a
    # tenth of a photo's labeling CPU. Ed25519 signatures are deterministic, so both give the same
    # bytes (tested); ``cryptography`` keeps the key files and the verification.
    # libsodium's 64-byte secret key (seed + public key), signed with directly: PyNaCl's SigningKey
    # wraps each signature in a SignedMessage (three encoder calls), a tenth of the call.
    _sodium_secret: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        raw = self.private_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        _, secret = nacl.bindings.crypto_sign_seed_keypair(raw)
        object.__setattr__(self, "_sodium_secret", secret)

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
        return nacl.bindings.crypto_sign(message, self._sodium_secret)[: nacl.bindings.crypto_sign_BYTES]

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


def _seal(signer: Signer, domain: bytes, fields: list[str], digest: bytes, algorithm: str) -> str:
    scheme = SCHEME_FOR_DIGEST[algorithm]
    signature = signer.sign(_message(_DOMAINS[scheme, domain], fields, digest))
    return f"{scheme}.{signer.key_id}.{b64url(digest)}.{b64url(signature)}"


def signing_digest(signer: Signer, preferred: str) -> str:
    """The content digest algorithm ``signer``'s seal holds: SM2 SecurityData binds SHA-256."""
    return "sha256" if isinstance(signer, Sm2Signer) else preferred


def sign_producer(label: AIGCLabel, digest: bytes, signer: Signer, algorithm: str = "sha256") -> AIGCLabel:
    """Fill ``ReservedCode1`` for ``label`` over ``digest``, the content digest made with ``algorithm``.

    An SM2 signer writes the TC260-PG-202511A ``SecurityData`` form instead (its binding is SHA-256:
    ask :func:`signing_digest` which digest to compute).
    """
    if isinstance(signer, Sm2Signer):
        return label.replace(ReservedCode1=security_data.seal(label, digest, signer))
    sealed = _seal(signer, PRODUCER_DOMAIN, producer_fields(label), digest, algorithm)
    return label.replace(ReservedCode1=sealed)


def produce_signed(
    producer: str, produce_id: str, value: str, digest: bytes, signer: Signer, algorithm: str = "sha256"
) -> AIGCLabel:
    """``sign_producer(AIGCLabel.produce(producer, produce_id, value), ...)``, the label built once.

    Every labeled file gets one, and building (and so checking) the label twice was a third of the
    Python its signature costs.
    """
    if isinstance(signer, Sm2Signer):
        return sign_producer(AIGCLabel.produce(producer, produce_id, value), digest, signer, algorithm)
    try:
        sealed = _seal(signer, PRODUCER_DOMAIN, [value, producer, produce_id], digest, algorithm)
    except UnicodeEncodeError:  # not Annex E text: the label's own check says what is wrong
        AIGCLabel.produce(producer, produce_id, value)
        raise
    return AIGCLabel(value, producer, produce_id, sealed, producer, produce_id)


def sign_propagator(label: AIGCLabel, digest: bytes, signer: Signer, algorithm: str = "sha256") -> AIGCLabel:
    """Fill ``ReservedCode2``; the producer's keys and signature are inputs, never changed."""
    sealed = _seal(signer, PROPAGATOR_DOMAIN, propagator_fields(label), digest, algorithm)
    return label.replace(ReservedCode2=sealed)


def digest_algorithm(sealed: str) -> str:
    """The content digest algorithm a ReservedCode value was sealed over (SHA-256 if not ours)."""
    if security_data.is_security_data(sealed):
        return "sha256"
    return SCHEMES.get(sealed.split(".", 1)[0], "sha256")


def label_digests(label: AIGCLabel) -> set[str]:
    """Every content digest algorithm needed to check both of ``label``'s signatures."""
    needed = {digest_algorithm(label.ReservedCode1)}
    if label.ReservedCode2:
        needed.add(digest_algorithm(label.ReservedCode2))
    return needed


PublicKeyLookup = Callable[[str], bytes | None]
# The file's content digest: one value (any algorithm: tests, single-algorithm callers) or by algorithm.
Digests = bytes | Mapping[str, bytes]


def _digest(digests: Digests, algorithm: str) -> bytes:
    return digests if isinstance(digests, bytes) else digests[algorithm]


@dataclass(frozen=True)
class SignatureCheck:
    integrity: Integrity
    key_id: str = ""
    reason: str = ""


def _check(
    sealed: str, domain: bytes, fields: list[str], digests: Digests, lookup: PublicKeyLookup
) -> SignatureCheck:
    if not sealed:
        return SignatureCheck(Integrity.UNSIGNED, reason="reserved field is empty")
    parts = sealed.split(".")
    if len(parts) != 4 or parts[0] not in SCHEMES:
        return SignatureCheck(Integrity.UNSIGNED, reason="not a synthguard signature")
    scheme, key_id, digest_text, signature_text = parts
    digest = _digest(digests, SCHEMES[scheme])
    try:
        signed_digest = unb64url(digest_text)
        signature = unb64url(signature_text)
    except ValueError:
        return SignatureCheck(Integrity.LABEL_ALTERED, key_id, "signature is not valid base64url")
    public = lookup(key_id)
    if public is None:
        return SignatureCheck(Integrity.UNKNOWN_KEY, key_id, f"key {key_id} is not in the keyring")
    try:
        message = _message(_DOMAINS[scheme, domain], fields, signed_digest)
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return SignatureCheck(Integrity.LABEL_ALTERED, key_id, "signature does not match the label")
    if signed_digest != digest:
        return SignatureCheck(
            Integrity.CONTENT_ALTERED, key_id, "content digest differs from the signed digest"
        )
    return SignatureCheck(Integrity.INTACT, key_id)


def check_producer(label: AIGCLabel, digests: Digests, lookup: PublicKeyLookup) -> SignatureCheck:
    if security_data.is_security_data(label.ReservedCode1):
        sha256 = _digest(digests, "sha256")
        integrity, key_id, reason = security_data.check(label, label.ReservedCode1, sha256, lookup)
        return SignatureCheck(integrity, key_id, reason)
    return _check(label.ReservedCode1, PRODUCER_DOMAIN, producer_fields(label), digests, lookup)


def check_propagator(label: AIGCLabel, digests: Digests, lookup: PublicKeyLookup) -> SignatureCheck:
    return _check(label.ReservedCode2, PROPAGATOR_DOMAIN, propagator_fields(label), digests, lookup)
