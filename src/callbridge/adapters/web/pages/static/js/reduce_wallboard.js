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
//
// A supervisor limited to some queues has only those queues, the agents who serve them and
// the interactions in them (adapters/web/visibility.py): an interaction queued into one of them
// from outside arrives with `payload.interaction` (what the board shows of it); queued into a
// queue not on the board, it leaves it. An agent's work is followed from the agent's own events
// alone (other queues' interactions come withheld, `payload.withheld`), so its state is right
// whichever interactions the board shows.

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
  const agent = e.agent_id === null ? undefined : s.agents[e.agent_id];
  const before = agent === undefined ? null : stateKey(agent.state, agent.reason);
  switch (e.kind) {
    case "agent_saved":
    case "queue_saved":
    case "queue_removed":
      s.resync = true;
      if (agent !== undefined && p.name !== undefined) agent.name = p.name;
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
    default:
      if (id === null) break;
      if (e.kind === "interaction_queued" && p.interaction && !(id in s.interactions)) {
        s.interactions[id] = { ...p.interaction }; // it enters this board's queues
      }
      if (id in s.interactions) applyToInteraction(s, e, s.interactions[id]);
      if (agent !== undefined) applyToWork(s, e, agent);
  }
  if (agent !== undefined) {
    agent.state = shownState(agent.presence, Object.values(agent.work));
    if (stateKey(agent.state, agent.reason) !== before) agent.since = e.at;
  }
}

function applyToInteraction(s, e, ix) {
  const p = e.payload;
  const id = ix.id;
  switch (e.kind) {
    case "ivr_entered":
      ix.state = "in_ivr";
      break;
    case "interaction_queued":
      if (!(p.queue_id in s.queues)) {
        delete s.interactions[id]; // it leaves this board's queues
        break;
      }
      // a missed offer keeps the place in line, and so the time it entered
      if (p.reason !== "returned" || ix.entered_at === null) ix.entered_at = e.at;
      Object.assign(ix, { state: "queued", queue_id: p.queue_id, agent_id: null });
      break;
    case "callback_requested":
      ix.callback = true;
      break;
    case "interaction_offered":
      Object.assign(ix, { state: "offered", agent_id: e.agent_id });
      break;
    case "offer_missed":
      ix.agent_id = null;
      break;
    case "interaction_connected":
    case "interaction_resumed":
      ix.state = "connected";
      break;
    case "interaction_held":
      ix.state = "on_hold";
      break;
    case "interaction_ended":
      // nobody to wrap it up: gone; else it stays, ended, until it is wrapped up
      if (ix.state === "offered" || ix.agent_id === null) delete s.interactions[id];
      else ix.state = "ended";
      break;
    case "interaction_wrapped_up":
      delete s.interactions[id];
      break;
    default:
      break;
  }
}

/** The agent's own part of an interaction event: the phase of that piece of its work. */
function applyToWork(s, e, agent) {
  const id = e.interaction_id;
  const work = agent.work;
  switch (e.kind) {
    case "interaction_offered":
      work[id] = "reserved";
      break;
    case "offer_missed":
      delete work[id];
      break;
    case "interaction_connected":
      work[id] = "busy";
      break;
    case "interaction_transferred":
      // to a queue or an agent its part ends; to an outside number it wraps the call up
      if (e.payload.to_number == null && e.payload.outside !== true) delete work[id];
      break;
    case "interaction_ended":
      if (work[id] === "reserved") delete work[id];
      else if (id in work) work[id] = "wrap_up";
      break;
    case "wrap_up_started":
      work[id] = "wrap_up";
      break;
    case "interaction_wrapped_up":
      delete work[id];
      if (e.at >= s.day_start) agent.handled += 1;
      break;
    default:
      break;
  }
}
