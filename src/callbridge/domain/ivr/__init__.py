"""IVR flows: YAML documents validated into typed flows and walked by a pure interpreter.

`parse_flow` reads one flow file's text, `FlowBook.of` joins flows that transfer to each other,
and a `Walk` takes one caller through them, handing the telephony driver one `Action` at a time.
"""

from callbridge.domain.ivr.actions import (
    Action,
    CallerHungUp,
    Digits,
    Found,
    Gather,
    HangUp,
    Lookup,
    NoInput,
    NotFound,
    Played,
    PlayFile,
    Prompt,
    Result,
    Route,
    Say,
    Speech,
    Terminal,
    TransferOut,
    Voicemail,
    WaitPolicy,
)
from callbridge.domain.ivr.book import FlowBook
from callbridge.domain.ivr.callers import ScriptedCaller, keys_of, walk_through
from callbridge.domain.ivr.checks import check_files, check_flow
from callbridge.domain.ivr.errors import FlowError
from callbridge.domain.ivr.expressions import Expression, ExpressionError
from callbridge.domain.ivr.hours import (
    HolidayCalendar,
    HoursError,
    Opening,
    Schedule,
    make_schedule,
)
from callbridge.domain.ivr.interpreter import MAX_QUIET_NODES, Caller, Step, Walk
from callbridge.domain.ivr.loader import parse_flow
from callbridge.domain.ivr.nodes import Flow, Node

__all__ = [
    "MAX_QUIET_NODES",
    "Action",
    "Caller",
    "CallerHungUp",
    "Digits",
    "Expression",
    "ExpressionError",
    "Flow",
    "FlowBook",
    "FlowError",
    "Found",
    "Gather",
    "HangUp",
    "HolidayCalendar",
    "HoursError",
    "Lookup",
    "NoInput",
    "Node",
    "NotFound",
    "Opening",
    "PlayFile",
    "Played",
    "Prompt",
    "Result",
    "Route",
    "Say",
    "Schedule",
    "ScriptedCaller",
    "Speech",
    "Step",
    "Terminal",
    "TransferOut",
    "Voicemail",
    "WaitPolicy",
    "Walk",
    "check_files",
    "check_flow",
    "keys_of",
    "make_schedule",
    "parse_flow",
    "walk_through",
]
