"""Review engine (Deep Synthesis Provisions Art. 6, 10; TC260-003): library, classifiers, policy, queue."""

from synthguard.review.engine import ReviewEngine, text_from_bytes
from synthguard.review.eval import EvalReport, run_bank
from synthguard.review.keywords import Entry, IncrementalMatcher, Match, Matcher, read_library
from synthguard.review.library import ImportReport, Library, LibraryStats, sample_library
from synthguard.review.normalize import Normalized, normalize
from synthguard.review.policy import Context, Policy, ReviewDecision, ReviewFinding, Rule
from synthguard.review.queue import QueueItem, ReviewQueue
from synthguard.review.taxonomy import BUILTIN_RISKS, REFUSAL_RISKS, TC260_RISKS, Action, Risk

__all__ = [
    "BUILTIN_RISKS",
    "REFUSAL_RISKS",
    "TC260_RISKS",
    "Action",
    "Context",
    "Entry",
    "EvalReport",
    "ImportReport",
    "IncrementalMatcher",
    "Library",
    "LibraryStats",
    "Match",
    "Matcher",
    "Normalized",
    "Policy",
    "QueueItem",
    "ReviewDecision",
    "ReviewEngine",
    "ReviewFinding",
    "ReviewQueue",
    "Risk",
    "Rule",
    "normalize",
    "read_library",
    "run_bank",
    "sample_library",
    "text_from_bytes",
]
