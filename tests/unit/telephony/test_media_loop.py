"""Choosing the event loop: uvloop only when it can be imported, and saying which."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Iterator

import pytest

from callbridge.adapters.telephony.media.loop import (
    install_event_loop,
    loop_factory,
    running_loop_name,
)

UVLOOP = importlib.util.find_spec("uvloop") is not None


@pytest.fixture
def restore_policy() -> Iterator[None]:
    yield
    asyncio.set_event_loop_policy(None)


async def name_of_running_loop() -> str:
    return running_loop_name()


@pytest.mark.usefixtures("restore_policy")
def test_installs_what_it_reports() -> None:
    expected = "uvloop" if UVLOOP else "asyncio"
    assert install_event_loop() == expected
    assert asyncio.run(name_of_running_loop()) == expected
    assert install_event_loop(prefer_uvloop=False) == "asyncio"
    assert asyncio.run(name_of_running_loop()) == "asyncio"


def test_the_factory_makes_the_loop_it_names() -> None:
    for prefer in (True, False):
        factory, name = loop_factory(prefer_uvloop=prefer)
        assert name == ("uvloop" if prefer and UVLOOP else "asyncio")
        with asyncio.Runner(loop_factory=factory) as runner:
            assert runner.run(name_of_running_loop()) == name
