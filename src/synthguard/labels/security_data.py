"""TC260-PG-202511A interop: ``SecurityData`` signed with SM3withSM2 in ReservedCode1/2.

The security-protection practice guide puts a JSON object under ``SecurityData`` into the reserved
fields: ``Type``/``Version``, public security data ``PubSD`` holding the public key (``PubKey``) and a
digital signature (``DS``, AlgID 1.2.156.10197.1.501 = SM3withSM2) over the label metadata, and
``Bindings`` tying the label to the content. The signed message (its Appendix A.1) is the ASCII
string ``"Label":"1","ContentProducer":"...","ProduceID":"..."``, signed with the default SM2 user
ID ``1234567812345678``.

Our reading of the layout, documented because the guide is not public text we can quote:

* the signature is the raw ``r || s`` as 128 hex characters (gmssl's output form);
* ``Bindings`` carries one ``Hash`` entry: the SHA-256 content digest synthguard computes for every
  format (the same byte selection as our default signature), so a swapped file is noticed. The DS
  covers only the A.1 message, as the guide asks, so the binding detects accidental or naive
  content swaps; forging it needs no key. The default ``SG1`` Ed25519 form signs both.
* a key embedded in the file proves integrity only: ``verify`` says ``signature-unknown-key`` unless
  the key ID is pinned in our store (published by the producer, trusted with ``keys trust``).

A JSON object cannot meet Annex E j) (no ``"``) except escaped inside the outer JSON; readers such
as AigcTotal tolerate the escape. synthguard accepts this form in the reserved fields only, and the
reader flags it with a warning. SM2 comes from ``gmssl`` (pure Python, the maintained SM2/SM3
implementation on PyPI; ``cryptography`` has no SM2); we pass our own nonce from ``secrets``
because gmssl's default nonce uses the non-cryptographic ``random`` module.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gmssl import sm2

from synthguard.errors import SigningKeyError
from synthguard.labels.model import AIGCLabel, Integrity

ALGORITHM = "sm2"
OID_SM2 = "1.2.156.10197.1.301"
OID_SM3_WITH_SM2 = "1.2.156.10197.1.501"
SECURITY_DATA_TYPE = "TC260PG"
SECURITY_DATA_VERSION = "1.0"
_CURVE_ORDER = int(sm2.default_ecc_table["n"], 16)


def a1_message(label: AIGCLabel) -> bytes:
    """TC260-PG-202511A Appendix A.1: the producer keys, JSON-quoted, comma-joined."""
    return (
        f'"Label":"{label.Label}","ContentProducer":"{label.ContentProducer}","ProduceID":"{label.ProduceID}"'
    ).encode("ascii")


def sm2_key_id(public_key_hex: str) -> str:
    from synthguard.labels.sign import key_id_for

    return key_id_for(bytes.fromhex(public_key_hex))


@dataclass(frozen=True)
class Sm2Signer:
    """An SM2 key pair; ``public_key_bytes`` is the 64-byte ``x || y`` point."""

    private_hex: str
    public_hex: str
    algorithm: str = ALGORITHM

    @classmethod
    def generate(cls) -> Sm2Signer:
        d = secrets.randbelow(_CURVE_ORDER - 2) + 1
        private_hex = f"{d:064x}"
        public_hex = sm2.CryptSM2(private_key=private_hex, public_key="")._kg(d, sm2.default_ecc_table["g"])
        return cls(private_hex, public_hex)

    @classmethod
    def load(cls, path: Path) -> Sm2Signer:
        try:
            private_hex = path.read_text("ascii").strip()
            d = int(private_hex, 16)
        except (OSError, ValueError) as exc:
            raise SigningKeyError(f"cannot read SM2 key {path}: {exc}") from exc
        if not 0 < d < _CURVE_ORDER:
            raise SigningKeyError(f"{path} is not an SM2 private key")
        public_hex = sm2.CryptSM2(private_key=private_hex, public_key="")._kg(d, sm2.default_ecc_table["g"])
        return cls(private_hex, public_hex)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(self.private_hex + "\n")

    @property
    def key_id(self) -> str:
        return sm2_key_id(self.public_hex)

    def public_key_bytes(self) -> bytes:
        return bytes.fromhex(self.public_hex)

    def sign(self, message: bytes) -> bytes:
        crypt = sm2.CryptSM2(private_key=self.private_hex, public_key=self.public_hex)
        nonce = f"{secrets.randbelow(_CURVE_ORDER - 2) + 1:064x}"
        return bytes.fromhex(crypt.sign_with_sm3(message, nonce))


def seal(label: AIGCLabel, digest: bytes, signer: Sm2Signer) -> str:
    """The ``{"SecurityData":...}`` value for ReservedCode1 (compact JSON)."""
    signature = signer.sign(a1_message(label))
    data = {
        "SecurityData": {
            "Type": SECURITY_DATA_TYPE,
            "Version": SECURITY_DATA_VERSION,
            "PubSD": [
                {"Type": "PubKey", "KeyID": signer.key_id, "AlgID": OID_SM2, "KeyValue": signer.public_hex},
                {
                    "Type": "DS",
                    "KeyID": signer.key_id,
                    "AlgID": OID_SM3_WITH_SM2,
                    "TBSData": {"Type": "Md"},
                    "Signature": signature.hex(),
                },
            ],
            "Bindings": [{"Type": "Hash", "AlgID": "SHA256", "Value": digest.hex()}],
        }
    }
    return json.dumps(data, separators=(",", ":"))


def is_security_data(value: str) -> bool:
    return value.startswith('{"SecurityData"') or value.startswith('{"SecurityData":')


def _parse(value: str) -> dict[str, Any] | None:
    try:
        data = json.loads(value)
    except ValueError:
        return None
    body = data.get("SecurityData") if isinstance(data, dict) else None
    return body if isinstance(body, dict) else None


def check(label: AIGCLabel, value: str, digest: bytes, pinned: Any) -> tuple[Integrity, str, str]:
    """(integrity, key id, reason) for a SecurityData value; ``pinned(key_id)`` -> public key or None."""
    body = _parse(value)
    if body is None or body.get("Type") != SECURITY_DATA_TYPE:
        return Integrity.UNSIGNED, "", "SecurityData is not a TC260PG object"
    entries = [e for e in body.get("PubSD", []) if isinstance(e, dict)]
    ds = next((e for e in entries if e.get("Type") == "DS"), None)
    if ds is None or ds.get("AlgID") != OID_SM3_WITH_SM2:
        return Integrity.UNSIGNED, "", "no SM3withSM2 signature in SecurityData"
    key_id = str(ds.get("KeyID", ""))
    public = pinned(key_id)
    if public is None:
        return Integrity.UNKNOWN_KEY, key_id, f"SM2 key {key_id} is not pinned in the keyring"
    try:
        crypt = sm2.CryptSM2(private_key="", public_key=bytes(public).hex())
        good = bool(crypt.verify_with_sm3(str(ds.get("Signature", "")), a1_message(label)))
    except (ValueError, TypeError, ZeroDivisionError):
        good = False
    if not good:
        return Integrity.LABEL_ALTERED, key_id, "SM2 signature does not match the label"
    bound = [b for b in body.get("Bindings", []) if isinstance(b, dict) and b.get("AlgID") == "SHA256"]
    if bound and bound[0].get("Value") != digest.hex():
        return Integrity.CONTENT_ALTERED, key_id, "content hash differs from the SecurityData binding"
    return Integrity.INTACT, key_id, ""
