"""The gateway's worker threads for its per-request hops (admission, review, evidence commits).

Store reads and writes never run on the event loop, so every request hops to a worker thread and
back a few times. Starlette's ``run_in_threadpool`` (anyio) pays for a Condition-based queue and an
extra cancellation checkpoint per hop; ``loop.run_in_executor`` on a plain ``ThreadPoolExecutor``
hands off through a C ``SimpleQueue``. Measured on the 2-core box with a trivial function: ~115-130
us of CPU per hop with anyio at 16 concurrent hops, ~28 us with this pool (~77 us each one at a
time); a request makes three such hops, so the hot path uses this pool.

A cancelled caller does not stop a hop already running: the thread finishes (an admission charge
or a commit is never left half done), as with anyio's default.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

WORKERS = 16  # hops are short (store round trips, a keyword scan); a commit waits on one fsync

_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="gateway")
    return _pool


async def in_thread(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``fn`` on a gateway worker thread and return its result (or raise its exception)."""
    call = functools.partial(fn, *args, **kwargs) if kwargs else functools.partial(fn, *args)
    return await asyncio.get_running_loop().run_in_executor(_executor(), call)
