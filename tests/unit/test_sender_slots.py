"""The sender's slots: a free slot goes to a waiting reply before a waiting broadcast copy."""

from __future__ import annotations

import asyncio

from bot.sender import Slots


async def test_urgent_waiters_are_served_before_bulk_ones_and_cancelled_waiters_pass_on() -> None:
    slots = Slots(1)
    order: list[str] = []

    async def worker(name: str, bulk: bool) -> None:
        await slots.acquire(bulk)
        order.append(name)
        await asyncio.sleep(0)
        slots.release()

    await slots.acquire(True)  # a copy is being sent
    tasks = [asyncio.create_task(worker(f"copy{i}", True)) for i in range(3)]
    cancelled = asyncio.create_task(worker("gone", False))
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(worker("reply", False)))
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.sleep(0)
    slots.release()
    await asyncio.gather(*tasks)
    assert order == ["reply", "copy0", "copy1", "copy2"]
    assert slots.free == 1
