"""Identity numbers and, later, real-name users (Deep Synthesis Provisions Art. 9)."""

from synthguard.identity.numbers import (
    is_mobile,
    is_resident_id,
    is_uscc,
    mask_identity_number,
    resident_id_check_char,
    uscc_check_char,
)

__all__ = [
    "is_mobile",
    "is_resident_id",
    "is_uscc",
    "mask_identity_number",
    "resident_id_check_char",
    "uscc_check_char",
]
