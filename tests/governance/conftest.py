from __future__ import annotations

from synthguard.governance import Actor

STAFF = Actor("rev", "reviewer")
