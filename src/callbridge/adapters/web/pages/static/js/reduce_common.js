// What both live views share: an agent's shown state, derived as the server derives it
// (presence combined with the phases of its work), and the UTC day their counts belong to.
// Pure functions: no DOM, no clock; tests run them in Chromium against fresh snapshots.

export const DAY_S = 86400;

/** The state a supervisor sees: presence, unless the agent holds work. */
export function shownState(presence, phases) {
  if (presence === "logged_out") return "logged_out";
  for (const phase of ["reserved", "busy", "wrap_up"]) {
    if (phases.includes(phase)) return phase;
  }
  return presence;
}

/** What the timer of "time in state" follows: the state, and the reason when Not Ready. */
export function stateKey(state, reason) {
  return state === "not_ready" ? `not_ready:${reason ?? ""}` : state;
}

/** Counts are per UTC day: an event of a later day starts the next one. Returns true then. */
export function rollDay(state, at) {
  if (at < state.day_start + DAY_S) return false;
  state.day_start = at - (at % DAY_S);
  return true;
}
