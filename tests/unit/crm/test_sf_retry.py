"""Which failures are retried, re-authenticated or given up, and the backoff between tries."""

from __future__ import annotations

import random

import pytest

from callbridge.adapters.crm.salesforce.retry import Action, Backoff, classify, error_codes


@pytest.mark.parametrize(
    ("status", "body", "action"),
    [
        (401, [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}],
         Action.REAUTH),
        (400, [{"errorCode": "UNABLE_TO_LOCK_ROW", "message": "unable to obtain"}], Action.RETRY),
        (403, [{"errorCode": "REQUEST_LIMIT_EXCEEDED",
                "message": "ConcurrentPerOrgLongTxn Limit exceeded."}], Action.RETRY),
        (403, [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}],
         Action.LATER),
        (503, [{"errorCode": "SERVER_UNAVAILABLE", "message": "down"}], Action.RETRY),
        (500, "<html>oops</html>", Action.RETRY),
        (400, [{"errorCode": "MALFORMED_QUERY", "message": "unexpected token"}], Action.FAIL),
        (404, [{"errorCode": "NOT_FOUND", "message": "gone"}], Action.FAIL),
        (403, [{"errorCode": "INSUFFICIENT_ACCESS_OR_READONLY", "message": "no"}], Action.FAIL),
        (300, ["/services/data/v62.0/sobjects/Task/00T1", "/x/00T2"], Action.FAIL),
    ],
)  # fmt: skip
def test_what_to_do_about_an_error(status: int, body: object, action: Action) -> None:
    assert classify(status, body) is action


def test_error_codes_read_rest_and_collection_shapes() -> None:
    assert error_codes([{"errorCode": "A"}, {"statusCode": "B"}, "junk"]) == ["A", "B"]
    assert error_codes({"errorCode": "C"}) == ["C"]
    assert error_codes(None) == []


def test_backoff_grows_is_bounded_and_jittered() -> None:
    backoff = Backoff(attempts=8, first_s=0.5, max_s=8.0)
    rng = random.Random(7)
    for retry in range(10):
        ceiling = min(8.0, 0.5 * 2**retry)
        waits = {backoff.delay(retry, rng) for _ in range(50)}
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert len(waits) > 1  # jittered
    assert max(backoff.delay(30, rng) for _ in range(20)) <= 8.0
