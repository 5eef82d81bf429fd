"""One log format for everything: structlog events and stdlib records (uvicorn, alembic, ...).

structlog loggers hand their event dicts to the stdlib root logger; one handler with a
`ProcessorFormatter` renders both those and plain stdlib records, as JSON lines or for a console.
Call `configure_logging` once, from the composition root, before anything logs; run uvicorn with
`log_config=None` so it keeps the handler installed here.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog
from structlog.typing import Processor

# Name of the one root handler this module installs, so reconfiguring replaces it and leaves any
# other handler (pytest's capture, for one) alone.
HANDLER_NAME = "callbridge"

# Loggers that libraries configure with handlers of their own; we route them to the root instead.
_LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def configure_logging(level: str, json: bool, stream: TextIO | None = None) -> None:
    """Send all logging to `stream` (default stderr) at `level` and above, as JSON or console text.

    Timestamps are ISO 8601 in UTC. Safe to call again: the previous configuration is replaced.
    """
    level_no = logging.getLevelNamesMapping().get(level.upper())
    if level_no is None:
        raise ValueError(f"unknown log level {level!r}")
    out = sys.stderr if stream is None else stream

    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor
    if json:
        renderer = structlog.processors.JSONRenderer()
        # Structured tracebacks without local variables: locals can hold passwords and tokens.
        tracebacks = structlog.processors.ExceptionRenderer(
            structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        )
        finish: list[Processor] = [tracebacks, renderer]
    else:
        # The console renderer formats exceptions itself (prettily, with rich when present).
        renderer = structlog.dev.ConsoleRenderer(colors=_is_tty(out))
        finish = [renderer]

    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        # Level checks happen in the bound logger, so a filtered-out call costs almost nothing.
        wrapper_class=structlog.make_filtering_bound_logger(level_no),
        logger_factory=structlog.stdlib.LoggerFactory(),
        context_class=dict,
        cache_logger_on_first_use=True,
    )

    formatter = structlog.stdlib.ProcessorFormatter(
        # Only stdlib records go through this chain; structlog events already went through it.
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *finish],
    )
    handler = logging.StreamHandler(out)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level_no)

    for name in _LIBRARY_LOGGERS:
        library_logger = logging.getLogger(name)
        library_logger.handlers.clear()
        library_logger.setLevel(logging.NOTSET)
        library_logger.propagate = True


def _is_tty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
