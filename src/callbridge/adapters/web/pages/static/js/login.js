// Signing in: password, then a TOTP or recovery code (or setting TOTP up, where the role needs
// it), then on to the page asked for, or the one the user's role starts at.

import { api, setCsrf } from "./api.js";
import { byId, h } from "./dom.js";

const steps = ["password-step", "code-step", "enrol-step", "recovery-step"];

function show(step, focus) {
  for (const id of steps) byId(id).hidden = id !== step;
  byId(focus)?.focus();
}

function fail(errorId, inputId, error) {
  const input = byId(inputId);
  byId(errorId).textContent = error.message;
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", errorId);
  input.focus();
}

function clear(errorId, inputId) {
  byId(errorId).textContent = "";
  byId(inputId).removeAttribute("aria-invalid");
}

async function proceed() {
  const next = new URLSearchParams(location.search).get("next");
  if (next && next.startsWith("/") && !next.startsWith("//")) {
    location.assign(next);
    return;
  }
  const me = await api("GET", "/auth/me");
  const can = new Set(me.permissions);
  if (me.user.agent_id) location.assign("/agent");
  else if (can.has("reports.read")) location.assign("/wallboard");
  else if (can.has("users.read")) location.assign("/admin");
  else location.assign("/agent");
}

byId("password-step").addEventListener("submit", async (event) => {
  event.preventDefault();
  clear("password-error", "password");
  const username = byId("username").value.trim();
  const password = byId("password").value;
  if (!username) {
    fail("password-error", "username", new Error("Enter your username."));
    return;
  }
  try {
    const result = await api("POST", "/auth/login", { username, password });
    setCsrf(result.csrf_token);
    sessionStorage.clear(); // another user's saved live views are not this one's
    if (result.mfa === "verify") show("code-step", "code");
    else if (result.mfa === "enrol") await enrol();
    else await proceed();
  } catch (error) {
    fail("password-error", "password", error);
  }
});

byId("code-step").addEventListener("submit", async (event) => {
  event.preventDefault();
  clear("code-error", "code");
  try {
    await api("POST", "/auth/mfa/verify", { code: byId("code").value.trim() });
    await proceed();
  } catch (error) {
    fail("code-error", "code", error);
  }
});

async function enrol() {
  const enrolment = await api("POST", "/auth/mfa/enrol");
  byId("enrol-qr").src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(enrolment.qr_svg)}`;
  byId("enrol-secret").textContent = enrolment.secret;
  show("enrol-step", "enrol-code");
}

byId("enrol-step").addEventListener("submit", async (event) => {
  event.preventDefault();
  clear("enrol-error", "enrol-code");
  try {
    const result = await api("POST", "/auth/mfa/confirm", { code: byId("enrol-code").value.trim() });
    byId("recovery-codes").replaceChildren(...result.recovery_codes.map((c) => h("li", {}, c)));
    show("recovery-step", "recovery-done");
  } catch (error) {
    fail("enrol-error", "enrol-code", error);
  }
});

byId("recovery-done").addEventListener("click", () => proceed());
byId("username").focus();
