"""Every Salesforce request goes through `SalesforceClient.call`: it logs in when needed,
re-authenticates once on a 401, backs off and retries outages, locks and limits, and spaces
requests out when the org's daily allocation runs low (contract §7, §8, §3.12)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

import requests
import structlog
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError as LibraryError

from callbridge.adapters.crm.salesforce.auth import Token, TokenSource
from callbridge.adapters.crm.salesforce.errors import (
    SalesforceAuthError,
    SalesforceError,
    SalesforceUnavailable,
)
from callbridge.adapters.crm.salesforce.limits import LIMIT_HEADER, ApiUsage, Pacing
from callbridge.adapters.crm.salesforce.limits import parse_limit_info as parse_usage
from callbridge.adapters.crm.salesforce.payload import Json, as_list, as_object
from callbridge.adapters.crm.salesforce.retry import Action, Backoff, classify, error_text
from callbridge.domain.clock import Clock

log = structlog.get_logger(__name__)
R = TypeVar("R")
CLIENT_NAME = "callbridge"  # Sforce-Call-Options client: how CDC tells our own writes apart


class RestApi(Protocol):
    """The part of simple_salesforce.Salesforce the connector uses (the typed boundary)."""

    def query(self, query: str, include_deleted: bool = False, **kwargs: Any) -> Any: ...
    def query_more(
        self,
        next_records_identifier: str,
        identifier_is_url: bool = False,
        include_deleted: bool = False,
        **kwargs: Any,
    ) -> Any: ...
    def search(self, search: str) -> Any: ...
    def restful(
        self, path: str, params: dict[str, Any] | None = None, method: str = "GET", **kwargs: Any
    ) -> Any: ...


ApiFactory = Callable[[Token, requests.Session, str], RestApi]


def simple_salesforce_api(token: Token, session: requests.Session, version: str) -> RestApi:
    """simple-salesforce in its "direct" mode: our token, our session, our API version."""
    return Salesforce(
        instance_url=token.instance_url,
        session_id=token.access_token,
        session=session,
        version=version,
    )


class SalesforceClient:
    """One org, one session, one token at a time; safe to share between threads."""

    def __init__(
        self,
        tokens: TokenSource,
        session: requests.Session,
        *,
        version: str,
        pacing: Pacing,
        clock: Clock,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        api_factory: ApiFactory = simple_salesforce_api,
    ) -> None:
        self.tokens, self.session, self.version = tokens, session, version
        self.pacing, self.clock, self.sleep = pacing, clock, sleep
        self.backoff = backoff or Backoff()
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self._factory = api_factory
        self._api: RestApi | None = None
        self._login_lock = threading.Lock()
        self._pace_lock = threading.Lock()
        self._last_sent: float | None = None
        self.usage: ApiUsage | None = None
        self.last_error: SalesforceError | None = None  # the last call's failure, until a success
        self.retries = 0  # retries so far (outages, locks, limits), for health and tests
        session.headers["Sforce-Call-Options"] = f"client={CLIENT_NAME}"
        session.hooks["response"].append(self._observe)

    # -- the wrapper ------------------------------------------------------------------------

    def call(self, what: str, op: Callable[[RestApi], R], *, idempotent: bool = True) -> R:
        """Run `op` against the API. `idempotent`: safe to send again after a dropped
        connection (an upsert is; a plain create is not)."""
        retry, reauthed = 0, False
        while True:
            try:
                api = self._current_api()
                self._pace()
                result = op(api)
            except LibraryError as exc:
                action = classify(exc.status, exc.content)
                if action is Action.REAUTH and not reauthed:
                    self._relogin(api)
                    reauthed = True
                    continue
                failure = self._failure(what, exc, action)
            except requests.RequestException as exc:
                failure = SalesforceUnavailable(
                    f"Salesforce did not answer {what}: {type(exc).__name__}", call=what
                )
                if not idempotent and not isinstance(exc, requests.ConnectTimeout):
                    self.last_error = failure
                    raise failure from exc
            except SalesforceUnavailable as exc:  # the token endpoint, while logging in
                failure = exc
            except SalesforceError as exc:
                self.last_error = exc
                raise
            else:
                self.last_error = None
                return result
            if (
                not failure.retryable
                or failure.details.get("later")
                or retry + 1 >= self.backoff.attempts
            ):
                # health: down only when Salesforce is out of reach or refuses us
                answered = type(failure) is SalesforceError
                self.last_error = None if answered else failure
                raise failure
            delay = self.backoff.delay(retry, self.rng)
            log.info("salesforce_retry", call=what, error=failure.message, wait_s=round(delay, 2))
            self.retries += 1
            retry += 1
            self.sleep(delay)

    def _failure(self, what: str, exc: LibraryError, action: Action) -> SalesforceError:
        detail = error_text(exc.content)
        message = f"Salesforce refused {what} ({exc.status}): {detail}"
        if action is Action.RETRY:
            return SalesforceUnavailable(message, call=what, status=exc.status)
        if action is Action.LATER:
            return SalesforceUnavailable(
                f"the org's daily API allocation is used up ({what} not sent)",
                call=what,
                status=exc.status,
                later=True,
            )
        if action is Action.REAUTH:
            return SalesforceAuthError(message, call=what, status=exc.status)
        return SalesforceError(message, call=what, status=exc.status, body=exc.content)

    # -- login ------------------------------------------------------------------------------

    def _current_api(self) -> RestApi:
        api = self._api
        if api is not None:
            return api
        with self._login_lock:
            if self._api is None:
                self._api = self._login()
            return self._api

    def _relogin(self, failed: RestApi) -> None:
        with self._login_lock:
            if self._api is failed:  # another thread may have done it already
                self._api = self._login()

    def _login(self) -> RestApi:
        self._pace()  # the token request counts as a request to the org too
        token = self.tokens.fetch(self.session)
        log.info("salesforce_login", instance_url=token.instance_url)
        return self._factory(token, self.session, self.version)

    # -- the allocation ---------------------------------------------------------------------

    def _observe(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        usage = parse_usage(response.headers.get(LIMIT_HEADER))
        if usage is not None:
            self.usage = usage

    def _pace(self) -> None:
        with self._pace_lock:
            now = self.clock.now()
            since = float("inf") if self._last_sent is None else now - self._last_sent
            wait = self.pacing.wait_s(self.usage, since)
            if wait > 0:
                log.info("salesforce_pacing", wait_s=round(wait, 2), usage=self.usage)
                self.sleep(wait)
            self._last_sent = self.clock.now()

    @property
    def throttled(self) -> bool:
        return self.pacing.throttled(self.usage)

    # -- the calls the connector makes --------------------------------------------------------

    def rest(
        self,
        path: str,
        method: str = "GET",
        *,
        params: dict[str, Any] | None = None,
        body: object = None,
        idempotent: bool = True,
    ) -> object:
        """Any resource under /services/data/vNN.0/; None for 204 No Content."""
        extra: dict[str, Any] = {} if body is None else {"json": body}
        return self.call(
            f"{method} {path}",
            lambda api: api.restful(path, params=params, method=method, **extra),
            idempotent=idempotent,
        )

    def query(self, soql: str, *, include_deleted: bool = False) -> Iterator[Json]:
        """The records of a SOQL query, page after page (each page is one request)."""
        what = "queryAll" if include_deleted else "query"
        page = as_object(self.call(what, lambda api: api.query(soql, include_deleted)), what)
        while True:
            for record in as_list(page.get("records", []), what):
                yield as_object(record, what)
            locator = page.get("nextRecordsUrl")
            if page.get("done", True) or not isinstance(locator, str):
                return
            page = as_object(
                self.call("query_more", _next_page(locator)),
                what,
            )

    def search(self, sosl: str) -> list[Json]:
        """The records a SOSL search found, grouped in RETURNING order."""
        answer = self.call("search", lambda api: api.search(sosl))
        if answer is None:
            return []
        if isinstance(answer, list):  # before API 37.0 the answer was a bare array
            return [as_object(r, "search") for r in answer]
        found = as_object(answer, "search").get("searchRecords", [])
        return [as_object(r, "search") for r in as_list(found, "search")]

    def close(self) -> None:
        self.session.close()


def _next_page(locator: str) -> Callable[[RestApi], object]:
    return lambda api: api.query_more(locator, identifier_is_url=True)
