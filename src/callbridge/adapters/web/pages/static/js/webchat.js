// The customer's web chat: start a chat in the page's queue, then follow it with a long poll
// (GET /chat/{id}?wait=...) and write in it. The chat's id and token are kept for the tab
// (sessionStorage), so a refresh carries on where it was.

import { byId, h } from "./dom.js";
import { clock } from "./format.js";

const config = JSON.parse(byId("config").textContent);
const KEY = `callbridge.webchat.${config.queue_id}`;
const WAIT_S = 25;
const STATUS = {
  new: "Connecting you…",
  queued: "Waiting for an agent…",
  offered: "Waiting for an agent…",
  connected: null, // "You are chatting with <name>"
  on_hold: "The agent will be right back.",
  ended: "The chat has ended. Thank you!",
  wrapped_up: "The chat has ended. Thank you!",
};

let chat = JSON.parse(sessionStorage.getItem(KEY) ?? "null"); // {id, token}
let lastId = 0;
let state = null;
let agentName = null;
let open = true;
let agentTyping = false;
let typingShownAt = 0;

class ChatError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `the server answered ${status}`);
    this.field = body?.error?.details?.field ?? null;
  }
}

async function call(method, url, body) {
  const headers = { Accept: "application/json" };
  if (chat) headers["X-Chat-Token"] = chat.token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ChatError(response.status, data);
  return data;
}

function show(where, error) {
  byId(where).textContent = error ? error.message : "";
}

function addMessage(m) {
  const list = byId("messages");
  if (list.querySelector(`[data-id="${m.id}"]`)) return;
  const who = m.sender === "customer" ? "You" : agentName ?? "Agent";
  const item = h("li", { class: m.sender === "customer" ? "message mine" : "message", "data-id": m.id }, h("span", { class: "who" }, who, " · ", clock(m.at)), h("p", {}, m.body));
  const after = [...list.children].find((li) => Number(li.dataset.id) > m.id) ?? null;
  list.insertBefore(item, after);
  list.scrollTop = list.scrollHeight;
  lastId = Math.max(lastId, m.id);
  if (m.sender === "agent") showTyping(false);
}

function showTyping(on) {
  byId("typing").textContent = on ? `${agentName ?? "The agent"} is typing…` : "";
  typingShownAt = on ? Date.now() : 0;
}

// a notice lasts a few seconds unless it is said again
setInterval(() => {
  if (typingShownAt && Date.now() - typingShownAt > 6000) showTyping(false);
}, 1000);

function apply(seen) {
  state = seen.state;
  if (seen.agent) agentName = seen.agent;
  for (const m of seen.messages) addMessage(m);
  if (seen.agent_typing !== agentTyping || seen.agent_typing) showTyping(seen.agent_typing);
  agentTyping = seen.agent_typing;
  const text = STATUS[state] === null ? `You are chatting with ${agentName ?? "an agent"}.` : STATUS[state] ?? state;
  byId("chat-status").textContent = text;
  open = !(state === "ended" || state === "wrapped_up");
  for (const el of [byId("message"), byId("compose").querySelector("button"), byId("leave")]) el.disabled = !open;
}

async function follow() {
  while (open && chat) {
    try {
      const query = `after_id=${lastId}&wait=${WAIT_S}&state=${encodeURIComponent(state ?? "")}&typing=${agentTyping}`;
      apply(await call("GET", `/chat/${encodeURIComponent(chat.id)}?${query}`));
      show("chat-error", null);
    } catch (error) {
      show("chat-error", error);
      await new Promise((done) => setTimeout(done, 2000));
    }
  }
}

function enter() {
  byId("start").hidden = true;
  byId("chat").hidden = false;
  byId("message").focus();
  follow();
}

byId("start").addEventListener("submit", async (event) => {
  event.preventDefault();
  show("start-error", null);
  const form = event.target;
  const body = { queue_id: config.queue_id };
  for (const field of form.querySelectorAll("[name]")) {
    const value = field.value.trim();
    field.removeAttribute("aria-invalid");
    if (value) body[field.name] = value;
  }
  try {
    const started = await call("POST", "/chat", body);
    chat = { id: started.interaction_id, token: started.token };
    sessionStorage.setItem(KEY, JSON.stringify(chat));
    enter();
  } catch (error) {
    show("start-error", error);
    const field = form.querySelector(`[name="${CSS.escape(error.field ?? "")}"]`);
    field?.setAttribute("aria-invalid", "true");
    field?.focus();
  }
});

async function send() {
  const text = byId("message");
  const body = text.value.trim();
  if (!body || !chat) return;
  try {
    addMessage(await call("POST", `/chat/${encodeURIComponent(chat.id)}/messages`, { body }));
    text.value = "";
    show("chat-error", null);
  } catch (error) {
    show("chat-error", error);
  }
}

byId("compose").addEventListener("submit", (event) => {
  event.preventDefault();
  send();
});
byId("message").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault(); // Enter sends; Shift+Enter starts a new line
    send();
  }
});
let told = 0;
byId("message").addEventListener("input", () => {
  // "typing" lasts a few seconds on the agent's side: say it again every 2 s of typing
  if (!chat || !open || Date.now() - told < 2000 || !byId("message").value.trim()) return;
  told = Date.now();
  call("POST", `/chat/${encodeURIComponent(chat.id)}/typing`).catch(() => {});
});
byId("leave").addEventListener("click", async () => {
  try {
    await call("POST", `/chat/${encodeURIComponent(chat.id)}/end`);
  } catch (error) {
    show("chat-error", error);
  }
});

if (chat) enter();
