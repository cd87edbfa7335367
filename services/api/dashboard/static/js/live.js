// What keeps a page live: refresh loops that never overlap and pause while the tab is hidden,
// the header's "cập nhật hh:mm" and stale banner, and the one alert stream of the page.

import { Resource, getJson, isOutage } from "./api.js";
import { hhmm } from "./format.js";
import { apiKey } from "./keys.js";

// Repeats `task` every `intervalMs` after the previous run ended: never two at once.
export class Poller {
  #timer = null;
  #running = false;
  #again = false;
  #stopped = false;

  constructor(task, intervalMs) {
    this.task = task;
    this.intervalMs = intervalMs;
    this.onVisibility = () => {
      if (!document.hidden) this.now();
    };
  }

  start() {
    document.addEventListener("visibilitychange", this.onVisibility);
    this.now();
    return this;
  }

  // Run now (or right after the run in progress).
  now() {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    // Hidden: nothing until the tab is shown again (onVisibility).
    if (!document.hidden) this.#run();
  }

  async #run() {
    this.#running = true;
    try {
      await this.task();
    } catch (error) {
      // A bug in drawing: said loudly, and the wall keeps refreshing rather than freezing.
      console.error(error);
    } finally {
      this.#running = false;
    }
    if (this.#stopped) return;
    if (this.#again) {
      this.#again = false;
      this.now();
    } else if (!document.hidden) {
      this.#timer = setTimeout(() => this.now(), this.intervalMs);
    }
  }

  stop() {
    this.#stopped = true;
    clearTimeout(this.#timer);
    document.removeEventListener("visibilitychange", this.onVisibility);
  }
}

// The header: when the numbers on screen were last confirmed, and whether the api answers.
export const status = {
  confirmedAt: null,

  fresh() {
    this.confirmedAt = new Date();
    const text = `cập nhật ${hhmm(this.confirmedAt)}`;
    const updated = document.getElementById("updated");
    // Written only when the minute changes: the status is a live region, read out when changed.
    if (updated.textContent !== text) updated.textContent = text;
    document.getElementById("stale").hidden = true;
    delete document.body.dataset.stale;
  },

  stale(error) {
    const banner = document.getElementById("stale");
    const since = this.confirmedAt ? `; số liệu đang hiển thị là của lúc ${hhmm(this.confirmedAt)}` : "";
    banner.textContent = `Mất kết nối tới máy chủ${since}. Đang thử lại…`;
    banner.hidden = false;
    document.body.dataset.stale = "true";
    console.warn("api unreachable", error);
  },
};

// Refresh `sources` and draw them if they changed; outages go to the banner, refusals (a bad
// period, an unknown unit) to `refused`.
export async function refreshInto(sources, draw, refused) {
  try {
    const changed = await sources.refresh();
    status.fresh();
    if (changed) draw();
  } catch (error) {
    if (isOutage(error)) status.stale(error);
    else refused(error);
  }
}

// The alert kinds the stream names its events by (shared/alerts AlertKind).
const KINDS = [
  "dossier_due_soon", "dossier_overdue", "score_drop", "rank_drop",
  "indicator_below_target", "dead_letters_growing",
];
const RECONNECT_MS = 5_000;
const LIVE_LABELS = { open: "Trực tiếp", connecting: "Đang kết nối lại", closed: "Mất kết nối" };

// The page's one EventSource (browsers allow six connections per host across tabs). It starts
// after the newest alert listed, and resumes after the last one received: the browser sends
// Last-Event-ID when it reconnects by itself, and a stream the server closed is opened again
// with `after`. An EventSource cannot send a header: where reads need a key, the feed polls the
// newest alerts instead (conditional GETs: a 304 while none is new).
export class AlertFeed {
  constructor(keep = 50, pollMs = 10_000) {
    this.keep = keep;
    this.pollMs = pollMs;
    this.items = [];
    this.lastSeq = 0;
    this.listeners = new Set();
    this.source = null;
  }

  async start() {
    try {
      const page = await getJson(`/alerts?limit=${Math.min(this.keep, 100)}`);
      this.items = page.items;
      this.lastSeq = page.items[0]?.seq ?? 0;
    } catch (error) {
      console.warn("alerts not listed", error);
    }
    this.#notify(null);
    if (apiKey()) this.#poll();
    else this.#connect();
  }

  #poll() {
    const newest = new Resource(`/alerts?limit=${Math.min(this.keep, 100)}`);
    new Poller(async () => {
      try {
        if (await newest.load()) {
          const fresh = newest.body.items.filter((alert) => alert.seq > this.lastSeq).reverse();
          for (const alert of fresh) this.#add(alert, alert.seq);
        }
        this.#state("open");
      } catch (error) {
        this.#state("closed");
        console.warn("alerts not polled", error);
      }
    }, this.pollMs).start();
  }

  #connect() {
    const source = new EventSource(`/alerts/stream?after=${this.lastSeq}`);
    source.onopen = () => this.#state("open");
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        this.#state("closed");
        setTimeout(() => this.#connect(), RECONNECT_MS);
      } else {
        this.#state("connecting");
      }
    };
    const receive = (event) => this.#receive(event);
    for (const kind of KINDS) source.addEventListener(kind, receive);
    this.source = source;
  }

  #receive(event) {
    this.#add(JSON.parse(event.data), Number(event.lastEventId));
  }

  #add(alert, seq) {
    this.lastSeq = seq;
    this.items.unshift(alert);
    if (this.items.length > this.keep) this.items.length = this.keep;
    this.#notify(alert);
  }

  #state(state) {
    const label = document.getElementById("live");
    label.dataset.state = state;
    label.textContent = LIVE_LABELS[state];
  }

  #notify(alert) {
    for (const listener of this.listeners) listener(alert);
  }

  // `listener(alert)` for each new alert (null: the list was reloaded); returns the unsubscribe.
  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
