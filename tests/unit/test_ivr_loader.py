"""Flow files -> typed flows, and the errors a mistake gets: file, line, node and field."""

from __future__ import annotations

from textwrap import dedent

import pytest

from callbridge.domain.ivr import (
    FlowError,
    PlayFile,
    Say,
    WaitPolicy,
    check_files,
    parse_flow,
)
from callbridge.domain.ivr.nodes import (
    BranchNode,
    CollectNode,
    HoursNode,
    LookupNode,
    MenuNode,
    QueueNode,
    SayNode,
    SetNode,
    TransferNode,
    VoicemailNode,
)

FILE = "/flows/test.yaml"


def parse(text: str) -> object:
    return parse_flow(dedent(text), FILE)


def error(text: str) -> FlowError:
    with pytest.raises(FlowError) as caught:
        parse(text)
    return caught.value


EVERY_KIND = """\
flow: every-kind
numbers: ["1000", 2000]
variables: {language: en, level: 3}
schedules:
  office: {timezone: Europe/London, weekly: {mon-fri: "08:00-18:00"}}
nodes:
  hello:
    say: ["Hello {ani}.", {play: prompts/chime.wav}]
    barge_in: false
    next: hours
  hours:
    hours: office
    open: menu
    closed: closed
  menu:
    menu: Press 1 or 2.
    options: {1: account, "2": route, "*": closed}
    timeout: 4
    retries: 1
    failure: closed
  account:
    collect: card
    prompt: Card number, then hash.
    terminator: "#"
    validate: luhn
    valid_if: startswith(card, "4")
    secret: true
    next: find
  find:
    lookup: phone
    found: mark
    not_found: route
  mark:
    set: {vip: 'crm.Tier == "gold"', count: 1}
    priority: 5
    skills: {spanish: 4}
    next: route
  route:
    branch:
      - if: vip
        then: sales
    else: partner
  sales:
    queue: sales
    priority: "int(count) + 1"
    wait: {announce_every: 30, callback_after: 90, music: hold.wav}
  partner:
    transfer: "+18005550100"
  closed:
    voicemail: support
    max_seconds: 60
"""


def test_every_kind_loads_into_typed_nodes() -> None:
    flow = parse_flow(EVERY_KIND, FILE)
    assert flow.name == "every-kind"
    assert flow.numbers == ("1000", "2000")
    assert flow.variables == {"language": "en", "level": "3"}
    assert flow.start == "hello"
    hello = flow.nodes["hello"]
    assert isinstance(hello, SayNode)
    assert hello.parts == (Say("Hello {ani}."), PlayFile("/flows/prompts/chime.wav"))
    assert not hello.barge_in
    assert hello.line == 7
    hours = flow.nodes["hours"]
    assert isinstance(hours, HoursNode) and hours.schedule_name == "office"
    menu = flow.nodes["menu"]
    assert isinstance(menu, MenuNode)
    assert dict(menu.options) == {"1": "account", "2": "route", "*": "closed"}
    assert (menu.timeout_s, menu.retries, menu.failure) == (4.0, 1, "closed")
    account = flow.nodes["account"]
    assert isinstance(account, CollectNode)
    assert (account.max_digits, account.min_digits, account.terminator) == (20, 1, "#")
    assert account.validate == "luhn" and account.secret
    find = flow.nodes["find"]
    assert isinstance(find, LookupNode) and find.value.source == "ani" and find.into == "crm"
    mark = flow.nodes["mark"]
    assert isinstance(mark, SetNode)
    assert {k: e.source for k, e in mark.values.items()} == {
        "vip": 'crm.Tier == "gold"',
        "count": "1",
    }
    assert dict(mark.skills) == {"spanish": 4}
    assert isinstance(flow.nodes["route"], BranchNode)
    sales = flow.nodes["sales"]
    assert isinstance(sales, QueueNode)
    assert sales.wait == WaitPolicy(
        announce_every_s=30.0, callback_after_s=90.0, music="/flows/hold.wav"
    )
    assert isinstance(flow.nodes["partner"], TransferNode)
    closed = flow.nodes["closed"]
    assert isinstance(closed, VoicemailNode) and closed.max_s == 60.0
    assert [(f.node, f.path, f.line) for f in flow.files] == [
        ("hello", "/flows/prompts/chime.wav", 8),
        ("sales", "/flows/hold.wav", 46),
    ]


def test_name_defaults_to_the_file_name_and_start_to_the_first_node() -> None:
    flow = parse_flow("nodes:\n  bye: {hangup: Goodbye.}\n", "/x/after-hours.yaml")
    assert (flow.name, flow.start) == ("after-hours", "bye")


# Each error kind, with the exact line and node. Lines count from 1 at "flow: t".
ERRORS = [
    (
        "unknown node",
        """\
        flow: t
        nodes:
          a:
            say: Hi.
            next: b
        """,
        5,
        "a",
        "unknown node 'b' in 'next'",
    ),
    (
        "unknown node in a menu option",
        """\
        flow: t
        nodes:
          a:
            menu: Press 1.
            options:
              "1": nowhere
        """,
        6,
        "a",
        "unknown node 'nowhere' in 'options.1'",
    ),
    (
        "unreachable node",
        """\
        flow: t
        nodes:
          a: {hangup: Bye.}
          b:
            hangup: Bye.
        """,
        4,
        "b",
        "unreachable node",
    ),
    (
        "branch without else",
        """\
        flow: t
        nodes:
          a:
            branch:
              - {if: x == 1, then: b}
          b: {hangup: ""}
        """,
        3,
        "a",
        "missing branch: a branch needs 'else'",
    ),
    (
        "menu option going nowhere",
        """\
        flow: t
        nodes:
          a:
            menu: Press 1.
            options:
              "1":
        """,
        6,
        "a",
        "missing branch: '1' goes nowhere",
    ),
    (
        "menu without options",
        """\
        flow: t
        nodes:
          a:
            menu: Press 1.
            options: {}
        """,
        5,
        "a",
        "missing branch: a menu needs at least one option",
    ),
    (
        "hours without closed",
        """\
        flow: t
        nodes:
          a:
            hours: {timezone: UTC, weekly: {mon: "08:00-09:00"}}
            open: b
          b: {hangup: ""}
        """,
        3,
        "a",
        "missing branch: hours needs 'open' and 'closed'",
    ),
    (
        "lookup without not_found",
        """\
        flow: t
        nodes:
          a:
            lookup: phone
            found: b
          b: {hangup: ""}
        """,
        3,
        "a",
        "missing branch: a lookup needs 'found' and 'not_found'",
    ),
    (
        "loop with no exit",
        """\
        flow: t
        nodes:
          a:
            say: Hello.
            next: b
          b:
            branch:
              - {if: x == 1, then: a}
            else: a
        """,
        3,
        "a",
        "loop with no exit: a -> b -> a never reaches",
    ),
    (
        "missing next",
        """\
        flow: t
        nodes:
          a:
            say: Hello.
        """,
        3,
        "a",
        "missing field 'next'",
    ),
    (
        "unknown field, with a suggestion",
        """\
        flow: t
        nodes:
          a:
            menu: Press 1.
            options: {"1": b}
            retires: 3
          b: {hangup: ""}
        """,
        6,
        "a",
        "unknown field 'retires' for a menu node (did you mean 'retries'?)",
    ),
    (
        "unknown kind",
        """\
        flow: t
        nodes:
          a:
            sya: Hello.
        """,
        4,
        "a",
        "unknown node kind (did you mean 'say'?)",
    ),
    (
        "two kinds",
        """\
        flow: t
        nodes:
          a:
            say: Hello.
            hangup: Bye.
        """,
        5,
        "a",
        "a node does one thing: both 'say' and 'hangup'",
    ),
    (
        "bad expression",
        """\
        flow: t
        nodes:
          a:
            branch:
              - if: tier = "gold"
                then: b
            else: b
          b: {hangup: ""}
        """,
        5,
        "a",
        "unexpected character '='; compare with '==' (column 6)",
    ),
    (
        "bad hours",
        """\
        flow: t
        nodes:
          a:
            hours:
              timezone: UTC
              weekly:
                mon: "9-5"
            open: b
            closed: b
          b: {hangup: ""}
        """,
        7,
        "a",
        "'9-5' is not hours like 08:00-18:00",
    ),
    (
        "no schedule's name",
        """\
        flow: t
        nodes:
          a:
            hours: Office Hours
            open: b
            closed: b
          b: {hangup: ""}
        """,
        4,
        "a",
        "'Office Hours' is not a schedule's name",
    ),
    (
        "collect digits out of range",
        """\
        flow: t
        nodes:
          a:
            collect: pin
            prompt: PIN.
            digits: 0
            next: b
          b: {hangup: ""}
        """,
        6,
        "a",
        "'digits' must be a whole number from 1 to 64",
    ),
    (
        "setting ani",
        """\
        flow: t
        nodes:
          a:
            set: {ani: "'x'"}
            next: b
          b: {hangup: ""}
        """,
        4,
        "a",
        "'ani' is set from the call and cannot be changed",
    ),
    (
        "transfer to something that is not a number",
        """\
        flow: t
        nodes:
          a:
            transfer: call the boss
        """,
        4,
        "a",
        "'transfer' is a phone number",
    ),
    (
        "stray brace in a prompt",
        """\
        flow: t
        nodes:
          a:
            hangup: "Goodbye {name"
        """,
        4,
        "a",
        "stray '{' at column 9",
    ),
    (
        "skill proficiency",
        """\
        flow: t
        nodes:
          a:
            queue: sales
            skills:
              spanish: 11
        """,
        6,
        "a",
        "skill 'spanish' needs a proficiency from 1 to 10",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "node", "reason"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_errors_name_file_line_and_node(text: str, line: int, node: str, reason: str) -> None:
    caught = error(text)
    assert (caught.file, caught.line, caught.node) == (FILE, line, node)
    assert reason in caught.reason
    assert str(caught).startswith(f"{FILE}:{line}: node '{node}': ")
    assert caught.code == "flow_invalid"


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("- a list\n", 1, "a flow is a mapping"),
        ("flow: t\n", 1, "missing field 'nodes'"),
        ("flow: t\nnodes: {}\n", 2, "a flow needs at least one node"),
        ("flow: t\nstart: x\nnodes:\n  a: {hangup: ''}\n", 2, "start node 'x'"),
        ("flow: t\nnode:\n  a: {hangup: ''}\n", 2, "unknown field 'node' for the flow"),
        ("flow: t\nnodes:\n  a: [1\n", 3, "not valid YAML"),
        ("flow: t\nnodes:\n  'bad name': {hangup: ''}\n", 3, "use letters, digits"),
    ],
)
def test_document_errors(text: str, line: int, reason: str) -> None:
    caught = error(text)
    assert (caught.file, caught.line) == (FILE, line)
    assert reason in caught.reason


def test_missing_prompt_files_are_named_with_their_line() -> None:
    flow = parse_flow(
        "nodes:\n  a:\n    play:\n      - there.wav\n      - gone.wav\n    next: b\n"
        "  b: {hangup: ''}\n",
        FILE,
    )
    check_files(flow, lambda path: True)
    with pytest.raises(FlowError) as caught:
        check_files(flow, lambda path: path == "/flows/there.wav")
    assert (caught.value.line, caught.value.node) == (5, "a")
    assert caught.value.reason == "prompt file does not exist: /flows/gone.wav"


def test_a_menu_failure_that_loops_still_has_the_hang_up_of_its_callers() -> None:
    # retries with no failure hang up, so a menu that only loops back has an exit
    flow = parse_flow(
        "nodes:\n  m:\n    menu: Press 1.\n    options: {'1': again}\n"
        "  again:\n    say: Again.\n    next: m\n",
        FILE,
    )
    assert flow.start == "m"
