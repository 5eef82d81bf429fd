"""A flow as typed objects: the nodes, where the file gave each edge, and the flow itself.

The loader builds these from YAML and the checks prove them sound, so the interpreter never meets
an unknown node or a malformed field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from callbridge.domain.ivr.actions import Speech, WaitPolicy
from callbridge.domain.ivr.expressions import Expression
from callbridge.domain.ivr.hours import Schedule


@dataclass(frozen=True, slots=True)
class SayNode:
    """`say` or `play`: a message, then `next`."""

    name: str
    line: int
    parts: tuple[Speech, ...]
    next: str
    barge_in: bool = True
    kind: str = "say"  # "say" | "play", as written


@dataclass(frozen=True, slots=True)
class MenuNode:
    """One key picks a branch; a wrong key or silence tries again, then `failure`."""

    name: str
    line: int
    prompt: tuple[Speech, ...]
    options: Mapping[str, str]  # key -> node
    timeout_s: float = 5.0
    retries: int = 2
    invalid: tuple[Speech, ...] = ()
    no_input: tuple[Speech, ...] = ()
    failure: str | None = None  # None: hang up
    barge_in: bool = True


@dataclass(frozen=True, slots=True)
class CollectNode:
    """Several digits into a variable, checked, with retries."""

    name: str
    line: int
    variable: str
    prompt: tuple[Speech, ...]
    next: str
    max_digits: int
    min_digits: int
    terminator: str | None = None
    timeout_s: float = 5.0
    inter_digit_s: float = 3.0
    validate: str = "length"  # "length" | "luhn"
    valid_if: Expression | None = None
    retries: int = 2
    invalid: tuple[Speech, ...] = ()
    no_input: tuple[Speech, ...] = ()
    failure: str | None = None
    secret: bool = False  # digits are not shown in the path
    barge_in: bool = True


@dataclass(frozen=True, slots=True)
class SetNode:
    """Variables, queue priority and required skills for the route to come."""

    name: str
    line: int
    values: Mapping[str, Expression]
    next: str
    priority: Expression | None = None
    skills: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Case:
    condition: Expression
    target: str


@dataclass(frozen=True, slots=True)
class BranchNode:
    """The first case whose condition holds, else `otherwise`."""

    name: str
    line: int
    cases: tuple[Case, ...]
    otherwise: str


@dataclass(frozen=True, slots=True)
class HoursNode:
    """`open` or `closed` by a schedule: the flow's own (`schedule`), or, when `schedule` is
    None, the center's business hours named `schedule_name` as they are when the step runs."""

    name: str
    line: int
    schedule: Schedule | None
    open: str
    closed: str
    schedule_name: str | None = None  # the named schedule it uses, if any


@dataclass(frozen=True, slots=True)
class LookupNode:
    """A CRM data dip; the record's fields land in `<into>.<field>`."""

    name: str
    line: int
    by: str  # a LookupKey value
    value: Expression
    found: str
    not_found: str
    into: str = "crm"


@dataclass(frozen=True, slots=True)
class QueueNode:
    name: str
    line: int
    queue: str
    priority: Expression | None = None
    skills: Mapping[str, int] = field(default_factory=dict)
    wait: WaitPolicy = field(default_factory=WaitPolicy)


@dataclass(frozen=True, slots=True)
class VoicemailNode:
    name: str
    line: int
    queue: str
    prompt: tuple[Speech, ...]
    max_s: float = 120.0


@dataclass(frozen=True, slots=True)
class TransferNode:
    """To an outside `number`, or on into another `flow` (exactly one is set)."""

    name: str
    line: int
    number: str | None = None
    flow: str | None = None


@dataclass(frozen=True, slots=True)
class HangupNode:
    name: str
    line: int
    prompt: tuple[Speech, ...] = ()


Node = (
    SayNode
    | MenuNode
    | CollectNode
    | SetNode
    | BranchNode
    | HoursNode
    | LookupNode
    | QueueNode
    | VoicemailNode
    | TransferNode
    | HangupNode
)
# nodes after which the flow is over (a transfer to a flow leaves this one)
TERMINAL_NODES = (QueueNode, VoicemailNode, TransferNode, HangupNode)


@dataclass(frozen=True, slots=True)
class Ref:
    """An edge of the graph where the file gives it: `node`'s `field` goes to `target`."""

    node: str
    field: str
    target: str
    line: int


@dataclass(frozen=True, slots=True)
class FileRef:
    """A WAV file a node plays (absolute path) and the line that names it."""

    node: str
    path: str
    line: int


@dataclass(frozen=True, slots=True)
class HoursRef:
    """An hours step that uses the center's business hours `hours` (not the flow's own)."""

    node: str
    hours: str
    line: int


@dataclass(frozen=True, slots=True)
class FlowRef:
    """A transfer into another flow."""

    node: str
    flow: str
    line: int


@dataclass(frozen=True, slots=True)
class Flow:
    """A validated flow. `origin` is its file; `nodes` keep the file's order."""

    name: str
    origin: str
    start: str
    nodes: Mapping[str, Node]
    numbers: tuple[str, ...] = ()  # entry points: inbound numbers that start this flow
    variables: Mapping[str, str] = field(default_factory=dict)  # set before the first node
    refs: tuple[Ref, ...] = ()
    files: tuple[FileRef, ...] = ()
    flow_refs: tuple[FlowRef, ...] = ()
    description: str = ""
    hours_refs: tuple[HoursRef, ...] = ()

    def successors(self, node: str) -> list[str]:
        """The nodes `node` can go to, in the file's order of fields."""
        return [r.target for r in self.refs if r.node == node]
