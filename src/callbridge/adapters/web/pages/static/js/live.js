// A live view: start from a snapshot of the view (or the state saved before this page was
// refreshed), follow the view's event queue over a WebSocket, and apply every batch with the
// view's reducer. Nothing is missed or applied twice: the state, the queue and the id of the
// last event applied are saved together (sessionStorage) before that id is acknowledged, and a
// reconnect resumes after it. When the server no longer has the queue (it expired, or the
// reducer cannot apply a change), a fresh snapshot replaces the state.

import { api } from "./api.js";

export class Live {
  constructor({ view, userId, reduce, render, status }) {
    Object.assign(this, { view, userId, reduce, render, status });
    this.retry = 0;
    this.ws = null;
    this.ackTimer = null;
    this.watchdog = null;
    this.lastHeard = 0;
  }

  get key() {
    return `callbridge.live.${this.view}.${this.userId}`;
  }

  /** Server time now, in epoch seconds (timers count in the server's time). */
  now() {
    return Date.now() / 1000 + this.skew;
  }

  async start() {
    if (!this.restore()) await this.snapshot();
    this.render(this.state, []);
    this.connect();
  }

  restore() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(this.key) ?? "null");
      if (!saved) return false;
      Object.assign(this, saved);
      return true;
    } catch {
      return false;
    }
  }

  save() {
    const { queueId, lastEventId, state, skew, heartbeatS } = this;
    sessionStorage.setItem(
      this.key,
      JSON.stringify({ queueId, lastEventId, state, skew, heartbeatS }),
    );
  }

  async snapshot() {
    for (;;) {
      try {
        const snap = await api("GET", `/pages/${this.view}/state`);
        this.queueId = snap.queue_id;
        this.lastEventId = snap.last_event_id;
        this.state = snap.state;
        this.skew = snap.server_now - Date.now() / 1000;
        this.heartbeatS = snap.heartbeat_s;
        this.save();
        return;
      } catch (error) {
        if (error.status === 401) {
          location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
          return;
        }
        this.status("Cannot reach the server; trying again…");
        await new Promise((done) => setTimeout(done, 2000));
      }
    }
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = `queue_id=${encodeURIComponent(this.queueId)}&last_event_id=${this.lastEventId}`;
    const ws = new WebSocket(`${scheme}//${location.host}/ws/events?${query}`);
    this.ws = ws;
    ws.onopen = () => {
      this.retry = 0;
      this.lastHeard = performance.now();
      this.status("Live");
      clearInterval(this.watchdog);
      this.watchdog = setInterval(() => this.checkAlive(ws), 1000);
    };
    ws.onmessage = (message) => this.receive(JSON.parse(message.data));
    ws.onclose = (closed) => this.closed(ws, closed);
  }

  checkAlive(ws) {
    // the server sends a heartbeat when it has nothing else to say; silence means a dead link
    if (performance.now() - this.lastHeard > this.heartbeatS * 2500) ws.close();
  }

  receive(message) {
    this.lastHeard = performance.now();
    if (message.type !== "events") return;
    const fresh = message.events.filter((e) => e.id > this.lastEventId);
    if (!fresh.length) return;
    this.state = this.reduce(this.state, fresh);
    this.lastEventId = fresh[fresh.length - 1].id;
    if (this.state.resync) {
      this.resync();
      return;
    }
    this.save();
    this.ackSoon();
    this.render(this.state, fresh);
  }

  ackSoon() {
    if (this.ackTimer !== null) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = null;
      if (this.ws?.readyState === WebSocket.OPEN) {
        this.ws.send(JSON.stringify({ ack: this.lastEventId }));
      }
    }, 200);
  }

  async closed(ws, closed) {
    if (ws !== this.ws) return; // a socket this view already let go of
    clearInterval(this.watchdog);
    if (closed.code === 4410) {
      await this.resync();
      return;
    }
    this.status("Reconnecting…");
    const delay = Math.min(10000, 500 * 2 ** this.retry);
    this.retry += 1;
    setTimeout(() => this.connect(), delay);
  }

  /** Start again from a fresh snapshot, on a new queue. */
  async resync() {
    const old = this.ws;
    this.ws = null;
    if (old && old.readyState <= WebSocket.OPEN) old.close();
    this.status("Refreshing…");
    await this.snapshot();
    this.render(this.state, []);
    this.connect();
  }
}
