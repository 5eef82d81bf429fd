"""The journey's use cases through the runtime and a real store (SQLite and PostgreSQL): what a
flow gathered, a message left and a wait announced are durable and survive a restart."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from callbridge.app import App, build
from callbridge.domain.channels import Channel
from callbridge.domain.clock import ManualClock
from callbridge.domain.errors import InvalidInput, NotFound
from callbridge.domain.ids import AgentId, InteractionId, QueueId, SkillId
from callbridge.domain.interactions import InteractionState
from callbridge.domain.queues import OverflowAction, OverflowKind, Queue
from callbridge.services import agents as agent_svc
from callbridge.services import ivr
from callbridge.services import queues as queue_svc
from callbridge.services.runtime import Runtime
from callbridge.services.security.crypto import Keyring
from callbridge.settings import Settings

SUPPORT, VIP = QueueId("support"), QueueId("vip")
KEYS = Keyring.generate().to_json()


def _app(database_url: str) -> App:
    return build(
        Settings(
            database_url=database_url,
            admin_token=SecretStr("t" * 32),
            keys=SecretStr(KEYS),
        ),
        clock=ManualClock(1_800_000_000.0),
        run_timer_loop=False,
    )


@pytest.fixture
def app(database_url: str) -> Iterator[App]:
    built = _app(database_url)
    queue_svc.do_save_queue(built.runtime, Queue(SUPPORT, "Support"))
    yield built
    built.close()


def _arrive(rt: Runtime, caller: str = "+15550001111") -> InteractionId:
    stored = ivr.do_arrive_in_ivr(rt, "main", caller, "1000", {"sip_call_id": "abc"})
    return InteractionId(str(stored[0].interaction_id))


def test_what_a_flow_gathered_is_attached_and_survives_a_restart(
    app: App, database_url: str
) -> None:
    rt = app.runtime
    iid = _arrive(rt)
    assert rt.center.interactions[iid].state is InteractionState.IN_IVR
    done = ivr.FlowOutcome("main", "queue", ("main:menu", "main:line"), {"account": "30548697"})
    ivr.do_route_from_ivr(rt, iid, done, SUPPORT, 7, {SkillId("billing"): 3})
    kinds = [e.kind for e in rt.store.events(interaction_id=iid)]
    assert kinds == ["interaction_created", "ivr_entered", "ivr_finished", "interaction_queued"]
    again = _app(database_url)
    try:
        ix = again.runtime.center.interactions[iid]
        assert (ix.state, ix.priority) == (InteractionState.QUEUED, 7)
        assert ix.attached == {"sip_call_id": "abc", "account": "30548697"}
        assert ix.extra_skills == {SkillId("billing"): 3}
    finally:
        again.close()


def test_a_message_becomes_a_voicemail_interaction_and_the_call_ends(app: App) -> None:
    rt = app.runtime
    iid = _arrive(rt)
    done = ivr.FlowOutcome("main", "voicemail", ("main:leave",), {"reason": "billing"})
    message = ivr.Message(
        "+15550001111", "1000", "/var/lib/callbridge/voicemail-x.wav", 12.5, {"lang": "en"}
    )
    stored = ivr.do_leave_voicemail(rt, iid, SUPPORT, message, done)
    call = rt.store.get_interaction(iid)
    assert call is not None and call.end_reason is not None
    assert call.end_reason.value == "voicemail"
    (created,) = [e for e in stored if e.kind == "interaction_created"]
    left = rt.center.interactions[InteractionId(str(created.interaction_id))]
    assert left.channel is Channel.VOICEMAIL and left.state is InteractionState.QUEUED
    assert left.attached == {
        "lang": "en",
        "reason": "billing",
        "voicemail_of": iid,
        "recording": "/var/lib/callbridge/voicemail-x.wav",
        "duration_s": "12.5",
    }


def test_a_caller_hanging_up_in_the_flow_abandons_and_a_flow_hang_up_is_self_service(
    app: App,
) -> None:
    rt = app.runtime
    gone, closed = _arrive(rt), _arrive(rt, "+15550003333")
    ivr.do_end_in_ivr(rt, gone, ivr.FlowOutcome("main", "hangup", ("main:menu",)), by_caller=True)
    ivr.do_end_in_ivr(rt, closed, ivr.FlowOutcome("main", "hangup", ("main:closed",)), False)
    reasons = {}
    for iid in (gone, closed):
        ix = rt.store.get_interaction(iid)
        assert ix is not None and ix.end_reason is not None
        reasons[iid] = ix.end_reason.value
    assert reasons == {gone: "abandoned", closed: "self_service"}


def test_a_wait_announcement_is_logged_with_what_the_caller_heard(app: App) -> None:
    rt = app.runtime
    agent_svc.do_save_agent(rt, AgentId("ann"), "Ann", {})
    agent_svc.do_login(rt, AgentId("ann"))  # logged in, Not Ready: the line waits
    first, second = _arrive(rt), _arrive(rt, "+15550004444")
    for iid in (first, second):
        ivr.do_route_from_ivr(rt, iid, ivr.FlowOutcome("main", "queue", ()), SUPPORT, None, {})
    told = ivr.wait_estimate(rt, second, handle_time_s=240.0)
    assert (told.position, told.expected_wait_s, told.agents) == (2, 480.0, 1)
    (event,) = ivr.do_announce_wait(rt, second, told)
    assert event.payload == {
        "interaction_id": second,
        "queue_id": "support",
        "position": 2,
        "expected_wait_s": 480.0,
    }


def test_bad_journeys_are_refused_whole(app: App) -> None:
    rt = app.runtime
    iid = _arrive(rt)
    done = ivr.FlowOutcome("main", "queue", ())
    with pytest.raises(NotFound):
        ivr.do_route_from_ivr(rt, iid, done, QueueId("nowhere"), None, {})
    with pytest.raises(InvalidInput):
        too_many = ivr.FlowOutcome("main", "queue", (), {f"v{i}": "x" for i in range(65)})
        ivr.do_route_from_ivr(rt, iid, too_many, SUPPORT, None, {})
    assert rt.center.interactions[iid].state is InteractionState.IN_IVR
    assert rt.store.get_interaction(iid) is not None


def test_a_queue_no_agent_action_round_trips_through_the_api_schema(app: App) -> None:
    rt = app.runtime
    queue_svc.do_save_queue(
        rt, Queue(VIP, "VIP", no_agent=OverflowAction(OverflowKind.QUEUE, SUPPORT))
    )
    again = rt.store.load()
    (vip,) = [q for q in again.queues if q.id == VIP]
    assert vip.no_agent == OverflowAction(OverflowKind.QUEUE, SUPPORT)
