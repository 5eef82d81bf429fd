// The agent desktop: my state, the interactions in my hands with their timers and actions,
// and the customer (screen pop, what the IVR collected, history). Live state comes from
// live.js + reduce_agent.js; every action goes through the REST API.

import { api } from "./api.js";
import { byId, h, showError } from "./dom.js";
import { CHANNEL_LABELS, STATE_LABELS, clock, duration } from "./format.js";
import { Live } from "./live.js";
import { reduce } from "./reduce_agent.js";

const CONVERSATIONS = new Set(["chat", "sms"]); // channels with a conversation (a text's answers go out by SMS)

const config = JSON.parse(byId("config").textContent);
const agentId = config.agent_id;
const queueNames = Object.fromEntries(config.queues);
const dispositions = config.dispositions;
const reasonLabels = Object.fromEntries(
  [...byId("reason").options].map((o) => [o.value, o.textContent]),
);
const OBJECT_PATHS = { Contact: "contacts", Lead: "leads", Account: "accounts", Case: "cases" };
const SHOWN_FIELDS = ["AccountName", "Company", "Title", "Phone", "MobilePhone", "Email", "Status"];

const known = new Map(); // interaction id -> {detail, pop, record, activities, problem}
const cards = new Map(); // interaction id -> {li, key}
let selected = null; // the interaction whose customer the panel shows
let current = null; // the latest state

const live = new Live({
  view: "agent",
  userId: config.user_id,
  reduce,
  render,
  status: (text) => {
    byId("connection").textContent = text;
  },
});

async function act(where, action) {
  showError(where, null);
  try {
    await action();
  } catch (error) {
    showError(where, error);
  }
}

const agentUrl = `/agents/${encodeURIComponent(agentId)}`;

async function setState(body) {
  if (current?.agent.presence === "logged_out") await api("POST", `${agentUrl}/login`);
  await api("PUT", `${agentUrl}/state`, body);
}

byId("go-ready").addEventListener("click", () =>
  act(byId("state-error"), () => setState({ state: "ready" })),
);
byId("go-not-ready").addEventListener("click", () =>
  act(byId("state-error"), () =>
    setState({ state: "not_ready", reason: byId("reason").value }),
  ),
);
byId("log-out-agent").addEventListener("click", () =>
  act(byId("state-error"), () => api("POST", `${agentUrl}/logout`)),
);

// --- rendering ---------------------------------------------------------------------------------

function render(state, fresh = []) {
  current = state;
  for (const e of fresh) {
    if (e.kind === "chat_message") addMessage(e.interaction_id, { id: e.id, at: e.at, sender: e.payload.sender, body: e.payload.body });
  }
  const me = state.agent;
  const badge = byId("my-state");
  let label = STATE_LABELS[me.state] ?? me.state;
  if (me.state === "not_ready" && me.reason) {
    label += ` · ${reasonLabels[me.reason] ?? me.reason}`;
  }
  badge.textContent = label;
  badge.className = `badge state-${me.state}`;
  const timer = byId("my-state-timer");
  if (me.since === null) delete timer.dataset.since;
  else timer.dataset.since = me.since;
  byId("go-ready").disabled = me.presence === "ready";
  byId("log-out-agent").disabled =
    me.presence === "logged_out" || Object.keys(state.work).length > 0;
  byId("handled").textContent = state.handled;
  renderWork(state.work);
  syncComposer();
  tick();
}

function renderWork(work) {
  const list = byId("work");
  const ids = Object.keys(work).sort((a, b) => (work[a].since ?? 0) - (work[b].since ?? 0));
  for (const [id, card] of cards) {
    if (!(id in work)) {
      card.li.remove();
      cards.delete(id);
    }
  }
  for (const id of ids) {
    let card = cards.get(id);
    if (card === undefined) {
      card = { li: h("li", { class: "card", "data-iid": id }), key: "" };
      cards.set(id, card);
      list.append(card.li);
      load(id);
      if (work[id].phase === "reserved" || selected === null || !(selected in work)) {
        select(id);
      }
    }
    const item = work[id];
    const key = `${item.phase}:${item.state}`;
    if (card.key !== key) {
      card.key = key;
      fillCard(card.li, id, item);
      if (item.phase === "reserved" && document.activeElement === document.body) {
        card.li.querySelector('[data-action="accept"]')?.focus();
      }
    }
  }
  byId("no-work").hidden = ids.length > 0;
}

function customerOf(id) {
  const detail = known.get(id)?.detail;
  if (!detail) return "…";
  return `${CHANNEL_LABELS[detail.channel] ?? detail.channel} · ${detail.customer}`;
}

function fillCard(li, id, item) {
  const queue = item.queue_id ? queueNames[item.queue_id] ?? item.queue_id : "Direct";
  const title = h("h3", { class: "card-title" }, customerOf(id));
  const meta = h("p", { class: "meta" }, queue, " · ");
  const actions = h("div", { class: "actions" });
  const error = h("p", { class: "error", role: "alert" });
  const run = (action) => act(error, action);
  const url = `/interactions/${encodeURIComponent(id)}`;
  const mine = { agent_id: agentId };
  if (item.phase === "reserved") {
    meta.append("Offered · answer within ", h("span", { class: "timer", "data-deadline": item.offer_deadline }));
    actions.append(
      button("Accept", "accept", "Alt+Shift+A", () => run(() => api("POST", `${url}/accept`, mine)), true),
      button("Reject", "reject", "Alt+Shift+R", () => run(() => api("POST", `${url}/reject`, mine))),
    );
  } else if (item.phase === "busy") {
    const held = item.state === "on_hold";
    meta.append(
      held ? "On hold " : "Connected ",
      h("span", { class: "timer", "data-since": held ? item.since : item.connected_at }),
    );
    actions.append(
      button(held ? "Resume" : "Hold", "hold", "Alt+Shift+H", () =>
        run(() => api("POST", `${url}/${held ? "resume" : "hold"}`, mine)),
      ),
      button("End", "end", "Alt+Shift+E", () =>
        run(() => api("POST", `${url}/end`, { by: "agent", agent_id: agentId })),
      ),
      transferForm(id, run, url),
    );
  } else {
    meta.append("Wrap-up ", h("span", { class: "timer", "data-since": item.since }));
    actions.append(wrapUpForm(id, item, run, url));
  }
  li.replaceChildren(title, meta, actions, error);
  li.setAttribute("aria-label", `${customerOf(id)}, ${STATE_LABELS[item.phase] ?? item.phase}`);
}

function button(label, action, keys, onclick, primary = false) {
  return h(
    "button",
    { type: "button", class: primary ? "primary" : null, "data-action": action, "aria-keyshortcuts": keys, onclick },
    label,
  );
}

function transferForm(id, run, url) {
  const selectId = `transfer-${id}`;
  const queues = h("optgroup", { label: "Queues" }, ...config.queues.map(([q, name]) => h("option", { value: `queue:${q}` }, name)));
  const agents = h("optgroup", { label: "Agents ready now" });
  const select = h("select", { id: selectId }, queues, agents);
  const refreshAgents = async () => {
    const found = await api("GET", "/pages/agent/directory").catch(() => []);
    agents.replaceChildren(...found.map((a) => h("option", { value: `agent:${a.id}` }, a.name)));
  };
  select.addEventListener("focus", refreshAgents);
  refreshAgents();
  const go = () =>
    run(() => {
      const [kind, target] = select.value.split(/:(.*)/s);
      const body = { agent_id: agentId };
      if (kind === "queue") body.to_queue_id = target;
      else body.to_agent_id = target;
      return api("POST", `${url}/transfer`, body);
    });
  return h(
    "div",
    { class: "field inline" },
    h("label", { for: selectId }, "Transfer to"),
    select,
    button("Transfer", "transfer", null, go),
  );
}

function wrapUpForm(id, item, run, url) {
  const policy = known.get(id)?.detail?.queue ?? null;
  const dispositionId = `disposition-${id}`;
  const notesId = `notes-${id}`;
  const select = h(
    "select",
    { id: dispositionId, required: policy?.disposition_required ?? false },
    h("option", { value: "" }, "— choose —"),
    ...dispositions.map(([code, label]) => h("option", { value: code }, label)),
  );
  const notes = h("textarea", { id: notesId, rows: 3, required: policy?.notes_required ?? false });
  const ends = h("p", { class: "acw" });
  if (item.wrap_up_deadline === null) ends.append("No time limit");
  else ends.append("Wrap-up ends in ", h("span", { class: "timer", "data-deadline": item.wrap_up_deadline }));
  const form = h(
    "form",
    { class: "wrap-up", "data-iid": id, noValidate: true },
    h("div", { class: "field" }, h("label", { for: dispositionId }, policy?.disposition_required ? "Disposition (required)" : "Disposition"), select),
    h("div", { class: "field" }, h("label", { for: notesId }, policy?.notes_required ? "Notes (required)" : "Notes"), notes),
    ends,
    h("button", { type: "submit", class: "primary", "data-action": "wrap", "aria-keyshortcuts": "Alt+Shift+W" }, "Finish wrap-up"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    for (const field of [select, notes]) field.removeAttribute("aria-invalid");
    run(async () => {
      try {
        await api("POST", `${url}/wrap-up`, {
          agent_id: agentId,
          disposition: select.value || null,
          notes: notes.value.trim() || null,
        });
      } catch (problem) {
        // the server says which field: mark it and go there
        const field = { disposition: select, notes }[problem.field];
        field?.setAttribute("aria-invalid", "true");
        field?.focus();
        throw problem;
      }
    });
  });
  return form;
}

// --- the customer ------------------------------------------------------------------------------

async function load(id) {
  const entry = { detail: null, pop: null, record: null, activities: null, problem: null, messages: null, transcript: null, composer: null, typing: null };
  known.set(id, entry);
  const url = `/interactions/${encodeURIComponent(id)}`;
  const [detail, pop] = await Promise.allSettled([
    api("GET", `/pages/agent/interactions/${encodeURIComponent(id)}`),
    api("GET", `${url}/screen-pop`),
  ]);
  if (detail.status === "fulfilled") entry.detail = detail.value;
  if (pop.status === "fulfilled") entry.pop = pop.value;
  else entry.problem = pop.reason.message;
  if (CONVERSATIONS.has(entry.detail?.channel)) {
    entry.messages = new Map();
    const transcript = await api("GET", `${url}/messages`).catch(() => []);
    for (const m of transcript) entry.messages.set(m.id, m);
  }
  await loadRecord(entry);
  const card = cards.get(id);
  if (card) {
    card.li.querySelector(".card-title").textContent = customerOf(id);
    if (card.key.startsWith("wrap_up")) {
      card.key = ""; // the queue's wrap-up rules are known now: show them
      renderWork(current.work);
    }
  }
  if (selected === id) renderCustomer();
}

async function loadRecord(entry) {
  const pop = entry.pop;
  const ref = pop?.chosen ?? (pop?.outcome === "single" ? pop.matches[0] : null);
  if (!ref) return;
  const path = OBJECT_PATHS[ref.type];
  const [record, activities] = await Promise.allSettled([
    path ? api("GET", `/crm/${path}/${encodeURIComponent(ref.id)}`) : Promise.reject(new Error("")),
    api("GET", `/crm/activities?who_id=${encodeURIComponent(ref.id)}&limit=5`),
  ]);
  entry.record = record.status === "fulfilled" ? record.value : { type: ref.type, id: ref.id, name: ref.name, fields: {} };
  entry.activities = activities.status === "fulfilled" ? activities.value : null;
}

function select(id) {
  selected = id;
  renderCustomer();
}

function renderCustomer() {
  const panel = byId("customer");
  const entry = known.get(selected);
  if (!entry || !entry.detail) {
    panel.replaceChildren(h("p", { class: "quiet" }, "Loading the customer…"));
    return;
  }
  const d = entry.detail;
  const error = h("p", { class: "error", role: "alert" });
  const parts = [
    h("p", { class: "customer-line" }, h("strong", {}, d.customer), ` · ${CHANNEL_LABELS[d.channel] ?? d.channel} · ${d.direction}`, d.queue ? ` · ${d.queue.name}` : ""),
    ...conversation(entry, selected),
    screenPop(entry, error),
    error,
    ...callScript(entry),
    h("h3", {}, "What the IVR collected"),
    Object.keys(d.attached).length
      ? h("dl", { class: "pairs" }, ...Object.entries(d.attached).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]))
      : h("p", { class: "quiet" }, "Nothing collected."),
    h("h3", {}, "Recent history"),
    d.history.length
      ? h("ol", { class: "history" }, ...d.history.map((past) => h("li", {}, `${clock(past.created_at)} · ${CHANNEL_LABELS[past.channel] ?? past.channel} · ${past.disposition ?? past.end_reason ?? past.state}${past.notes ? ` · ${past.notes}` : ""}`)))
      : h("p", { class: "quiet" }, "No earlier interactions."),
  ];
  panel.replaceChildren(...parts);
}

// --- a chat or a text: the conversation, and answering in it ------------------------------------

const SENDERS = { customer: "Customer", agent: "You" };

function messageItem(m) {
  return h(
    "li",
    { class: m.sender === "agent" ? "message mine" : "message", "data-id": m.id },
    h("span", { class: "who" }, SENDERS[m.sender] ?? m.sender, " · ", clock(m.at)),
    h("p", {}, m.body),
  );
}

function conversation(entry, id) {
  if (!entry.messages) return [];
  const customer = entry.detail.customer;
  const sms = entry.detail.channel === "sms";
  const log = h(
    "ol",
    { class: "conversation", role: "log", "aria-label": `Conversation with ${customer}`, "aria-live": "polite" },
    ...[...entry.messages.values()].sort((a, b) => a.id - b.id).map(messageItem),
  );
  entry.transcript = log;
  const textId = `message-${id}`;
  const text = h("textarea", { id: textId, rows: 2, maxLength: 4000, "aria-keyshortcuts": "Enter" });
  const error = h("p", { class: "error", role: "alert" });
  const send = h("button", { type: "submit", class: "primary" }, "Send");
  const fields = h("fieldset", {}, h("label", { for: textId }, `${sms ? "Text" : "Message"} to ${customer}`), text, send);
  const form = h("form", { class: "composer" }, fields, error);
  const submit = () => {
    const body = text.value.trim();
    if (!body) return;
    act(error, async () => {
      const sent = await api("POST", `/interactions/${encodeURIComponent(id)}/messages`, { agent_id: agentId, body });
      text.value = "";
      addMessage(id, sent);
    });
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault(); // Enter sends; Shift+Enter starts a new line
      submit();
    }
  });
  let told = 0;
  text.addEventListener("input", () => {
    // "typing" lasts a few seconds on the customer's side: say it again every 2 s of typing
    // (a text's customer sees no typing)
    if (sms || Date.now() - told < 2000 || !text.value.trim()) return;
    told = Date.now();
    api("POST", `/interactions/${encodeURIComponent(id)}/typing`, { agent_id: agentId }).catch(() => {});
  });
  entry.composer = fields;
  entry.typing = h("p", { class: "typing quiet", role: "status" });
  queueMicrotask(() => {
    log.scrollTop = log.scrollHeight;
    syncComposer();
  });
  return [h("h3", {}, "Conversation"), log, entry.typing, form];
}

// Is the customer of the chat on screen typing? Asked every second and a half while it is
// connected (a notice of a few seconds, not worth a stored event).
setInterval(async () => {
  const entry = known.get(selected);
  if (!entry?.typing || current?.work[selected]?.phase !== "busy") return;
  const id = selected;
  const now = await api("GET", `/interactions/${encodeURIComponent(id)}/typing`).catch(() => null);
  if (now && selected === id) entry.typing.textContent = now.customer ? `${entry.detail.customer} is typing…` : "";
}, 1500);

/** A message, from the stream or from our own send: shown once, in order. */
function addMessage(id, m) {
  const entry = known.get(id);
  if (!entry?.messages || entry.messages.has(m.id)) return;
  entry.messages.set(m.id, m);
  if (m.sender === "customer" && entry.typing) entry.typing.textContent = "";
  const log = entry.transcript;
  if (!log) return;
  const after = [...log.children].find((li) => Number(li.dataset.id) > m.id) ?? null;
  log.insertBefore(messageItem(m), after);
  log.scrollTop = log.scrollHeight;
}

/** Only a connected (or held) chat can be answered. */
function syncComposer() {
  const entry = known.get(selected);
  if (entry?.composer) entry.composer.disabled = current?.work[selected]?.phase !== "busy";
}

// The queue's call script, its merge fields filled from the CRM record, what the IVR collected,
// the agent and the customer; a field with no value is a visible blank.
function callScript(entry) {
  const parts = entry.detail.queue?.script ?? [];
  if (!parts.length) return [];
  const d = entry.detail;
  const record = entry.record;
  const values = {
    "agent.name": config.agent_name,
    "customer.address": d.customer,
    ...Object.fromEntries(Object.entries(d.attached).map(([k, v]) => [`ivr.${k}`, v])),
    ...(record ? { "record.Name": record.name } : {}),
    ...Object.fromEntries(Object.entries(record?.fields ?? {}).map(([k, v]) => [`record.${k}`, v])),
  };
  const text = parts.map((p) => {
    if (p.text !== undefined) return p.text;
    const value = values[p.field];
    return value === undefined || value === null || value === ""
      ? h("mark", { class: "blank", title: `no value for ${p.field}` }, "____")
      : String(value);
  });
  return [h("h3", {}, "Call script"), h("div", { class: "script", role: "region", "aria-label": "Call script" }, ...text)];
}

function screenPop(entry, error) {
  const pop = entry.pop;
  const id = selected;
  const box = h("section", { class: "pop", "aria-label": "CRM record" });
  if (!pop) {
    box.append(h("p", { class: "quiet" }, `No CRM record: ${entry.problem ?? "no CRM connected"}.`));
    return box;
  }
  if (entry.record) {
    const r = entry.record;
    const fields = SHOWN_FIELDS.filter((f) => r.fields[f]).flatMap((f) => [h("dt", {}, f), h("dd", {}, String(r.fields[f]))]);
    box.append(
      h("h3", {}, `${r.name} (${r.type})`),
      h("dl", { class: "pairs" }, ...fields),
      h("button", { type: "button", onclick: () => act(error, () => dial({ type: r.type, id: r.id })) }, `Call ${r.name}`),
      h("h4", {}, "Recent activity in the CRM"),
    );
    const acts = entry.activities ?? [];
    box.append(
      acts.length
        ? h("ul", { class: "history", id: "crm-activities" }, ...acts.map((a) => h("li", {}, `${a.name}${a.fields.CallDisposition ? ` · ${a.fields.CallDisposition}` : ""}`)))
        : h("p", { class: "quiet", id: "crm-activities" }, "No activity logged yet."),
      h("button", { type: "button", class: "link", onclick: () => refreshActivities(id) }, "Refresh activity"),
    );
    return box;
  }
  if (pop.outcome === "multiple") {
    const name = `pick-${id}`;
    const choices = pop.matches.map((m, i) =>
      h("label", { class: "choice" }, h("input", { type: "radio", name, value: String(i), checked: i === 0 }), ` ${m.name} (${m.type}${m.account_name ? `, ${m.account_name}` : ""})`),
    );
    const form = h("form", {}, h("fieldset", {}, h("legend", {}, "Which customer is this?"), ...choices), h("button", { type: "submit", class: "primary" }, "Use this record"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const picked = pop.matches[Number(new FormData(form).get(name))];
      act(error, () => choose(id, { type: picked.type, id: picked.id }));
    });
    box.append(form);
    return box;
  }
  box.append(newRecordForm(id, pop.prefill, error));
  return box;
}

function newRecordForm(id, prefill, error) {
  const input = (field, label, type = "text") =>
    h("div", { class: "field" }, h("label", { for: `new-${field}` }, label), h("input", { id: `new-${field}`, name: field, type, value: prefill[field] ?? "" }));
  const form = h(
    "form",
    { class: "new-record" },
    h("p", {}, "No record matches. Create a contact:"),
    input("FirstName", "First name"),
    input("LastName", "Last name (required)"),
    input("Phone", "Phone", "tel"),
    input("Email", "Email", "email"),
    h("button", { type: "submit", class: "primary" }, "Create contact"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const fields = Object.fromEntries([...new FormData(form)].filter(([, v]) => v !== ""));
    act(error, async () => {
      try {
        const created = await api("POST", "/crm/contacts", fields);
        await choose(id, { type: "Contact", id: created.id });
      } catch (problem) {
        const field = problem.details?.field;
        const bad = field ? form.querySelector(`[name="${CSS.escape(field)}"]`) : null;
        bad?.setAttribute("aria-invalid", "true");
        bad?.focus();
        throw problem;
      }
    });
  });
  return form;
}

async function choose(id, ref) {
  const entry = known.get(id);
  entry.pop = await api("POST", `/interactions/${encodeURIComponent(id)}/screen-pop/choose`, ref);
  await loadRecord(entry);
  if (selected === id) renderCustomer();
}

async function refreshActivities(id) {
  const entry = known.get(id);
  if (!entry?.record) return;
  entry.activities = await api("GET", `/crm/activities?who_id=${encodeURIComponent(entry.record.id)}&limit=5`).catch(() => entry.activities);
  if (selected === id) renderCustomer();
}

function dial(record) {
  // an outbound call connected to me: it arrives in "My interactions" through the events
  return api("POST", "/crm/click-to-dial", { record });
}

// --- dialing a CRM record ----------------------------------------------------------------------

byId("dial-search").addEventListener("submit", (event) => {
  event.preventDefault();
  act(byId("dial-error"), async () => {
    const q = byId("dial-q").value.trim();
    const found = await api("GET", `/crm/search?q=${encodeURIComponent(q)}&limit=10`);
    byId("dial-results").replaceChildren(
      ...(found.length
        ? found.map((m) =>
            h("li", {}, `${m.name} (${m.type}) `, h("button", { type: "button", onclick: () => act(byId("dial-error"), () => dial({ type: m.type, id: m.id })) }, `Call ${m.name}`)),
          )
        : [h("li", { class: "quiet" }, "No records found.")]),
    );
  });
});

// --- preview campaigns: the record offered to me, Call and Skip --------------------------------

const PREVIEW_POLL_MS = 1500;
let previewKey = null; // what the preview panel shows, to redraw only when it changes
const crmMatches = new Map(); // number -> CRM matches (or an error text)

async function pollPreview() {
  const shown = await api("GET", `${agentUrl}/preview`).catch(() => null);
  if (shown) renderPreview(shown);
  setTimeout(pollPreview, PREVIEW_POLL_MS);
}

function renderPreview({ preview, last_call: last }) {
  const key = JSON.stringify([preview?.record_id, preview?.campaign_id, last?.record?.record_id, last?.disposition]);
  byId("preview").hidden = !preview && !last;
  if (key === previewKey) return;
  previewKey = key;
  byId("preview-body").replaceChildren(...(preview ? previewCard(preview) : []));
  byId("preview-last").replaceChildren(...(last ? lastCallForm(last) : []));
}

function previewCard(p) {
  const error = byId("preview-error");
  const pairs = [
    ["Campaign", p.campaign_name],
    ["Name", p.name || "(no name)"],
    ["Number", p.number],
    ...(p.phones.length > 1 ? [["Other numbers", p.phones.filter((n) => n !== p.number).join(", ")]] : []),
    ...(p.time_zone ? [["Time zone", p.time_zone]] : []),
    ...(p.state ? [["State", p.state]] : []),
  ];
  const deadline = p.deadline ? Date.parse(p.deadline) / 1000 : null;
  const reason = h("input", { id: "preview-reason", name: "reason", maxlength: "200", autocomplete: "off" });
  const dnc = h("input", { id: "preview-dnc", name: "do_not_call", type: "checkbox" });
  const crm = h("div", { class: "pop", role: "region", "aria-label": "CRM record" }, h("p", { class: "quiet" }, "Looking up the CRM…"));
  showCrmMatches(crm, p.number);
  return [
    h("dl", { class: "pairs", "aria-label": "Record to call" }, ...pairs.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    deadline
      ? h("p", {}, "Called automatically in ", h("span", { class: "timer", "data-deadline": String(deadline) }), ".")
      : h("p", { class: "quiet" }, "Called when you press Call."),
    crm,
    h("div", { class: "actions" },
      h("button", { type: "button", id: "preview-call", class: "primary", "aria-keyshortcuts": "Alt+Shift+C",
        onclick: () => act(error, () => api("POST", `${agentUrl}/preview/call`).then(() => api("GET", `${agentUrl}/preview`)).then(renderPreview)) },
      `Call ${p.name || p.number}`),
      h("button", { type: "button", id: "preview-skip", "aria-keyshortcuts": "Alt+Shift+K",
        onclick: () => act(error, () => api("POST", `${agentUrl}/preview/skip`, { reason: reason.value.trim(), do_not_call: dnc.checked }).then(() => api("GET", `${agentUrl}/preview`)).then(renderPreview)) },
      "Skip"),
    ),
    h("div", { class: "field" }, h("label", { for: "preview-reason" }, "Skip reason (optional)"), reason),
    h("div", { class: "field inline" }, dnc, h("label", { for: "preview-dnc" }, "They asked not to be called: add to do-not-call when skipping")),
  ];
}

async function showCrmMatches(box, number) {
  if (!crmMatches.has(number)) {
    const found = await api("GET", `/crm/lookup?phone=${encodeURIComponent(number)}`).catch((e) => e.message || "no CRM connected");
    crmMatches.set(number, found);
  }
  const found = crmMatches.get(number);
  if (typeof found === "string") {
    box.replaceChildren(h("p", { class: "quiet" }, `No CRM record: ${found}.`));
  } else if (!found.length) {
    box.replaceChildren(h("p", { class: "quiet" }, "No CRM record for this number."));
  } else {
    box.replaceChildren(
      h("h4", {}, "In the CRM"),
      h("ul", { class: "results" }, ...found.map((m) => h("li", {}, `${m.name} (${m.type})${m.account_name ? `, ${m.account_name}` : ""}`))),
    );
  }
}

function lastCallForm(last) {
  const r = last.record;
  const select = h("select", { id: "preview-disposition", name: "disposition" },
    h("option", { value: "" }, "Choose…"),
    ...last.dispositions.map((d) => h("option", { value: d.code, selected: d.code === last.disposition }, d.label)));
  const error = byId("preview-error");
  const form = h("form", { class: "field inline", "aria-label": "Disposition of the last campaign call" },
    h("label", { for: "preview-disposition" }, `Disposition for ${r.name || r.number}`),
    select,
    h("button", { type: "submit" }, "Set disposition"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!select.value) return;
    act(error, async () => renderPreview(await api("POST", `${agentUrl}/preview/disposition`, { disposition: select.value }).then(() => api("GET", `${agentUrl}/preview`))));
  });
  return [form];
}

pollPreview();

// --- time and keys -----------------------------------------------------------------------------

function tick() {
  const now = live.now();
  for (const el of document.querySelectorAll("[data-since]")) {
    el.textContent = duration(now - Number(el.dataset.since));
  }
  for (const el of document.querySelectorAll("[data-deadline]")) {
    const left = Number(el.dataset.deadline) - now;
    el.textContent = left >= 0 ? duration(left) : `over by ${duration(-left)}`;
  }
  if (!byId("my-state-timer").dataset.since) byId("my-state-timer").textContent = "";
}

const SHORTCUTS = { KeyA: "accept", KeyR: "reject", KeyH: "hold", KeyE: "end", KeyW: "wrap" };
document.addEventListener("keydown", (event) => {
  if (!event.altKey || !event.shiftKey) return;
  let target = null;
  if (event.code === "KeyY") target = byId("go-ready");
  else if (event.code === "KeyN") target = byId("go-not-ready");
  else if (event.code === "KeyC") target = byId("preview-call");
  else if (event.code === "KeyK") target = byId("preview-skip");
  else if (SHORTCUTS[event.code]) target = byId("work").querySelector(`[data-action="${SHORTCUTS[event.code]}"]`);
  if (target && !target.disabled) {
    event.preventDefault();
    target.click();
  }
});

// the customer of the wrapped-up interaction has a new activity on its way to the CRM
document.addEventListener("callbridge:wrapped", (event) => {
  for (const wait of [1000, 3000]) setTimeout(() => refreshActivities(event.detail), wait);
});

setInterval(tick, 1000);
const renderLive = live.render;
live.render = (state, events) => {
  renderLive(state, events);
  for (const e of events) {
    if (e.kind === "interaction_wrapped_up") {
      document.dispatchEvent(new CustomEvent("callbridge:wrapped", { detail: e.interaction_id }));
    }
  }
};
live.start();
