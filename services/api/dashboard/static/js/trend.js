// The daily trend: a small SVG line of a unit's (or the province's) total at the end of each
// closed day (/units/{code}/history), each point's value in its <title> for hover and focus.

import { Sources } from "./api.js";
import { h, message } from "./dom.js";
import { num } from "./format.js";
import { Poller, refreshInto } from "./live.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const HEIGHT = 180;
const PAD = { top: 12, right: 16, bottom: 28, left: 44 };
const Y_TICKS = 4;
const MAX_X_LABELS = 8;
// A day closes once: a minute between reads is plenty, whatever the page's refresh.
const MIN_REFRESH_MS = 60_000;

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  element.append(...children);
  return element;
}

// "2026-11-24" → "24/11": the day as the api wrote it, with no time zone to shift it.
export function ddmm(day) {
  const [, month, date] = day.split("-");
  return `${date}/${month}`;
}

export function trendChart(days, label) {
  const totals = days.map((day) => day.total);
  let low = Math.min(...totals);
  let high = Math.max(...totals);
  if (high - low < 1) { low -= 0.5; high += 0.5; }
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (i) => PAD.left + (days.length === 1 ? plotW / 2 : (i * plotW) / (days.length - 1));
  const y = (value) => PAD.top + plotH - ((value - low) / (high - low)) * plotH;
  const ticks = Array.from({ length: Y_TICKS + 1 }, (_, i) => low + ((high - low) * i) / Y_TICKS);
  const every = Math.ceil(days.length / MAX_X_LABELS);
  return svg(
    "svg",
    { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: "trend-chart", role: "img", "aria-label": label },
    svg("title", {}, label),
    ...ticks.map((value) => svg("g", { class: "tick" },
      svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(value), y2: y(value) }),
      svg("text", { x: PAD.left - 6, y: y(value) + 4, "text-anchor": "end" }, num(Math.round(value * 10) / 10)))),
    ...days.map((day, i) => (i % every === 0 || i === days.length - 1
      ? svg("text", { x: x(i), y: HEIGHT - 8, "text-anchor": "middle", class: "day" }, ddmm(day.day))
      : null)).filter(Boolean),
    svg("polyline", { class: "line", points: days.map((day, i) => `${x(i)},${y(day.total)}`).join(" ") }),
    ...days.map((day, i) => svg(
      "circle",
      { cx: x(i), cy: y(day.total), r: 4, tabindex: 0, class: "point", "data-day": day.day, "data-total": day.total },
      svg("title", {}, `${ddmm(day.day)}: ${num(day.total)} điểm${day.restated_at ? " (đã điều chỉnh)" : ""}`),
    )),
  );
}

function draw(element, history) {
  const days = history.days;
  element.replaceChildren(
    h("h2", {}, "Diễn biến theo ngày ", h("small", {}, `tổng điểm cuối mỗi ngày, kỳ ${history.period === "month" ? "tháng" : history.period}`)),
    days.length ? trendChart(days, `Tổng điểm của ${history.unit.name} theo ngày`) : message("Chưa có lịch sử."),
  );
}

// A card that keeps itself up to date; `element` goes where the view wants it.
export class Trend {
  constructor(code, context, period = "month") {
    this.element = h("section", { class: "card trend", "data-slot": "trend" }, h("h2", {}, "Diễn biến theo ngày"), message("Đang tải…", "loading"));
    const sources = new Sources({ history: `/units/${encodeURIComponent(code)}/history?period=${encodeURIComponent(period)}` });
    this.poller = new Poller(
      // Before the first day closes the history has no days: "Chưa có lịch sử.".
      () => refreshInto(sources, () => draw(this.element, sources.body("history")),
        (error) => this.element.replaceChildren(h("h2", {}, "Diễn biến theo ngày"), message(error.detail, "error"))),
      Math.max(context.refreshMs, MIN_REFRESH_MS),
    );
  }

  start() { this.poller.start(); return this; }

  stop() { this.poller.stop(); }
}
