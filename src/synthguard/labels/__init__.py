"""Labels: the GB 45438-2025 implicit label (``implicit``) and its signatures (``sign``)."""

from synthguard.labels.model import (
    AIGCLabel,
    Integrity,
    LabelFinding,
    LabelValue,
    RawLabel,
    Verdict,
    provider_code_problem,
)
from synthguard.labels.sign import (
    Ed25519Signer,
    SignatureCheck,
    Signer,
    check_producer,
    check_propagator,
    sign_producer,
    sign_propagator,
)

__all__ = [
    "AIGCLabel",
    "Ed25519Signer",
    "Integrity",
    "LabelFinding",
    "LabelValue",
    "RawLabel",
    "SignatureCheck",
    "Signer",
    "Verdict",
    "check_producer",
    "check_propagator",
    "provider_code_problem",
    "sign_producer",
    "sign_propagator",
]
