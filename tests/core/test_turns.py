"""Turns per team: ``size`` at once, the rest in order, idle teams forgotten."""

from __future__ import annotations

import asyncio

import pytest

from rankion_core.turns import TeamTurns


async def test_a_team_waits_for_its_turn_and_another_team_does_not() -> None:
    turns, order = TeamTurns(1), []
    release = asyncio.Event()

    async def first() -> None:
        async with turns.turn(7):
            order.append("first in")
            await release.wait()

    async def second() -> None:
        async with turns.turn(7):
            order.append("second in")

    running = [asyncio.ensure_future(first()), asyncio.ensure_future(second())]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert turns.count(7) == 2 and order == ["first in"]
    async with turns.turn(8):  # another team's turn is its own
        order.append("other team")
    release.set()
    await asyncio.gather(*running)
    assert order == ["first in", "other team", "second in"]
    assert turns.count(7) == 0 and not turns._teams  # forgotten


async def test_a_turn_waited_for_too_long_raises_what_it_is_told() -> None:
    turns = TeamTurns(1)
    async with turns.turn(7):
        with pytest.raises(TimeoutError):
            async with turns.turn(7, wait=0.01):
                pass
        with pytest.raises(LookupError):
            async with turns.turn(7, wait=0.01, late=LookupError):
                pass
    assert turns.count(7) == 0
