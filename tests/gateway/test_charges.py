"""Admission charges: read at admission, counted in the gateway's ChargeBook and written with the
next evidence commit. Within one gateway the limits are exact; between two gateways on one store
a charge counts once it is committed (soft by one commit window, as documented)."""

from __future__ import annotations

import asyncio
import time

import pytest
from fastapi import Request

from synthguard.config import Settings
from synthguard.core import Synthguard
from synthguard.errors import QuotaExceeded, RateLimited
from synthguard.gateway import evidence
from synthguard.gateway.openai_proxy import Caller, Gateway
from synthguard.identity.keys import ChargeBook, KeyInfo


def request_with(key: str) -> Request:
    return Request(
        {
            "type": "http",
            "method": "POST",
            "path": "/",
            "headers": [(b"authorization", f"Bearer {key}".encode())],
        }
    )


def stored_used(core: Synthguard, key_id: str) -> int:
    (info,) = [k for k in core.apikeys.list_keys() if k.key_id == key_id]
    return info.used


async def admit(gw: Gateway, key: str) -> Caller:
    return await gw.authenticate(request_with(key), scope="chat", capability="generate")


async def settle(gw: Gateway) -> None:
    """Let the gateway's writer commit what its book holds (a commit or the idle flush)."""
    deadline = time.monotonic() + 5
    while gw.evidence.charges.pending() or (gw.evidence._writer and not gw.evidence._writer.done()):
        assert time.monotonic() < deadline
        await asyncio.sleep(evidence.CHARGE_FLUSH_S / 4)


def test_a_quota_is_exact_within_one_gateway_before_anything_is_committed(sg: Synthguard) -> None:
    sg.users.add_user("quinn")
    plain, info = sg.apikeys.create("quinn", quota=3)
    gw = Gateway(sg.settings, sg)

    async def main() -> list[object]:
        # Admitted back to back: no charge is committed yet, the book alone keeps the count.
        outcomes = await asyncio.gather(*(admit(gw, plain) for _ in range(5)), return_exceptions=True)
        assert stored_used(sg, info.key_id) == 0
        await settle(gw)
        with pytest.raises(QuotaExceeded):  # now from the store's own counter
            await admit(gw, plain)
        return outcomes

    outcomes = asyncio.run(main())
    assert sum(isinstance(o, Caller) for o in outcomes) == 3
    assert [type(o) for o in outcomes if not isinstance(o, Caller)] == [QuotaExceeded, QuotaExceeded]
    assert stored_used(sg, info.key_id) == 3


def test_pending_charges_are_written_when_the_gateway_shuts_down(sg: Synthguard) -> None:
    sg.users.add_user("ravi")
    plain, info = sg.apikeys.create("ravi")
    gw = Gateway(sg.settings, sg)

    async def main() -> None:
        await admit(gw, plain)
        await gw.aclose()  # before the idle flush is due

    asyncio.run(main())
    assert stored_used(sg, info.key_id) == 1


def test_charges_are_committed_without_any_answer_and_refusals_cost_nothing(sg: Synthguard) -> None:
    sg.users.add_user("rosa")
    plain, info = sg.apikeys.create("rosa", quota=2)
    gw = Gateway(sg.settings, sg)

    async def main() -> None:
        await admit(gw, plain)
        await admit(gw, plain)
        with pytest.raises(QuotaExceeded):
            await admit(gw, plain)
        await settle(gw)  # no evidence commit at all: the idle flush writes the charges

    asyncio.run(main())
    assert stored_used(sg, info.key_id) == 2


def test_two_gateways_on_one_store_honour_one_quota_once_charges_are_committed(settings: Settings) -> None:
    with Synthguard.open(settings) as one, Synthguard.open(settings) as two:
        one.users.add_user("sam")
        plain, info = one.apikeys.create("sam", quota=5)
        a, b = Gateway(settings, one), Gateway(settings, two)

        async def main() -> list[type[BaseException] | None]:
            for _ in range(3):
                await admit(a, plain)
            await settle(a)  # committed: the other replica sees the three from now on
            results: list[type[BaseException] | None] = []
            for _ in range(3):
                try:
                    await admit(b, plain)
                    results.append(None)
                except QuotaExceeded as exc:
                    results.append(type(exc))
            await settle(b)
            return results

        assert asyncio.run(main()) == [None, None, QuotaExceeded]
        assert stored_used(two, info.key_id) == 5


def test_between_replicas_the_overshoot_is_bounded_by_uncommitted_charges(settings: Settings) -> None:
    """The documented softness: a replica that has not yet seen another's pending charges can admit
    what the store still shows as free, never more; once both commit, the store holds the truth."""
    with Synthguard.open(settings) as one, Synthguard.open(settings) as two:
        one.users.add_user("tess")
        plain, info = one.apikeys.create("tess", quota=4)
        a, b = Gateway(settings, one), Gateway(settings, two)

        async def main() -> tuple[int, int]:
            passed_a = passed_b = 0
            for gw in (a, b):  # both admit before either commits
                for _ in range(6):
                    try:
                        await admit(gw, plain)
                    except QuotaExceeded:
                        continue
                    if gw is a:
                        passed_a += 1
                    else:
                        passed_b += 1
            await settle(a)
            await settle(b)
            with pytest.raises(QuotaExceeded):
                await admit(a, plain)
            with pytest.raises(QuotaExceeded):
                await admit(b, plain)
            return passed_a, passed_b

        passed_a, passed_b = asyncio.run(main())
        assert passed_a == 4 and passed_b <= 4  # each replica alone is exact
        assert stored_used(one, info.key_id) == passed_a + passed_b


def test_a_per_minute_limit_counts_pending_and_committed_requests(settings: Settings) -> None:
    with Synthguard.open(settings) as one, Synthguard.open(settings) as two:
        one.users.add_user("uma")
        plain, _ = one.apikeys.create("uma", rate_per_min=3)
        a, b = Gateway(settings, one), Gateway(settings, two)

        async def main() -> None:
            await admit(a, plain)
            await admit(a, plain)
            await settle(a)
            await admit(b, plain)  # 2 committed by a + this one
            with pytest.raises(RateLimited):
                await admit(b, plain)  # 2 committed + 1 pending here
            await settle(b)
            with pytest.raises(RateLimited):
                await admit(a, plain)

        minute = int(time.time() // 60)
        if time.time() - minute * 60 > 55:  # keep the test inside one minute window
            time.sleep(61 - (time.time() - minute * 60))
        asyncio.run(main())


def test_the_book_refuses_on_the_store_counters_plus_its_own() -> None:
    key = KeyInfo("k1", 1, "u", "user", ("chat",), 2, 10, 9, None, None)  # type: ignore[arg-type]
    book = ChargeBook()
    book.take(key, window_count=0, minute=100)  # used 9 + 0 held < quota 10
    with pytest.raises(QuotaExceeded):
        book.take(key, window_count=0, minute=100)  # 9 + 1 held
    charges = book.drain()
    assert [(c.key_id, c.minute, c.windowed, c.n) for c in charges] == [("k1", 100, True, 1)]
    with pytest.raises(QuotaExceeded):
        book.take(key, window_count=0, minute=100)  # in flight still counts
    book.settle(charges, committed=False)  # a failed commit: the charge waits for the next one
    assert book.pending() and book.drain()[0].n == 1
    roomy = KeyInfo("k2", 1, "u", "user", ("chat",), 2, 0, 0, None, None)  # type: ignore[arg-type]
    book.take(roomy, window_count=1, minute=100)
    with pytest.raises(RateLimited):
        book.take(roomy, window_count=1, minute=100)  # 1 in the store + 1 held = limit 2
    book.take(roomy, window_count=0, minute=101)  # a new minute
