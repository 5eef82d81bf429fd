"""Pytest fixtures for the Salesforce stand-in.

Import them explicitly in a test module:
    from sfstandin_fixture import salesforce  # noqa: F401
`salesforce_client` (a simple-salesforce client on a fresh session) needs `salesforce` too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import pytest
from sfstandin import StandIn, running_standin
from simple_salesforce.api import Salesforce, SFType
from simple_salesforce.bulk2 import SFBulk2Type


@pytest.fixture
def salesforce() -> Iterator[StandIn]:
    """A stand-in of its own for this test: fresh data, counters and faults."""
    with running_standin() as standin:
        yield standin


@pytest.fixture(scope="session")
def salesforce_server() -> Iterator[StandIn]:
    """One stand-in for the whole session; call `reset()` for fresh data between tests."""
    with running_standin() as standin:
        yield standin


@pytest.fixture
def salesforce_client(salesforce: StandIn) -> Iterator[Salesforce]:
    """simple-salesforce in DIRECT mode (instance_url + session_id), as the connector uses it."""
    with salesforce.http_session() as session:
        yield Salesforce(
            instance_url=salesforce.base_url,
            session_id=salesforce.issue_token(),
            session=session,
            version=salesforce.api_version,
        )


def sobject(sf: Salesforce, name: str) -> SFType:
    """`sf.<name>` with a precise type (simple-salesforce's `__getattr__` returns a union)."""
    handler = getattr(sf, name)
    assert isinstance(handler, SFType)
    return handler


def bulk2(sf: Salesforce, name: str) -> SFBulk2Type:
    """`sf.bulk2.<name>`, typed."""
    handler = getattr(sf.bulk2, name)
    assert isinstance(handler, SFBulk2Type)
    return handler


def rest(sf: Salesforce, path: str, **kwargs: Any) -> Any:
    """`sf.restful(...)` (any path under /services/data/vNN.0/) as parsed JSON."""
    return sf.restful(path, **kwargs)


def content_of(error: BaseException) -> Any:
    """The parsed error body a simple-salesforce exception carries."""
    return cast(Any, error).content
