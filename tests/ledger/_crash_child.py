"""Child process of test_crash.py: append forever, print each acknowledged entry as "seq i".

Single appends, batches and background-batched submits alternate, so a SIGKILL lands inside any.
An entry is printed only after ``record``/``record_many`` returned (or its ``submit`` future
resolved), i.e. after its transaction committed; the parent treats every printed line as a
promise the ledger must keep.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from synthguard.config import Settings
from synthguard.ledger import Entry, Ledger


def main() -> None:
    data_dir, start = Path(sys.argv[1]), int(sys.argv[2])
    ledger = Ledger.open(Settings(data_dir=data_dir, ledger_origin="crash.test/ledger"))
    os.write(1, b"ready\n")
    i = start
    while True:
        if i % 3 == 0:  # a batch of 7
            batch = [Entry("crash.test", f"c{j}", {"i": j}, idem_key=f"e{j}") for j in range(i, i + 7)]
            done = ledger.record_many(batch)
            os.write(
                1, "".join(f"{a.seq} {j}\n" for a, j in zip(done, range(i, i + 7), strict=True)).encode()
            )
            i += 7
        elif i % 3 == 1 and i % 2 == 0:  # 5 through the background batcher, acked as futures resolve
            futures = [
                ledger.submit(Entry("crash.test", f"c{j}", {"i": j}, idem_key=f"e{j}"))
                for j in range(i, i + 5)
            ]
            for j, future in zip(range(i, i + 5), futures, strict=True):
                os.write(1, f"{future.result().seq} {j}\n".encode())
            i += 5
        else:
            a = ledger.record("crash.test", f"c{i}", user_id=f"user{i % 5}", idem_key=f"e{i}", i=i)
            os.write(1, f"{a.seq} {i}\n".encode())
            i += 1


if __name__ == "__main__":
    main()
