// Alerts as a list: the feed's newest first, each with its level, unit and message.

import { h, message } from "../dom.js";
import { ALERT_LEVELS, when } from "../format.js";

const SHOWN = 20;

export function alertList(items, shown = SHOWN) {
  if (items.length === 0) return message("Chưa có cảnh báo.");
  return h(
    "ol", { class: "alert-list" },
    items.slice(0, shown).map((alert) => h(
      "li", { class: `alert ${alert.level}`, "data-seq": alert.seq },
      h("span", { class: "level" }, ALERT_LEVELS[alert.level] ?? alert.level),
      h("time", { datetime: alert.recorded_at }, when(alert.recorded_at)),
      h("span", { class: "message" }, alert.message),
    )),
  );
}

export function mountAlerts(root, _route, context) {
  const list = h("section", { class: "card alerts" }, alertList(context.feed.items, context.feed.keep));
  root.replaceChildren(h("h1", {}, "Cảnh báo"), list);
  return context.feed.subscribe(() => list.replaceChildren(alertList(context.feed.items, context.feed.keep)));
}
