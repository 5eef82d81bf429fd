"""Request-scoped access to the one runtime the composition root built."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from callbridge.services.runtime import Runtime


async def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(runtime)]
