"""Governance records and staff workflows (Deep Synthesis Provisions Art. 7, 10-12, 14, 15, 19-21)."""

from synthguard.governance._common import PUBLIC, ROLES, Actor
from synthguard.governance.assessments import CHECKLISTS, KINDS, AssessmentView, ScheduleEntry
from synthguard.governance.complaints import (
    CATEGORIES,
    CATEGORY_NAMES,
    ComplaintView,
    PublicStatus,
    procedure,
)
from synthguard.governance.consent import METHODS, USES, ConsentView
from synthguard.governance.dashboard import Dashboard
from synthguard.governance.evidence import evidence_kind
from synthguard.governance.filing import Filing, check_filing
from synthguard.governance.incidents import IncidentView, report_pdf
from synthguard.governance.refutations import RefutationView
from synthguard.governance.sanctions import SANCTIONS
from synthguard.governance.service import DECISIONS, Governance
from synthguard.governance.staff import StaffSession, check_password, hash_password

__all__ = [
    "CATEGORIES",
    "CATEGORY_NAMES",
    "CHECKLISTS",
    "DECISIONS",
    "KINDS",
    "METHODS",
    "PUBLIC",
    "ROLES",
    "SANCTIONS",
    "USES",
    "Actor",
    "AssessmentView",
    "ComplaintView",
    "ConsentView",
    "Dashboard",
    "Filing",
    "Governance",
    "IncidentView",
    "PublicStatus",
    "RefutationView",
    "ScheduleEntry",
    "StaffSession",
    "check_filing",
    "check_password",
    "evidence_kind",
    "hash_password",
    "procedure",
    "report_pdf",
]
