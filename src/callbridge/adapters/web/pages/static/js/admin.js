// The admin forms: each sends its fields as JSON to the REST API route it names
// (data-method, data-url); a mistake is shown next to the field the API names, and the page
// is read again after a change (or, with data-output, the answer is shown there). Buttons with data-url run one request (delete, test).

import { api } from "./api.js";
import { h } from "./dom.js";

function valueOf(form, input) {
  if (input.type === "checkbox" && input.dataset.list !== undefined) {
    return [...form.querySelectorAll(`[name="${CSS.escape(input.name)}"]:checked`)].map((c) => c.value);
  }
  if (input.type === "checkbox") return input.checked;
  if (input.type === "number") return input.value === "" ? null : Number(input.value);
  // data-lines="map": one entry a line, "key rest of the line" -> {key: rest} (closed days)
  if (input.dataset.lines === "map") {
    const entries = input.value.split("\n").map((l) => l.trim()).filter(Boolean);
    if (!entries.length) return null;
    return Object.fromEntries(entries.map((l) => {
      const [key, ...rest] = l.split(/\s+/);
      return [key, rest.join(" ") || key];
    }));
  }
  return input.value === "" ? null : input.value;
}

/** Form fields named like "wrap_up.duration_s" become nested objects. */
function bodyOf(form) {
  const body = {};
  for (const input of form.querySelectorAll("[name]")) {
    if (input.dataset.skip !== undefined) continue;
    const value = valueOf(form, input);
    if (value === null) continue;
    const path = input.name.split(".");
    let at = body;
    for (const part of path.slice(0, -1)) at = at[part] ??= {};
    at[path[path.length - 1]] = value;
  }
  // data-nulls="max_wait_s overflow": left empty, these are sent as null (a merge patch
  // removes them) rather than left out (unchanged)
  for (const name of (form.dataset.nulls ?? "").split(" ").filter(Boolean)) {
    if (body[name] === undefined) body[name] = null;
  }
  // data-wrap='{"requirements": "list-of:skill"}': one field that the API takes as a list
  for (const [name, wrap] of Object.entries(JSON.parse(form.dataset.wrap ?? "{}"))) {
    if (body[name] === undefined) continue;
    body[name] = wrap === "list" ? [body[name]] : [{ [wrap.slice("list-of:".length)]: body[name] }];
  }
  return body;
}

/** data-url="/hours/{name}": a {field} is filled in from the form's field of that name. */
function urlOf(form) {
  return form.dataset.url.replace(/\{(\w+)\}/g, (_, name) =>
    encodeURIComponent(form.querySelector(`[name="${name}"]`)?.value.trim() ?? ""));
}

function clearProblems(form) {
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  for (const el of form.querySelectorAll(".field-error")) el.remove();
  form.querySelector(".form-error").textContent = "";
}

function showProblem(form, error) {
  const field = error.field ?? "";
  const top = field.split(".")[0];
  const input =
    form.querySelector(`[name="${CSS.escape(field)}"]`) ??
    form.querySelector(`[name^="${CSS.escape(top)}"]`);
  if (input) {
    const id = `${input.id}-error`;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", id);
    input.closest(".field")?.append(h("p", { class: "error field-error", id }, error.message));
    input.focus();
  } else {
    form.querySelector(".form-error").textContent = error.message;
  }
}

for (const form of document.querySelectorAll("form[data-url]")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearProblems(form);
    const blank = [...(form.dataset.url ?? "").matchAll(/\{(\w+)\}/g)]
      .map((m) => m[1])
      .find((name) => !form.querySelector(`[name="${name}"]`)?.value.trim());
    if (blank) {
      showProblem(form, { field: blank, message: `${blank}: required` });
      return;
    }
    try {
      const result = await api(form.dataset.method ?? "POST", urlOf(form), bodyOf(form));
      const out = form.dataset.output && document.getElementById(form.dataset.output);
      if (out) out.textContent = JSON.stringify(result, null, 2); // a dry run: show, keep the form
      else location.reload();
    } catch (error) {
      showProblem(form, error);
    }
  });
}

for (const button of document.querySelectorAll("button[data-url]")) {
  button.addEventListener("click", async () => {
    const out = document.getElementById(button.dataset.output);
    if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
    try {
      const result = await api(button.dataset.method ?? "GET", button.dataset.url);
      if (out) out.textContent = button.dataset.show === "health" ? health(result) : "Done.";
      else location.reload();
    } catch (error) {
      if (out) out.textContent = `Failed: ${error.message}`;
    }
  });
}

function health(result) {
  const outbox = result.outbox ?? {};
  const budget = result.api_max ? `, API calls today ${result.api_used} of ${result.api_max}` : "";
  return (
    `${result.crm}: ${result.state}${result.detail ? ` (${result.detail})` : ""}${budget}. ` +
    `Outbox: ${outbox.pending ?? 0} pending, ${outbox.unresolved ?? 0} waiting for a pick, ` +
    `${outbox.failed ?? 0} failed, ${outbox.delivered ?? 0} delivered.`
  );
}
