// Times as people read them on a contact center's screens.

export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

export function clock(epochSeconds) {
  return new Date(epochSeconds * 1000).toLocaleString([], {
    dateStyle: "medium",
    timeStyle: "short",
  });
}

export function percent(ratio) {
  return ratio === null || ratio === undefined ? "–" : `${Math.round(ratio * 100)}%`;
}

export function seconds(value) {
  return value === null || value === undefined ? "–" : `${Math.round(value)} s`;
}

export const STATE_LABELS = {
  logged_out: "Logged out",
  not_ready: "Not Ready",
  ready: "Ready",
  reserved: "Offered",
  busy: "Busy",
  wrap_up: "Wrap-up",
};

export const CHANNEL_LABELS = { voice: "Call", chat: "Chat", email: "Email", sms: "Text" };
