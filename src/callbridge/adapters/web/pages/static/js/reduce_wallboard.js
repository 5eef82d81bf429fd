// The wallboard's state, moved on by every event its viewer may see.
//
// state = {day_start,
//          queues: {id: {id, name, agents: [ids of agents who can serve it]}},
//          agents: {id: {id, name, presence, reason, state, since, work: {interaction id: phase},
//                        handled, skills: {skill: proficiency}}},
//          interactions: {id: {id, channel, customer, state, queue_id, agent_id, entered_at,
//                              callback}}}
// Open interactions, and ended ones an agent is still wrapping up. Who can serve a queue
// follows from skills and requirements, which only the server works out: a change of an agent
// or a queue sets `resync`, and the page reads a fresh snapshot. Today's KPIs are not here
// (the page reads /reports/kpis). The server's snapshot is pages/snapshots.py wallboard_view.

import { rollDay, shownState, stateKey } from "./reduce_common.js";

export function reduce(state, events) {
  const next = structuredClone(state);
  for (const event of events) apply(next, event);
  return next;
}

function apply(s, e) {
  if (rollDay(s, e.at)) {
    for (const agent of Object.values(s.agents)) agent.handled = 0;
  }
  const p = e.payload;
  const id = e.interaction_id;
  const ix = id === null ? undefined : s.interactions[id];
  const agent = e.agent_id === null ? undefined : s.agents[e.agent_id];
  const before = agent === undefined ? null : stateKey(agent.state, agent.reason);
  switch (e.kind) {
    case "agent_saved":
    case "queue_saved":
    case "queue_removed":
      s.resync = true;
      if (agent !== undefined) agent.name = p.name;
      break;
    case "agent_presence_changed":
      if (agent !== undefined) {
        agent.presence = p.presence;
        agent.reason = p.reason ?? null;
      }
      break;
    case "interaction_created":
      s.interactions[id] = {
        id,
        channel: p.channel,
        customer: p.direction === "inbound" ? p.from_address : p.to_address,
        state: "new",
        queue_id: null,
        agent_id: null,
        entered_at: null,
        callback: false,
      };
      break;
    case "interaction_wrapped_up":
      delete s.interactions[id];
      if (agent !== undefined) {
        delete agent.work[id];
        if (e.at >= s.day_start) agent.handled += 1;
      }
      break;
    default:
      if (ix !== undefined) applyToInteraction(s, e, ix, agent);
  }
  if (agent !== undefined) {
    agent.state = shownState(agent.presence, Object.values(agent.work));
    if (stateKey(agent.state, agent.reason) !== before) agent.since = e.at;
  }
}

function applyToInteraction(s, e, ix, agent) {
  const p = e.payload;
  const id = ix.id;
  switch (e.kind) {
    case "ivr_entered":
      ix.state = "in_ivr";
      break;
    case "interaction_queued":
      // a missed offer keeps the place in line, and so the time it entered
      if (p.reason !== "returned" || ix.entered_at === null) ix.entered_at = e.at;
      Object.assign(ix, { state: "queued", queue_id: p.queue_id, agent_id: null });
      break;
    case "callback_requested":
      ix.callback = true;
      break;
    case "interaction_offered":
      Object.assign(ix, { state: "offered", agent_id: e.agent_id });
      if (agent !== undefined) agent.work[id] = "reserved";
      break;
    case "offer_missed":
      ix.agent_id = null;
      if (agent !== undefined) delete agent.work[id];
      break;
    case "interaction_connected":
      ix.state = "connected";
      if (agent !== undefined) agent.work[id] = "busy";
      break;
    case "interaction_held":
      ix.state = "on_hold";
      break;
    case "interaction_resumed":
      ix.state = "connected";
      break;
    case "interaction_transferred":
      if (p.to_number == null && agent !== undefined) delete agent.work[id];
      break;
    case "interaction_ended": {
      const holder = ix.agent_id === null ? undefined : s.agents[ix.agent_id];
      if (ix.state === "offered" || holder === undefined) {
        if (holder !== undefined) delete holder.work[id];
        delete s.interactions[id];
      } else {
        ix.state = "ended";
        holder.work[id] = "wrap_up";
      }
      break;
    }
    case "wrap_up_started":
      if (agent !== undefined) agent.work[id] = "wrap_up";
      break;
    default:
      break;
  }
}
