"""The gateway's worker hop: results and exceptions come back to the caller, work runs off the
event loop, and a cancelled caller never stops a hop half way (a charge or commit completes)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from synthguard.gateway.threads import in_thread


def test_a_hop_returns_the_result_from_another_thread() -> None:
    async def main() -> tuple[int, str]:
        return await in_thread(lambda a, b: a + b, 2, b=3), await in_thread(
            lambda: threading.current_thread().name
        )

    total, name = asyncio.run(main())
    assert total == 5 and name.startswith("gateway-") and name != threading.current_thread().name


def test_a_hop_raises_the_callers_exception() -> None:
    def fail() -> None:
        raise KeyError("nope")

    with pytest.raises(KeyError, match="nope"):
        asyncio.run(in_thread(fail))


def test_a_cancelled_caller_does_not_stop_the_hop() -> None:
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def work() -> None:
        started.set()
        release.wait(5)
        finished.set()

    async def main() -> None:
        task = asyncio.ensure_future(in_thread(work))
        while not started.is_set():
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        release.set()

    asyncio.run(main())
    assert finished.wait(5)


def test_many_concurrent_hops_each_get_their_own_answer() -> None:
    def square(i: int) -> int:
        return i * i

    async def main() -> list[int]:
        return list(await asyncio.gather(*(in_thread(square, i) for i in range(200))))

    assert asyncio.run(main()) == [i * i for i in range(200)]
