"""The dispatcher's database lane: one unit at a time, lease proofs before the units still waiting."""

from __future__ import annotations

import asyncio

from clinic_reminders.dispatcher.lane import OTHER, PROOF, Lane


async def _unit(lane: Lane, name: str, priority: int, order: list[str], release: asyncio.Event) -> None:
    async with lane.turn(priority):
        order.append(name)
        await release.wait()


def test_it_lets_a_proof_go_before_the_units_waiting_but_never_interrupts_one() -> None:
    async def scenario() -> list[str]:
        lane, order, release = Lane(), [], asyncio.Event()
        running = asyncio.create_task(_unit(lane, "claim", OTHER, order, release))
        await asyncio.sleep(0)
        waiting = [
            asyncio.create_task(_unit(lane, name, priority, order, release))
            for name, priority in (("outcomes", OTHER), ("heartbeat", OTHER), ("proof", PROOF))
        ]
        await asyncio.sleep(0)
        assert order == ["claim"]  # the others wait, the proof too
        release.set()
        await asyncio.gather(running, *waiting)
        return order

    assert asyncio.run(scenario()) == ["claim", "proof", "outcomes", "heartbeat"]


def test_a_waiter_cancelled_in_line_does_not_hold_the_lane() -> None:
    async def scenario() -> list[str]:
        lane, order, release = Lane(), [], asyncio.Event()
        running = asyncio.create_task(_unit(lane, "first", OTHER, order, release))
        await asyncio.sleep(0)
        gone = asyncio.create_task(_unit(lane, "gone", PROOF, order, release))
        after = asyncio.create_task(_unit(lane, "after", OTHER, order, release))
        await asyncio.sleep(0)
        gone.cancel()
        release.set()
        await asyncio.gather(running, after)
        async with lane.turn():  # free again
            order.append("later")
        return order

    assert asyncio.run(scenario()) == ["first", "after", "later"]
