// The agent desktop's state, moved on by the events of the agent's own queue.
//
// state = {day_start, handled, agent: {id, name, presence, reason, state, since},
//          work: {interaction id: {phase, state, queue_id, offer_deadline, wrap_up_deadline,
//                                  since, connected_at}}}
// `reduce(state, events)` returns the next state and leaves its argument alone. The server's
// snapshot (pages/snapshots.py agent_view) is the same shape; the live-view tests check that
// a snapshot plus the events reduced here equals a fresh snapshot after any actions.

import { rollDay, shownState, stateKey } from "./reduce_common.js";

export function reduce(state, events) {
  const next = structuredClone(state);
  for (const event of events) apply(next, event);
  return next;
}

function apply(s, e) {
  if (rollDay(s, e.at)) s.handled = 0;
  const agent = s.agent;
  if (e.agent_id !== agent.id) return;
  const before = stateKey(agent.state, agent.reason);
  const p = e.payload;
  const id = e.interaction_id;
  const item = id === null ? undefined : s.work[id];
  switch (e.kind) {
    case "agent_saved":
      agent.name = p.name;
      break;
    case "agent_presence_changed":
      agent.presence = p.presence;
      agent.reason = p.reason ?? null;
      break;
    case "interaction_wrapped_up":
      delete s.work[id];
      if (e.at >= s.day_start) s.handled += 1;
      break;
    case "interaction_offered":
      s.work[id] = {
        phase: "reserved",
        state: "offered",
        queue_id: e.queue_id,
        offer_deadline: p.deadline,
        wrap_up_deadline: null,
        since: e.at,
        connected_at: null,
      };
      break;
    default:
      if (item !== undefined) applyToItem(s, e, item);
  }
  const phases = Object.values(s.work).map((w) => w.phase);
  agent.state = shownState(agent.presence, phases);
  if (stateKey(agent.state, agent.reason) !== before) agent.since = e.at;
}

function applyToItem(s, e, item) {
  const id = e.interaction_id;
  switch (e.kind) {
    case "offer_missed":
      delete s.work[id];
      break;
    case "interaction_transferred":
      if (e.payload.to_number == null) delete s.work[id]; // to a number: it ends next
      break;
    case "interaction_connected":
      Object.assign(item, { phase: "busy", state: "connected", offer_deadline: null });
      item.since = item.connected_at = e.at;
      break;
    case "interaction_held":
      Object.assign(item, { state: "on_hold", since: e.at });
      break;
    case "interaction_resumed":
      Object.assign(item, { state: "connected", since: e.at });
      break;
    case "interaction_ended":
      if (item.phase === "reserved") delete s.work[id];
      else Object.assign(item, { phase: "wrap_up", state: "ended", since: e.at });
      break;
    case "wrap_up_started":
      Object.assign(item, { phase: "wrap_up", wrap_up_deadline: e.payload.deadline });
      break;
    default:
      break;
  }
}
