"""The lease check right before a send: proofs of sends that become ready together share one statement, a proof
that came back too late is not relied on, and a failed one stops every send that waited for it."""

from __future__ import annotations

import asyncio
import time

import pytest

from clinic_reminders.dispatcher.fence import Fence, Proof
from clinic_reminders.dispatcher.leases import Lease


class FakeDatabase:
    """Stands in for `leases.prove`: holds the given leases, and records each statement it was asked to run."""

    def __init__(
        self, held: set[Lease], *, paused_for: float = 0.0, fails: Exception | None = None, takes: float = 0.0
    ) -> None:
        self.held = held
        self.paused_for = paused_for  # as if the worker stopped between reading the clock and the answer
        self.fails = fails
        self.takes = takes  # seconds per statement
        self.statements: list[list[Lease]] = []

    async def prove(self, leases: list[Lease]) -> tuple[set[int], float]:
        read_at = time.monotonic() - self.paused_for
        self.statements.append(leases)
        await asyncio.sleep(self.takes)
        if self.fails is not None:
            raise self.fails
        return {lease.reminder_id for lease in leases if lease in self.held}, read_at


def check_all(fence: Fence, leases: list[Lease]) -> list[Proof]:
    async def together() -> list[Proof]:
        return list(await asyncio.gather(*(fence.check(lease) for lease in leases)))

    return asyncio.run(together())


def test_sends_that_become_ready_together_share_one_statement() -> None:
    leases = [Lease(reminder_id, generation=1) for reminder_id in range(1, 21)]
    database = FakeDatabase(held=set(leases[:15]))
    proofs = check_all(Fence(database.prove, fresh_for=60.0), leases)
    assert len(database.statements) == 1 and sorted(database.statements[0]) == leases
    assert proofs == [Proof.HELD] * 15 + [Proof.LOST] * 5


def test_a_lease_claimed_again_since_is_not_the_one_being_proven() -> None:
    database = FakeDatabase(held={Lease(7, generation=2)})
    assert check_all(Fence(database.prove, fresh_for=60.0), [Lease(7, generation=1)]) == [Proof.LOST]


def test_it_logs_how_many_sends_it_stopped(caplog: pytest.LogCaptureFixture) -> None:
    leases = [Lease(1, 1), Lease(2, 1), Lease(3, 1)]
    check_all(Fence(FakeDatabase(held={leases[0]}).prove, fresh_for=60.0), leases)
    assert "2 of 3 reminders were taken over by another worker" in caplog.text


def test_a_proof_that_came_back_too_late_is_not_relied_on() -> None:
    database = FakeDatabase(held={Lease(1, 1)}, paused_for=5.0)
    assert check_all(Fence(database.prove, fresh_for=1.0), [Lease(1, 1)]) == [Proof.LATE]


def test_a_proof_that_failed_stops_every_send_that_waited_for_it() -> None:
    database = FakeDatabase(held=set(), fails=ConnectionError("the database went away"))
    fence = Fence(database.prove, fresh_for=60.0)

    async def together() -> list[object]:
        return list(await asyncio.gather(*(fence.check(Lease(i, 1)) for i in (1, 2)), return_exceptions=True))

    assert [type(outcome) for outcome in asyncio.run(together())] == [ConnectionError, ConnectionError]


def test_sends_that_become_ready_later_get_a_statement_of_their_own() -> None:
    database = FakeDatabase(held={Lease(1, 1), Lease(2, 1)})
    fence = Fence(database.prove, fresh_for=60.0)

    async def one_after_the_other() -> list[Proof]:
        return [await fence.check(Lease(1, 1)), await fence.check(Lease(2, 1))]

    assert asyncio.run(one_after_the_other()) == [Proof.HELD, Proof.HELD]
    assert len(database.statements) == 2


def test_sends_that_become_ready_while_a_proof_runs_share_the_next_one() -> None:
    leases = [Lease(reminder_id, generation=1) for reminder_id in range(1, 12)]
    database = FakeDatabase(held=set(leases), takes=0.1)  # a slow database, or one busy with a claim
    fence = Fence(database.prove, fresh_for=60.0)

    async def one_then_ten() -> list[Proof]:
        first = asyncio.create_task(fence.check(leases[0]))
        later = []
        for lease in leases[1:]:
            await asyncio.sleep(0.005)  # one send frees a slot every 5 ms
            later.append(asyncio.create_task(fence.check(lease)))
        return [await first, *[await task for task in later]]

    assert asyncio.run(one_then_ten()) == [Proof.HELD] * 11
    assert [len(statement) for statement in database.statements] == [1, 10]
