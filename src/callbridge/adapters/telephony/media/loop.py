"""Choosing the event loop: uvloop when it is installed, standard asyncio otherwise."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from typing import Literal

LoopName = Literal["uvloop", "asyncio"]


def loop_factory(
    prefer_uvloop: bool = True,
) -> tuple[Callable[[], asyncio.AbstractEventLoop], LoopName]:
    """A factory for `asyncio.Runner(loop_factory=...)`, and which loop it makes."""
    if prefer_uvloop:
        try:
            uvloop = importlib.import_module("uvloop")
        except ImportError:
            pass
        else:
            factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
            return factory, "uvloop"
    return asyncio.new_event_loop, "asyncio"


def install_event_loop(prefer_uvloop: bool = True) -> LoopName:
    """Make new event loops uvloop ones when uvloop is importable; says which loop it will be.

    Call once at startup, before the loop is created (`asyncio.run` then uses it).
    """
    if prefer_uvloop:
        try:
            uvloop = importlib.import_module("uvloop")
        except ImportError:
            pass
        else:
            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
            return "uvloop"
    asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())
    return "asyncio"


def running_loop_name() -> LoopName:
    """Which kind of loop runs the current task."""
    loop = asyncio.get_running_loop()
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
