"""Child process of test_atomic.py: save label records in a loop, print each acknowledged record id.

A record is printed only after ``Synthguard._save_records`` returned, i.e. after the store row and
its ledger entry committed; the parent then kills this process with SIGKILL at a random moment.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from synthguard.config import Settings
from synthguard.core import Synthguard, _LabelRow, _Pending
from synthguard.labels.implicit import Staged
from synthguard.results import LabelOutcome
from tests.conftest import PLATFORM, PRODUCER


def main() -> None:
    data_dir = Path(sys.argv[1])
    settings = Settings(data_dir=data_dir, provider_code=PRODUCER, propagator_code=PLATFORM)
    with Synthguard.open(settings) as sg:
        sg.ledger.record("crash.warmup")  # open the ledger before announcing readiness
        os.write(1, b"ready\n")
        n = 0
        while True:
            batch = [
                _LabelRow(
                    content_id=f"C{n}-{k}",
                    role="produce",
                    file_name="a.png",
                    format="png",
                    content_digest=f"{n:064x}",
                    label_json="{}",
                    key_id="k",
                )
                for k in range(1 + n % 3)
            ]
            # Nothing is staged: only the records and their entries are under test.
            unstaged = Staged(str(data_dir / "none"), data_dir / "none", 0)
            sg._save_records([_Pending(LabelOutcome(source="a.png"), r, unstaged, "sha256") for r in batch])
            os.write(1, "".join(f"{r.id}\n" for r in batch).encode())
            n += 1


if __name__ == "__main__":
    main()
