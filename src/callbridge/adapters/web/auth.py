"""The interim admin token. Every route that shows or changes data depends on `require_admin`.

Replaced by users, roles and scoped tokens in the security work; until then nothing is open
but /healthz and the API description.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from callbridge.adapters.web.errors import Unauthorized

bearer = HTTPBearer(auto_error=False, description="The admin API token from settings")


async def require_admin(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    expected: str = request.app.state.admin_token
    if credentials is None:
        raise Unauthorized("an admin API token is required (Authorization: Bearer ...)")
    if not secrets.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise Unauthorized("the API token is not valid")
