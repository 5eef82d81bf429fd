"""The interpreter on scripted callers: every node kind, digits, silence, invalid input,
retries, Luhn, branches, hours, lookups, transfers, hang-ups and the runtime guard."""

from __future__ import annotations

from datetime import UTC, datetime
from textwrap import dedent

import pytest

from callbridge.domain.errors import InvalidInput, InvalidState
from callbridge.domain.ivr import (
    MAX_QUIET_NODES,
    Action,
    Caller,
    CallerHungUp,
    Digits,
    FlowBook,
    FlowError,
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
    TransferOut,
    Voicemail,
    WaitPolicy,
    Walk,
    parse_flow,
)
from callbridge.domain.ivr.hours import parse_schedule

AT = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # a Wednesday, 10:00 in New York
CALLER = Caller(ani="+15550001111", dnis="1000")


def book(*texts: str) -> FlowBook:
    return FlowBook.of(
        parse_flow(dedent(text), f"/flows/flow{i}.yaml", "/flows") for i, text in enumerate(texts)
    )


def drive(
    flows: FlowBook | str, *results: Result, at: datetime = AT, flow: str = "t"
) -> tuple[Walk, list[Action]]:
    """Start a walk and feed it `results`; the actions it handed out, first to last."""
    walk = Walk(book(flows) if isinstance(flows, str) else flows, flow, CALLER)
    actions = [walk.start(at)]
    for result in results:
        actions.append(walk.resume(result, at))
    return walk, actions


def notes(walk: Walk) -> list[str]:
    return [f"{s.node}: {s.note}" for s in walk.path]


MENU = """\
flow: t
nodes:
  menu:
    menu: For sales press 1, for support press 2.
    options: {"1": sales, "2": support}
    timeout: 4
    retries: 2
    invalid: Not a choice.
    no_input: I heard nothing.
    failure: support
  sales: {queue: sales}
  support: {queue: support}
"""
MENU_PROMPT = Say("For sales press 1, for support press 2.")
MENU_GATHER = Gather(max_digits=1, min_digits=1, terminator=None, timeout_s=4.0)


def test_menu_offers_one_key_and_follows_the_choice() -> None:
    walk, actions = drive(MENU, Digits("2"))
    assert actions[0] == Prompt((MENU_PROMPT,), barge_in=True, gather=MENU_GATHER)
    assert actions[1] == Route("support", None, {}, {}, WaitPolicy())
    assert walk.finished and walk.outcome == actions[1]
    assert notes(walk) == ["menu: menu: pressed 2 -> support", "support: queue: support"]


def test_menu_wrong_key_plays_invalid_then_asks_again() -> None:
    walk, actions = drive(MENU, Digits("7"), NoInput(), Digits("1"))
    assert actions[1] == Prompt((Say("Not a choice."), MENU_PROMPT), gather=MENU_GATHER)
    assert actions[2] == Prompt((Say("I heard nothing."), MENU_PROMPT), gather=MENU_GATHER)
    assert isinstance(actions[3], Route) and actions[3].queue == "sales"
    assert notes(walk)[:2] == [
        "menu: menu: pressed 7 (not an option); try 2 of 3",
        "menu: menu: no input; try 3 of 3",
    ]


def test_menu_retries_exhausted_goes_to_failure() -> None:
    walk, actions = drive(MENU, NoInput(), Digits("9"), NoInput())
    assert isinstance(actions[-1], Route) and actions[-1].queue == "support"
    assert "no tries left -> support" in notes(walk)[2]


def test_menu_without_failure_hangs_up_when_tries_run_out() -> None:
    flows = "flow: t\nnodes:\n  m:\n    menu: Press 1.\n    options: {'1': q}\n    retries: 0\n"
    _, actions = drive(flows + "  q: {queue: sales}\n", Digits("5"))
    assert actions[-1] == HangUp("flow", (), {})


def test_empty_digits_count_as_no_input() -> None:
    walk, _ = drive(MENU, Digits(""))
    assert notes(walk) == ["menu: menu: no input; try 2 of 3"]


COLLECT = """\
flow: t
nodes:
  card:
    collect: card
    prompt: Your card number, then hash.
    digits: 16
    min_digits: 12
    terminator: "#"
    validate: luhn
    secret: true
    retries: 1
    next: pin
    failure: agent
  pin:
    collect: pin
    prompt: Your PIN.
    digits: 4
    valid_if: pin != "0000"
    next: agent
  agent:
    queue: support
"""


def test_collect_gathers_and_checks_luhn() -> None:
    walk, actions = drive(COLLECT, Digits("4111111111111111"), Digits("1234"))
    assert actions[0] == Prompt(
        (Say("Your card number, then hash."),),
        gather=Gather(max_digits=16, min_digits=12, terminator="#", timeout_s=5.0),
    )
    assert actions[1] == Prompt((Say("Your PIN."),), gather=Gather(4, 4, None))
    route = actions[2]
    assert isinstance(route, Route)
    assert route.variables == {"card": "4111111111111111", "pin": "1234"}
    # a secret entry is masked in the path, not in the variables
    assert notes(walk)[0] == "card: collect: card=**************** -> pin"


def test_collect_luhn_failure_retries_then_fails_over() -> None:
    walk, actions = drive(COLLECT, Digits("4111111111111112"), Digits("123"))
    assert actions[1] == Prompt(
        (Say("Sorry, that entry is not valid."), Say("Your card number, then hash.")),
        gather=Gather(16, 12, "#"),
    )
    assert notes(walk)[0].endswith("(fails the Luhn check); try 2 of 2")
    assert notes(walk)[1].endswith("(needs 12 to 16 digits); no tries left -> agent")
    assert isinstance(actions[2], Route) and "card" not in actions[2].variables


def test_collect_valid_if_and_exact_length() -> None:
    flows = book(COLLECT)
    walk = Walk(flows, "t", CALLER)
    walk.start(AT)
    walk.resume(Digits("4111111111111111"), AT)
    walk.resume(Digits("0000"), AT)
    walk.resume(Digits("12"), AT)
    assert notes(walk)[1:] == [
        'pin: collect: entered 0000 (not pin != "0000"); try 2 of 3',
        "pin: collect: entered 12 (needs 4 digits); try 3 of 3",
    ]


def test_set_branch_and_queue_priority_and_skills() -> None:
    flows = """\
    flow: t
    variables: {language: en}
    nodes:
      mark:
        set: {tier: '"gold"', points: 12, vip: true}
        priority: 3
        skills: {english: 5, billing: 2}
        next: route
      route:
        branch:
          - if: tier == "silver"
            then: plain
          - if: vip and points > 10
            then: vip
        else: plain
      vip:
        queue: billing
        priority: int(points) - 2
        skills: {billing: 6}
      plain: {queue: support}
    """
    walk, actions = drive(flows)
    assert actions == [
        Route(
            "billing",
            10,
            {"english": 5, "billing": 6},  # the queue node's own skills win
            {"language": "en", "tier": "gold", "points": "12", "vip": "true"},
            WaitPolicy(),
        )
    ]
    assert notes(walk) == [
        "mark: set: tier=gold, points=12, vip=true, priority=3, english>=5, billing>=2",
        "route: branch: vip and points > 10 -> vip",
        "vip: queue: billing, priority 10, english>=5, billing>=6",
    ]


def test_set_priority_carries_to_a_queue_without_its_own() -> None:
    flows = "flow: t\nnodes:\n  s:\n    set:\n    priority: 7\n    next: q\n  q: {queue: sales}\n"
    _, actions = drive(flows)
    assert isinstance(actions[0], Route) and actions[0].priority == 7


def test_branch_else() -> None:
    flows = (
        "flow: t\nnodes:\n  b:\n    branch: [{if: 'startswith(ani, \"+44\")', then: uk}]\n"
        "    else: other\n  uk: {queue: uk}\n  other: {queue: other}\n"
    )
    walk, actions = drive(flows)
    assert isinstance(actions[0], Route) and actions[0].queue == "other"
    assert notes(walk)[0] == "b: branch: else -> other"


HOURS = """\
flow: t
nodes:
  h:
    hours:
      timezone: America/New_York
      weekly: {mon-fri: "09:00-17:00"}
      holidays: {country: US}
      closed: {2026-12-24: Christmas Eve}
    open: open
    closed: closed
  open: {queue: sales}
  closed: {voicemail: sales}
"""


@pytest.mark.parametrize(
    ("at", "outcome", "note"),
    [
        ("2026-11-25T14:00:00+00:00", Route, "open at Wed 2026-11-25 09:00 America/New_York"),
        ("2026-11-25T13:59:00+00:00", Voicemail, "closed (outside hours)"),
        ("2026-11-25T16:30:00-05:00", Route, "open at Wed 2026-11-25 16:30"),
        ("2026-11-25T22:00:00+00:00", Voicemail, "closed (outside hours) at Wed 2026-11-25 17:00"),
        ("2026-11-26T15:00:00+00:00", Voicemail, "closed (holiday Thanksgiving Day)"),
        ("2026-12-24T15:00:00+00:00", Voicemail, "closed (closed day Christmas Eve)"),
        # Saturday 02:00 UTC is still Friday evening in New York... but after 17:00
        ("2026-11-28T02:00:00+00:00", Voicemail, "at Fri 2026-11-27 21:00"),
        # summer time: 13:30 UTC is 09:30 in July, 08:30 in January
        ("2026-07-15T13:30:00+00:00", Route, "open at Wed 2026-07-15 09:30"),
        ("2026-01-14T13:30:00+00:00", Voicemail, "at Wed 2026-01-14 08:30"),
    ],
)
def test_hours(at: str, outcome: type, note: str) -> None:
    walk, actions = drive(HOURS, at=datetime.fromisoformat(at))
    assert isinstance(actions[0], outcome)
    assert note in walk.path[0].note


SHARED_HOURS = """\
flow: t
nodes:
  h:
    hours: desk
    open: open
    closed: closed
  open: {queue: sales}
  closed: {voicemail: sales}
"""


def test_an_hours_step_reads_the_centers_business_hours_as_they_are_now() -> None:
    flow = parse_flow(SHARED_HOURS, "/flows/t.yaml", "/flows")
    live = {"desk": parse_schedule({"timezone": "UTC", "weekly": {"wed": "14:00-16:00"}})}
    the_book = FlowBook.of([flow], live)
    walk, actions = drive(the_book)
    assert isinstance(actions[0], Route) and "open at Wed 2026-11-25 15:00 UTC" in notes(walk)[0]
    # edited while the flow runs: the next caller (the book is not rebuilt) is judged anew
    live["desk"] = parse_schedule({"timezone": "UTC", "weekly": {"wed": "16:00-18:00"}})
    walk, actions = drive(the_book)
    assert isinstance(actions[0], Voicemail) and "closed (outside hours)" in notes(walk)[0]
    assert the_book.uses_hours("desk") == ["t"] and the_book.uses_hours("other") == []
    # removed after all: closed, and the walk says why
    del live["desk"]
    walk, actions = drive(the_book)
    assert isinstance(actions[0], Voicemail)
    assert notes(walk)[0] == "h: hours: no business hours 'desk' -> closed"


def test_business_hours_a_flow_names_must_be_the_centers() -> None:
    flow = parse_flow(SHARED_HOURS, "/flows/t.yaml", "/flows")
    with pytest.raises(FlowError) as caught:
        FlowBook.of([flow], {})
    assert str(caught.value).startswith("/flows/t.yaml:4: node 'h': unknown schedule 'desk'")
    assert "neither the flow's schedules nor the center's business hours (none yet)" in str(
        caught.value
    )
    # away from the server (`callbridge flow check`), the name is listed as not checked
    assert FlowBook.of([flow]).unchecked_hours() == ["desk"]


LOOKUP = """\
flow: t
nodes:
  ask:
    collect: account
    prompt: Account number?
    digits: 5
    next: find
  find:
    lookup: account_number
    value: '"ACCT-" + account'
    found: known
    not_found: unknown
  known:
    say: "Welcome back, {crm.name}."
    next: route
  route:
    branch: [{if: crm.Tier == "gold", then: vip}]
    else: unknown
  vip: {queue: vip}
  unknown: {queue: billing}
"""


def test_lookup_found_fills_variables() -> None:
    record = Found("Acme Corp", "Account", {"Tier": "gold", "AccountNumber": "ACCT-10001"})
    walk, actions = drive(LOOKUP, Digits("10001"), record, Played())
    assert actions[1] == Lookup("account_number", "ACCT-10001")
    assert actions[2] == Prompt((Say("Welcome back, Acme Corp."),))
    route = actions[3]
    assert isinstance(route, Route) and route.queue == "vip"
    assert route.variables == {
        "account": "10001",
        "crm.name": "Acme Corp",
        "crm.type": "Account",
        "crm.Tier": "gold",
        "crm.AccountNumber": "ACCT-10001",
    }
    assert notes(walk)[1] == (
        "find: lookup: account_number ACCT-10001 -> found Account 'Acme Corp' -> known"
    )


def test_lookup_not_found() -> None:
    walk, actions = drive(LOOKUP, Digits("99999"), NotFound())
    assert isinstance(actions[-1], Route) and actions[-1].queue == "billing"
    assert "not found -> unknown" in notes(walk)[1]


def test_lookup_by_phone_defaults_to_the_caller_and_skips_an_empty_value() -> None:
    flows = (
        "flow: t\nnodes:\n  a:\n    lookup: phone\n    into: who\n    next: b\n"
        "  b:\n    lookup: email\n    value: who.Email\n    next: q\n  q: {queue: sales}\n"
    )
    walk, actions = drive(flows, NotFound())
    assert actions[0] == Lookup("phone", CALLER.ani)
    # nothing to look the e-mail up by: no dip at all
    assert isinstance(actions[1], Route)
    assert notes(walk)[1] == "b: lookup: no email to look up -> q"


def test_voicemail_transfer_out_and_hangup() -> None:
    flows = """\
    flow: t
    nodes:
      m:
        menu: Choose.
        options: {"1": vm, "2": out, "3": bye}
      vm:
        voicemail: support
        max_seconds: 30
      out:
        transfer: "+18005550100"
      bye:
        hangup: [Goodbye., {play: bye.wav}]
    """
    _, vm = drive(flows, Digits("1"))
    assert vm[-1] == Voicemail(
        "support",
        (Say("Please leave a message after the tone. Hang up when you are done."),),
        30.0,
        {},
    )
    _, out = drive(flows, Digits("2"))
    assert out[-1] == TransferOut("+18005550100", {})
    _, bye = drive(flows, Digits("3"))
    assert bye[-1] == HangUp("flow", (Say("Goodbye."), PlayFile("/flows/bye.wav")), {})


def test_transfer_to_another_flow_carries_the_variables() -> None:
    first = """\
    flow: t
    nodes:
      s:
        set: {reason: '"late"'}
        next: go
      go:
        transfer: {flow: second}
    """
    second = """\
    flow: second
    variables: {site: east}
    nodes:
      hello:
        say: "Still here about {reason}."
        next: q
      q: {queue: sales}
    """
    walk, actions = drive(book(first, second), Played())
    assert actions[0] == Prompt((Say("Still here about late."),))
    assert actions[1] == Route("sales", None, {}, {"reason": "late"}, WaitPolicy())
    assert [(s.flow, s.node) for s in walk.path] == [
        ("t", "s"),
        ("t", "go"),
        ("second", "hello"),
        ("second", "q"),
    ]
    # the second flow's own starting variables are for calls that start there
    assert "site" not in walk.variables


def test_flow_book_checks_transfers_names_and_numbers() -> None:
    going = "flow: t\nnodes:\n  go:\n    transfer:\n      flow: nowhere\n"
    with pytest.raises(FlowError) as caught:
        book(going)
    assert (caught.value.line, caught.value.node) == (5, "go")
    assert caught.value.reason == "transfer to unknown flow 'nowhere'"
    with pytest.raises(FlowError, match=r"flow 't' is also defined in /flows/flow0\.yaml"):
        book("flow: t\nnodes:\n  a: {hangup: ''}\n", "flow: t\nnodes:\n  a: {hangup: ''}\n")
    with pytest.raises(FlowError, match="number 1000 already starts flow 'a'"):
        book(
            "flow: a\nnumbers: ['1000']\nnodes:\n  a: {hangup: ''}\n",
            "flow: b\nnumbers: ['1000']\nnodes:\n  a: {hangup: ''}\n",
        )
    flows = book("flow: a\nnumbers: ['1000', '+441234']\nnodes:\n  a: {hangup: ''}\n")
    assert flows.flow_for("+441234") == "a" and flows.flow_for("999") is None
    assert list(flows) == ["a"] and len(flows) == 1


@pytest.mark.parametrize("answers", [0, 1, 2])
def test_caller_hangs_up_at_any_waiting_step(answers: int) -> None:
    script: list[Result] = [Digits("10001"), Found("A", "Account", {}), Played()]
    results = script[:answers]
    walk, actions = drive(LOOKUP, *results, CallerHungUp())
    assert actions[-1] == HangUp("caller", (), walk.outcome.variables if walk.outcome else {})
    assert walk.finished and notes(walk)[-1].endswith("caller hung up")


def test_results_must_fit_the_pending_action() -> None:
    walk, _ = drive(MENU)
    with pytest.raises(InvalidState, match="Played does not answer a prompt that gathers"):
        walk.resume(Played(), AT)
    with pytest.raises(InvalidState, match="walk has started"):
        walk.start(AT)
    walk.resume(Digits("1"), AT)
    with pytest.raises(InvalidState, match="the walk is over"):
        walk.resume(Digits("1"), AT)
    lookup, _ = drive(LOOKUP, Digits("10001"))
    with pytest.raises(InvalidState, match="NoInput does not answer a lookup"):
        lookup.resume(NoInput(), AT)
    with pytest.raises(InvalidState, match="not started"):
        Walk(book(MENU), "t", CALLER).resume(Played(), AT)


def test_time_must_be_aware_and_the_flow_known() -> None:
    with pytest.raises(InvalidInput, match="timezone-aware"):
        Walk(book(MENU), "t", CALLER).start(datetime(2026, 1, 1))  # noqa: DTZ001 - under test
    with pytest.raises(InvalidInput, match="no flow named 'x'"):
        Walk(book(MENU), "x", CALLER)


def test_a_loop_without_the_caller_ends_in_an_error_hang_up() -> None:
    flows = """\
    flow: t
    nodes:
      count:
        set: {n: n + 1}
        next: check
      check:
        branch: [{if: n > 100000, then: done}]
        else: count
      done: {queue: sales}
    """
    walk, actions = drive(flows)
    assert isinstance(actions[0], HangUp) and actions[0].reason == "error"
    assert len(walk.path) == MAX_QUIET_NODES + 1
    assert notes(walk)[-1].startswith(f"count: error: {MAX_QUIET_NODES} nodes in a row")


def test_flows_transferring_to_each_other_forever_end_in_an_error() -> None:
    ping = "flow: t\nnodes:\n  go: {transfer: {flow: pong}}\n"
    pong = "flow: pong\nnodes:\n  go: {transfer: {flow: t}}\n"
    _, actions = drive(book(ping, pong))
    assert isinstance(actions[0], HangUp) and actions[0].reason == "error"


def test_a_failing_expression_ends_in_an_error_hang_up_naming_the_line() -> None:
    flows = (
        "flow: t\nnodes:\n  s:\n    set:\n    priority: int(ani)\n    next: q\n"
        "  q: {queue: sales}\n"
    )
    walk, actions = drive(flows)
    assert actions == [HangUp("error", (), {})]
    assert notes(walk) == ["s: error: int(): '+15550001111' is not a number (/flows/flow0.yaml:3)"]


def test_say_and_play_nodes() -> None:
    flows = """\
    flow: t
    nodes:
      a:
        say: "You called {dnis} from {ani}; {{braces}} stay."
        barge_in: false
        next: b
      b:
        play: [one.wav, {say: and}, two.wav]
        next: c
      c: {hangup: ""}
    """
    walk, actions = drive(flows, Played(), Played())
    assert actions[0] == Prompt((Say("You called 1000 from +15550001111; {braces} stay."),), False)
    assert actions[1] == Prompt(
        (PlayFile("/flows/one.wav"), Say("and"), PlayFile("/flows/two.wav"))
    )
    assert actions[2] == HangUp("flow", (), {})
    assert notes(walk)[1] == "b: play: [one.wav] and [two.wav]"
