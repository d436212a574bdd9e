"""Signed tree heads in the C2SP ``tlog-checkpoint`` format (a C2SP ``signed-note``), Ed25519 signed.

A checkpoint is what the provider publishes and the regulator keeps (Deep Synthesis Provisions
Art. 21: cooperate with supervision): ``origin``, tree size and root hash, signed. Anyone holding an
older checkpoint can demand a consistency proof to the newer one, so the log cannot be rewritten
after the fact without the signature giving it away. The text format is the one transparency-log
tooling already reads (Go ``sumdb/note``, ``transparency-dev/formats``)::

    <origin>\\n<size>\\n<base64 root>\\n[extension lines\\n]\\n
    — <key name> <base64(key id[4] || signature)>\\n

Ed25519 key ID = SHA-256(name || 0x0A || 0x01 || public key)[:4] (signed-note, type 0x01). Parsing
is strict: non-canonical sizes ("02", "+1"), non-canonical base64, control characters, missing
final newlines and oversized input are refused, so one checkpoint has exactly one text.
Signatures by unknown keys are kept but ignored (that is how witnesses add cosignatures).

Hand-written: no maintained Python package implements signed notes; the format is 150 lines.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from synthguard.errors import CheckpointInvalid, ConfigError
from synthguard.ledger.merkle import Hash

MAX_CHECKPOINT_BYTES = 64 * 1024
MAX_SIGNATURES = 100  # as in Go's note.Open
ED25519_TYPE = b"\x01"
SIGNATURE_PREFIX = "\u2014 "  # em dash + space
_SIZE = re.compile(r"0|[1-9][0-9]{0,18}")
_NAME = re.compile(r"[^\s+]+")


def _bad(reason: str) -> CheckpointInvalid:
    return CheckpointInvalid(f"checkpoint: {reason}", message_zh=f"检查点无效：{reason}")


@dataclass(frozen=True)
class Checkpoint:
    """The note body: which log, how many entries, which root."""

    origin: str
    size: int
    root: Hash
    extensions: tuple[str, ...] = ()

    def to_text(self) -> str:
        lines = [self.origin, str(self.size), str(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def from_text(cls, body: str) -> Checkpoint:
        if not body.endswith("\n"):
            raise _bad("the body must end with a newline")
        lines = body[:-1].split("\n")
        if len(lines) < 3:
            raise _bad("need origin, size and root lines")
        origin, size_text, root_text, *extensions = lines
        if not origin or origin != origin.strip():
            raise _bad("empty origin or origin with surrounding spaces")
        if not _SIZE.fullmatch(size_text) or int(size_text) >= 1 << 63:
            raise _bad(f"tree size {size_text[:30]!r} is not a canonical decimal")
        try:
            root = Hash.parse(root_text)
        except ValueError as exc:
            raise _bad(f"root hash: {exc}") from None
        if any(not line for line in extensions):
            raise _bad("blank line inside the body")
        return cls(origin, int(size_text), root, tuple(extensions))


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes  # 4 bytes
    signature: bytes

    def to_line(self) -> str:
        blob = base64.b64encode(self.key_id + self.signature).decode("ascii")
        return f"{SIGNATURE_PREFIX}{self.name} {blob}\n"


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    signatures: tuple[NoteSignature, ...]

    def to_text(self) -> str:
        return self.checkpoint.to_text() + "\n" + "".join(s.to_line() for s in self.signatures)

    @classmethod
    def from_text(cls, text: str | bytes) -> SignedCheckpoint:
        """Parse (not verify) a signed note; raises :class:`CheckpointInvalid` on any deviation."""
        if isinstance(text, bytes):
            if len(text) > MAX_CHECKPOINT_BYTES:
                raise _bad(f"over {MAX_CHECKPOINT_BYTES} bytes")
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:
                raise _bad("not UTF-8") from None
        if len(text.encode("utf-8")) > MAX_CHECKPOINT_BYTES:
            raise _bad(f"over {MAX_CHECKPOINT_BYTES} bytes")
        if any((ord(c) < 0x20 and c != "\n") or c == "\x7f" for c in text):
            raise _bad("control characters")
        split = text.rfind("\n\n")
        if split < 0:
            raise _bad("no blank line before the signatures")
        body, sig_block = text[: split + 1], text[split + 2 :]
        checkpoint = Checkpoint.from_text(body)
        if not sig_block.endswith("\n"):
            raise _bad("signature lines must end with a newline")
        signatures = tuple(_parse_signature(line) for line in sig_block[:-1].split("\n"))
        if len(signatures) > MAX_SIGNATURES:
            raise _bad(f"more than {MAX_SIGNATURES} signatures")
        return cls(checkpoint, signatures)


def _parse_signature(line: str) -> NoteSignature:
    if not line.startswith(SIGNATURE_PREFIX):
        raise _bad(f"signature line must start with an em dash: {line[:40]!r}")
    name, sep, blob = line[len(SIGNATURE_PREFIX) :].partition(" ")
    if not sep or not _NAME.fullmatch(name) or " " in blob:
        raise _bad(f"malformed signature line {line[:60]!r}")
    try:
        raw = base64.b64decode(blob, validate=True)
    except binascii.Error:
        raise _bad("signature is not base64") from None
    if len(raw) < 5:
        raise _bad("signature too short")
    return NoteSignature(name, raw[:4], raw[4:])


def key_id(name: str, public_key: bytes) -> bytes:
    """signed-note Ed25519 key ID: SHA-256(name || 0x0A || 0x01 || key)[:4]."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + ED25519_TYPE + public_key).digest()[:4]


@dataclass(frozen=True)
class CheckpointVerifier:
    """One trusted key: a name and an Ed25519 public key (a signed-note *verifier key*)."""

    name: str
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    def to_vkey(self) -> str:
        """``<name>+<hex key id>+<base64(0x01 || key)>``, the format Go's ``note.NewVerifier`` reads."""
        blob = base64.b64encode(ED25519_TYPE + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{blob}"

    @classmethod
    def from_vkey(cls, text: str) -> CheckpointVerifier:
        parts = text.strip().split("+", 2)
        if len(parts) != 3 or not _NAME.fullmatch(parts[0]):
            raise _bad("a verifier key is <name>+<key id hex>+<base64 key>")
        name, hex_id, blob = parts
        try:
            raw = base64.b64decode(blob, validate=True)
        except binascii.Error:
            raise _bad("verifier key is not base64") from None
        if len(raw) != 33 or raw[:1] != ED25519_TYPE:
            raise _bad("verifier key is not an Ed25519 (type 0x01) key")
        verifier = cls(name, raw[1:])
        if verifier.key_id.hex() != hex_id.lower():
            raise _bad("verifier key ID does not match its key")
        return verifier

    def verify(self, signed: SignedCheckpoint) -> Checkpoint:
        """The checkpoint, if one signature is ours and valid; else :class:`CheckpointInvalid`."""
        message = signed.checkpoint.to_text().encode("utf-8")
        key = Ed25519PublicKey.from_public_bytes(self.public_key)
        mine = [s for s in signed.signatures if s.name == self.name and s.key_id == self.key_id]
        if not mine:
            raise _bad(f"not signed by key {self.name!r} ({self.key_id.hex()}): wrong public key?")
        for sig in mine:
            try:
                key.verify(sig.signature, message)
                return signed.checkpoint
            except InvalidSignature:
                continue
        raise _bad(f"signature by {self.name!r} does not match the checkpoint (altered?)")


@dataclass(frozen=True)
class CheckpointSigner:
    name: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def verifier(self) -> CheckpointVerifier:
        return CheckpointVerifier(self.name, self.public_key)

    def sign(self, checkpoint: Checkpoint) -> SignedCheckpoint:
        signature = self.private_key.sign(checkpoint.to_text().encode("utf-8"))
        return SignedCheckpoint(checkpoint, (NoteSignature(self.name, self.verifier.key_id, signature),))

    @classmethod
    def load_or_create(cls, name: str, path: Path) -> CheckpointSigner:
        """The log key under ``<data_dir>/keys`` (mode 0600), created on first use."""
        if not _NAME.fullmatch(name):
            raise ConfigError(
                f"ledger origin {name!r} must be non-empty without spaces or '+'",
                message_zh=f"账本 origin {name!r} 不能为空，且不能含空格或 '+'",
            )
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            try:
                with open(path, "xb") as handle:
                    handle.write(pem)
                path.chmod(0o600)
            except FileExistsError:
                pass  # another process won the race: use its key
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read ledger key {path}: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(f"{path} is not an Ed25519 private key")
        return cls(name, key)


def load_verifier(text: str) -> CheckpointVerifier:
    """A verifier from a signed-note verifier key line or an Ed25519 public key PEM.

    A PEM carries no key name, so it is matched against the signature line's name (any name).
    """
    stripped = text.strip()
    if stripped.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(stripped.encode("ascii"))
        except ValueError as exc:
            raise _bad(f"public key PEM unreadable: {exc}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise _bad("public key is not Ed25519")
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return CheckpointVerifier("", raw)
    return CheckpointVerifier.from_vkey(stripped)


def verify_checkpoint(text: str | bytes, verifier: CheckpointVerifier) -> Checkpoint:
    """Parse and verify; a PEM-only verifier (no name) accepts the name written in the note."""
    signed = SignedCheckpoint.from_text(text)
    if not verifier.name:
        names = {s.name for s in signed.signatures}
        for name in sorted(names):
            try:
                return CheckpointVerifier(name, verifier.public_key).verify(signed)
            except CheckpointInvalid:
                continue
        raise _bad("no signature in the checkpoint matches the public key (wrong key or altered)")
    return verifier.verify(signed)
