"""Real-name users, verifiers and API keys (Deep Synthesis Provisions Art. 8, 9, 10)."""

from synthguard.identity.keys import SCOPES, ApiKeys, KeyInfo
from synthguard.identity.numbers import (
    birth_date,
    document_type,
    identity_number_problem,
    is_mobile,
    is_resident_id,
    is_uscc,
    mask_identity_number,
    mask_mobile,
    resident_id_check_char,
    uscc_check_char,
)
from synthguard.identity.users import ALLOWED, STATUSES, FieldCipher, UserDirectory, UserView, agreement_text
from synthguard.identity.verifiers import (
    HttpVerifier,
    IdentityClaim,
    OfflineVerifier,
    Verdict,
    Verifier,
    verifier_from_settings,
)

__all__ = [
    "ALLOWED",
    "SCOPES",
    "STATUSES",
    "ApiKeys",
    "FieldCipher",
    "HttpVerifier",
    "IdentityClaim",
    "KeyInfo",
    "OfflineVerifier",
    "UserDirectory",
    "UserView",
    "Verdict",
    "Verifier",
    "agreement_text",
    "birth_date",
    "document_type",
    "identity_number_problem",
    "is_mobile",
    "is_resident_id",
    "is_uscc",
    "mask_identity_number",
    "mask_mobile",
    "resident_id_check_char",
    "uscc_check_char",
    "verifier_from_settings",
]
