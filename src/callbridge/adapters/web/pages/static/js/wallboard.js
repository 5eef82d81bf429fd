// The supervisor's wallboard: queues and agents live (live.js + reduce_wallboard.js), today's
// KPIs and charts from /reports/kpis, read again whenever events say they moved.

import { api } from "./api.js";
import { barChart, ratioChart } from "./chart.js";
import { byId, h, showError } from "./dom.js";
import { CHANNEL_LABELS, STATE_LABELS, duration, percent, seconds } from "./format.js";
import { Live } from "./live.js";
import { reduce } from "./reduce_wallboard.js";

const config = JSON.parse(byId("config").textContent);
const reasonLabels = Object.fromEntries(config.reasons);
const INTERVAL_S = 900;
const KPI_EVENTS = new Set([
  "interaction_queued",
  "interaction_offered",
  "interaction_connected",
  "interaction_ended",
  "interaction_wrapped_up",
  "offer_missed",
]);

let kpis = null;
let current = null;
const queueRows = new Map();
const agentRows = new Map();

const live = new Live({
  view: "wallboard",
  userId: config.user_id,
  reduce,
  render: (state, events) => {
    render(state);
    if (events.some((e) => KPI_EVENTS.has(e.kind))) refreshKpis();
  },
  status: (text) => {
    byId("connection").textContent = text;
  },
});

// --- KPIs: at most one read in flight, and one more queued behind it --------------------------

let reading = false;
let again = false;

async function refreshKpis() {
  if (reading) {
    again = true;
    return;
  }
  reading = true;
  try {
    kpis = await api("GET", `/reports/kpis?interval_s=${INTERVAL_S}`);
    if (current) render(current);
    renderCharts();
  } catch (error) {
    byId("connection").textContent = `KPIs unavailable: ${error.message}`;
  } finally {
    reading = false;
    if (again) {
      again = false;
      refreshKpis();
    }
  }
}

// --- queues ----------------------------------------------------------------------------------

function render(state) {
  current = state;
  renderQueues(state);
  renderAgents(state);
  tick();
}

function renderQueues(state) {
  const body = byId("queues").tBodies[0];
  const queues = Object.values(state.queues).sort((a, b) => a.name.localeCompare(b.name));
  const waiting = {};
  for (const ix of Object.values(state.interactions)) {
    if (ix.state !== "queued") continue;
    const line = (waiting[ix.queue_id] ??= []);
    line.push(ix.entered_at);
  }
  const intervalStart = Math.floor(live.now() / INTERVAL_S) * INTERVAL_S;
  for (const [id, row] of queueRows) {
    if (!(id in state.queues)) {
      row.remove();
      queueRows.delete(id);
    }
  }
  for (const q of queues) {
    let row = queueRows.get(q.id);
    if (!row) {
      row = h("tr", { "data-queue": q.id }, h("th", { scope: "row" }), ...Array.from({ length: 11 }, () => h("td")));
      queueRows.set(q.id, row);
    }
    body.append(row); // keeps them in name order
    const line = waiting[q.id] ?? [];
    const counts = { ready: 0, busy: 0, wrap_up: 0, not_ready: 0 };
    for (const agentId of q.agents) {
      const shown = state.agents[agentId]?.state ?? "logged_out";
      if (shown === "ready") counts.ready += 1;
      else if (shown === "busy" || shown === "reserved") counts.busy += 1;
      else if (shown === "wrap_up") counts.wrap_up += 1;
      else if (shown === "not_ready") counts.not_ready += 1;
    }
    const day = kpis?.overall?.[q.id];
    const now = kpis?.intervals?.find((r) => r.queue_id === q.id && r.start === intervalStart);
    const cells = row.cells;
    cells[0].textContent = q.name;
    cells[1].textContent = line.length;
    setSince(cells[2], line.length ? Math.min(...line) : null);
    cells[3].textContent = percent(day?.service_level);
    cells[4].textContent = percent(now?.service_level);
    cells[5].textContent = seconds(day?.asa_s);
    cells[6].textContent = day?.offered ?? "–";
    cells[7].textContent = day?.abandoned ?? "–";
    cells[8].textContent = counts.ready;
    cells[9].textContent = counts.busy;
    cells[10].textContent = counts.wrap_up;
    cells[11].textContent = counts.not_ready;
  }
}

function setSince(cell, since) {
  if (since === null || since === undefined) {
    delete cell.dataset.since;
    cell.textContent = "–";
  } else {
    cell.dataset.since = since;
  }
}

// --- agents ----------------------------------------------------------------------------------

function renderAgents(state) {
  const body = byId("agents").tBodies[0];
  const agents = Object.values(state.agents).sort((a, b) => a.name.localeCompare(b.name));
  for (const [id, row] of agentRows) {
    if (!(id in state.agents)) {
      row.tr.remove();
      agentRows.delete(id);
    }
  }
  for (const agent of agents) {
    let row = agentRows.get(agent.id);
    if (!row) {
      row = agentRow(agent);
      agentRows.set(agent.id, row);
    }
    body.append(row.tr);
    const cells = row.tr.cells;
    cells[0].textContent = agent.name;
    let label = STATE_LABELS[agent.state] ?? agent.state;
    if (agent.state === "not_ready" && agent.reason) {
      label += ` · ${reasonLabels[agent.reason] ?? agent.reason}`;
    }
    cells[1].replaceChildren(h("span", { class: `badge state-${agent.state}` }, label));
    setSince(cells[2], agent.since);
    const work = Object.keys(agent.work).map((id) => {
      const ix = state.interactions[id];
      if (!ix) return "not in your queues";
      return `${CHANNEL_LABELS[ix.channel] ?? ix.channel} · ${ix.customer} · ${ix.state.replace("_", " ")}`;
    });
    cells[3].textContent = work.join("; ") || "–";
    cells[4].textContent = agent.handled;
    const skills = Object.entries(agent.skills ?? {});
    cells[5].textContent = skills.map(([skill, level]) => `${skill} ${level}`).join(", ") || "–";
    if (row.skills) row.skills(skills);
    if (row.ready) {
      row.ready.disabled = agent.presence === "ready";
      row.notReady.disabled = agent.presence === "not_ready";
      row.logout.disabled = agent.presence === "logged_out" || work.length > 0;
    }
    if (row.monitor) {
      const call = voiceCall(state, agent);
      if (call !== row.call) row.outcome.textContent = "";
      row.call = call;
      for (const button of row.monitor) button.disabled = call === null;
    }
  }
}

function agentRow(agent) {
  const tr = h("tr", { "data-agent": agent.id }, h("th", { scope: "row" }), h("td"), h("td"), h("td"), h("td"), h("td"));
  const row = { tr };
  if (!config.can_act && !config.can_monitor && !config.can_edit_skills) return row;
  const actions = h("div", { class: "row-actions" });
  tr.append(h("td", {}, actions));
  if (config.can_monitor) monitorButtons(agent, row, actions);
  if (config.can_edit_skills) skillEditor(agent, row, actions);
  if (!config.can_act) return row;
  const url = `/agents/${encodeURIComponent(agent.id)}`;
  const error = byId("agent-error");
  const run = (action) => {
    showError(error, null);
    action().catch((problem) => showError(error, problem));
  };
  const reason = config.reasons[0][0];
  const name = () => current.agents[agent.id]?.name ?? agent.id;
  const isOut = () => current.agents[agent.id]?.presence === "logged_out";
  row.ready = h("button", { type: "button", "aria-label": `Make ${agent.name} Ready` }, "Ready");
  row.ready.addEventListener("click", () =>
    run(async () => {
      if (isOut()) await api("POST", `${url}/login`);
      await api("PUT", `${url}/state`, { state: "ready" });
    }),
  );
  row.notReady = h("button", { type: "button", "aria-label": `Make ${agent.name} Not Ready` }, "Not Ready");
  row.notReady.addEventListener("click", () =>
    run(async () => {
      if (isOut()) await api("POST", `${url}/login`);
      await api("PUT", `${url}/state`, { state: "not_ready", reason });
    }),
  );
  row.logout = h("button", { type: "button", "aria-label": `Log ${agent.name} out` }, "Log out");
  row.logout.addEventListener("click", () => run(() => api("POST", `${url}/logout`)));
  actions.prepend(row.ready, row.notReady, row.logout);
  row.name = name;
  return row;
}

// --- skills: which queues an agent serves follows from them ----------------------------------

function skillEditor(agent, row, actions) {
  const url = `/agents/${encodeURIComponent(agent.id)}/skills`;
  const error = byId("agent-error");
  const run = (action) => {
    showError(error, null);
    action().catch((problem) => showError(error, problem));
  };
  const skillId = `skill-${agent.id}`;
  const levelId = `level-${agent.id}`;
  const skill = h("input", { id: skillId, list: "known-skills", required: true, autocomplete: "off" });
  const level = h("input", { id: levelId, type: "number", min: 1, max: 10, value: 5 });
  const owned = h("ul", { class: "skill-list" });
  const form = h(
    "form",
    { class: "skill-form" },
    h("label", { for: skillId }, `Skill for ${agent.name}`),
    skill,
    h("label", { for: levelId }, "Proficiency (1–10)"),
    level,
    h("button", { type: "submit" }, "Set skill"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = skill.value.trim();
    if (!name) {
      skill.focus();
      return;
    }
    run(async () => {
      await api("PUT", `${url}/${encodeURIComponent(name)}`, { proficiency: Number(level.value) });
      skill.value = "";
    });
  });
  const box = h("details", { class: "skills" }, h("summary", { "aria-label": `Edit ${agent.name}'s skills` }, "Skills"), owned, form);
  actions.append(box);
  let shown = null;
  row.skills = (skills) => {
    const key = JSON.stringify(skills);
    if (key === shown) return; // keep focus and the open form between renders
    shown = key;
    owned.replaceChildren(
      ...skills.map(([name, proficiency]) =>
        h(
          "li",
          {},
          `${name} ${proficiency} `,
          h("button", { type: "button", class: "link", "aria-label": `Remove ${name} from ${agent.name}`, onclick: () => run(() => api("DELETE", `${url}/${encodeURIComponent(name)}`)) }, "Remove"),
        ),
      ),
    );
  };
}

// --- listen, whisper, barge: the supervisor's own phone joins the agent's call ---------------

const MONITOR_MODES = [
  ["listen", "Listen", "Listen to"],
  ["whisper", "Whisper", "Whisper to"],
  ["barge", "Barge", "Barge into"],
];

function monitorButtons(agent, row, actions) {
  row.monitor = [];
  const outcome = h("span", { class: "monitor-outcome", role: "status" });
  for (const [mode, text, verb] of MONITOR_MODES) {
    const button = h("button", { type: "button", "aria-label": `${verb} ${agent.name}'s call`, disabled: true }, text);
    button.addEventListener("click", async () => {
      const iid = row.call;
      if (!iid) return;
      outcome.textContent = `${text}: asking…`;
      try {
        const body = { agent_id: config.monitor_agent_id, mode };
        const result = await api("POST", `/interactions/${encodeURIComponent(iid)}/monitor`, body);
        outcome.textContent = `${text}: your phone is ${result.state === "ringing" ? "ringing" : result.state.replace("_", " ")}`;
      } catch (problem) {
        outcome.textContent = `${text} failed: ${problem.message ?? problem}`;
      }
    });
    row.monitor.push(button);
  }
  actions.append(...row.monitor, outcome);
  row.outcome = outcome;
}

function voiceCall(state, agent) {
  for (const id of Object.keys(agent.work)) {
    const ix = state.interactions[id];
    if (ix && ix.channel === "voice" && (ix.state === "connected" || ix.state === "on_hold")) return id;
  }
  return null;
}

// --- charts ----------------------------------------------------------------------------------

const CHART_SLOTS = 32; // the last eight hours of today, in intervals

function renderCharts() {
  const byStart = new Map(
    (kpis?.intervals ?? []).filter((r) => r.queue_id === "*").map((r) => [r.start, r]),
  );
  const last = Math.floor(live.now() / INTERVAL_S) * INTERVAL_S;
  const dayStart = last - (last % 86400);
  const shown = [];
  for (let i = CHART_SLOTS - 1; i >= 0; i -= 1) {
    const start = last - i * INTERVAL_S;
    if (start >= dayStart) shown.push(byStart.get(start) ?? { start, service_level: null });
  }
  const total = kpis?.overall?.["*"];
  byId("volume-chart").replaceChildren(
    barChart(
      shown,
      [
        { key: "offered", label: "offered", className: "offered" },
        { key: "answered", label: "answered", className: "answered" },
        { key: "abandoned", label: "abandoned", className: "abandoned" },
      ],
      {
        label: `Today: ${total?.offered ?? 0} offered, ${total?.answered ?? 0} answered, ${total?.abandoned ?? 0} abandoned`,
      },
    ),
  );
  byId("sl-chart").replaceChildren(
    ratioChart(shown, "service_level", {
      label: `Service level today: ${percent(total?.service_level)}`,
      target: 0.8,
    }),
  );
}

// --- time ------------------------------------------------------------------------------------

function tick() {
  const now = live.now();
  for (const el of document.querySelectorAll("[data-since]")) {
    el.textContent = duration(now - Number(el.dataset.since));
  }
}

setInterval(tick, 1000);
setInterval(refreshKpis, 15000); // the current interval moves on even when nothing happens
refreshKpis();
if (config.live) {
  live.start();
} else {
  // a role without events.subscribe (auditors) reads the board again every few seconds
  const poll = async () => {
    await live.snapshot();
    render(live.state);
    byId("connection").textContent = "Updated every 5 seconds";
  };
  poll();
  setInterval(poll, 5000);
}
