// Talking to the REST API from a page: JSON in and out, the session's CSRF token on changes,
// and errors as ApiError carrying the API's code, message and the field at fault.

let csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

/** After a login the page has a new session, and so a new token. */
export function setCsrf(token) {
  csrf = token;
}

export class ApiError extends Error {
  constructor(status, body) {
    const error = body?.error ?? {};
    super(error.message ?? `the server answered ${status}`);
    this.status = status;
    this.code = error.code ?? "error";
    this.details = error.details ?? {};
    this.field = this.details.field ?? null;
  }
}

export async function api(method, url, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = csrf;
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}
