"""The evidence ledger: a tamper-evident log of generation, review and labeling, regulator exports,
and C2PA Content Credentials (Deep Synthesis Provisions Art. 10, 16, 21; Cybersecurity Law Art. 21).
"""

from synthguard.ledger.batcher import Batcher
from synthguard.ledger.c2pa import C2paCredentials, make_test_chain, read_c2pa, sign_c2pa
from synthguard.ledger.checkpoint import Checkpoint, CheckpointSigner, CheckpointVerifier, SignedCheckpoint
from synthguard.ledger.export import export_bundle
from synthguard.ledger.log import Appended, Entry
from synthguard.ledger.merkle import (
    ConsistencyProof,
    Hash,
    HashReader,
    InclusionProof,
    leaf_hash,
    node_hash,
    prove_consistency,
    prove_inclusion,
    stored_hash_index,
    verify_consistency,
    verify_inclusion,
)
from synthguard.ledger.service import MIN_RETENTION_DAYS, Ledger
from synthguard.ledger.verify import check_bundle

__all__ = [
    "MIN_RETENTION_DAYS",
    "Appended",
    "Batcher",
    "C2paCredentials",
    "Checkpoint",
    "CheckpointSigner",
    "CheckpointVerifier",
    "ConsistencyProof",
    "Entry",
    "Hash",
    "HashReader",
    "InclusionProof",
    "Ledger",
    "SignedCheckpoint",
    "check_bundle",
    "export_bundle",
    "leaf_hash",
    "make_test_chain",
    "node_hash",
    "prove_consistency",
    "prove_inclusion",
    "read_c2pa",
    "sign_c2pa",
    "stored_hash_index",
    "verify_consistency",
    "verify_inclusion",
]
