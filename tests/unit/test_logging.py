"""structlog events and stdlib records come out in one format, filtered by level."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import structlog

from callbridge.logging import HANDLER_NAME, configure_logging


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    structlog.reset_defaults()


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_structlog_event_is_a_json_line_with_event_level_and_utc_time() -> None:
    stream = io.StringIO()
    configure_logging("info", json=True, stream=stream)

    structlog.get_logger("callbridge.test").info("agent_ready", agent_id="a-1")

    [record] = lines(stream)
    assert record["event"] == "agent_ready"
    assert record["level"] == "info"
    assert record["agent_id"] == "a-1"
    assert record["logger"] == "callbridge.test"
    stamp = datetime.fromisoformat(record["timestamp"])
    assert stamp.utcoffset() == timedelta(0)


def test_level_filtering() -> None:
    stream = io.StringIO()
    configure_logging("warning", json=True, stream=stream)
    log = structlog.get_logger("callbridge.test")

    log.info("quiet")
    log.warning("loud")
    logging.getLogger("uvicorn.error").info("quiet too")

    assert [r["event"] for r in lines(stream)] == ["loud"]


def test_stdlib_records_share_the_format() -> None:
    stream = io.StringIO()
    configure_logging("debug", json=True, stream=stream)

    logging.getLogger("uvicorn.error").warning("port %d busy", 8080, extra={"attempt": 2})

    [record] = lines(stream)
    assert record["event"] == "port 8080 busy"
    assert record["level"] == "warning"
    assert record["logger"] == "uvicorn.error"
    assert record["attempt"] == 2
    assert "timestamp" in record


def test_exceptions_are_structured() -> None:
    stream = io.StringIO()
    configure_logging("info", json=True, stream=stream)

    try:
        raise RuntimeError("trunk down")
    except RuntimeError:
        structlog.get_logger("callbridge.test").exception("dial_failed")

    [record] = lines(stream)
    assert record["level"] == "error"
    assert record["exception"][0]["exc_value"] == "trunk down"


def test_console_renderer() -> None:
    stream = io.StringIO()
    configure_logging("info", json=False, stream=stream)

    structlog.get_logger("callbridge.test").info("agent_ready", agent_id="a-1")

    text = stream.getvalue()
    assert "agent_ready" in text
    assert "agent_id=a-1" in text
    assert "\x1b[" not in text  # no colour codes when the stream is not a terminal


def test_reconfiguring_replaces_only_our_handler() -> None:
    other = logging.NullHandler()
    logging.getLogger().addHandler(other)
    first, second = io.StringIO(), io.StringIO()

    configure_logging("info", json=True, stream=first)
    configure_logging("info", json=True, stream=second)
    logging.getLogger("callbridge.test").info("once")

    ours = [h for h in logging.getLogger().handlers if h.get_name() == HANDLER_NAME]
    assert len(ours) == 1
    assert other in logging.getLogger().handlers
    assert first.getvalue() == ""
    assert [r["event"] for r in lines(second)] == ["once"]


def test_unknown_level_is_rejected() -> None:
    with pytest.raises(ValueError, match="loud"):
        configure_logging("loud", json=True, stream=io.StringIO())
