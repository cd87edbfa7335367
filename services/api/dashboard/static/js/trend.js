// The daily trend: a small SVG line of a unit's (or the province's) total, one of its six groups
// or its rank, at the end of each closed day (/units/{code}/history), in the period of the kind
// the page shows (this week's days in the week running on each of them, and so on). Each point's
// value is in its <title> for hover and focus.

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
const KIND_NAMES = { week: "tuần", month: "tháng", quarter: "quý", half: "6 tháng", year: "năm" };
const RANGE = /^\d{4}-\d{2}-\d{2}\.\.\d{4}-\d{2}-\d{2}$/;
const TOTAL = "total";
const RANK = "rank";

// The history's `period` for a page's: a kind or a named key as they are; a range of days is not
// kept day by day, so its trend is the month's.
export function historyPeriod(period) {
  return RANGE.test(period) ? "month" : period;
}

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

// What a day shows for the chosen measure; null when the day has none (a group the methodology
// of that day did not have, a rank before the unit had one).
function valueOf(day, measure) {
  if (measure === TOTAL) return day.total;
  if (measure === RANK) return day.rank;
  return day.groups[measure] ?? null;
}

// Round tick values over [low, high]: steps of 1, 2 or 5 times a power of ten.
export function ticks(low, high, count = Y_TICKS, integers = false) {
  const raw = (high - low) / count;
  if (!(raw > 0)) return [low];
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(integers ? 1 : 0, [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw));
  const values = [Math.floor(low / step) * step];
  // Up to the first tick at or above `high`: the axis covers every value.
  while (values.at(-1) < high) values.push(Math.round((values.at(-1) + step) * 1e6) / 1e6);
  return values;
}

export function trendChart(days, label, measure = TOTAL) {
  const shown = days.map((day) => valueOf(day, measure));
  const present = shown.filter((value) => value !== null);
  const rank = measure === RANK;
  let low = Math.min(...present);
  let high = Math.max(...present);
  if (high - low < 1) { low -= rank ? 1 : 0.5; high += rank ? 1 : 0.5; }
  const axis = ticks(low, high, Y_TICKS, rank);
  low = Math.min(low, axis[0]);
  high = Math.max(high, axis[axis.length - 1]);
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (i) => PAD.left + (days.length === 1 ? plotW / 2 : (i * plotW) / (days.length - 1));
  // A rank is better when smaller: the first place is drawn at the top.
  const share = (value) => (value - low) / (high - low);
  const y = (value) => PAD.top + (rank ? share(value) : 1 - share(value)) * plotH;
  const every = Math.ceil(days.length / MAX_X_LABELS);
  const unit = rank ? "hạng " : "";
  const points = days.map((day, i) => [day, i, shown[i]]).filter(([, , value]) => value !== null);
  return svg(
    "svg",
    { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: "trend-chart", role: "img", "aria-label": label },
    svg("title", {}, label),
    ...axis.map((value) => svg("g", { class: "tick" },
      svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(value), y2: y(value) }),
      svg("text", { x: PAD.left - 6, y: y(value) + 4, "text-anchor": "end" }, num(value)))),
    ...days.map((day, i) => (i % every === 0 || i === days.length - 1
      ? svg("text", { x: x(i), y: HEIGHT - 8, "text-anchor": "middle", class: "day" }, ddmm(day.day))
      : null)).filter(Boolean),
    svg("polyline", { class: "line", points: points.map(([, i, value]) => `${x(i)},${y(value)}`).join(" ") }),
    ...points.map(([day, i, value]) => svg(
      "circle",
      {
        cx: x(i), cy: y(value), r: 4, tabindex: 0, class: "point",
        "data-day": day.day, "data-total": day.total, "data-value": value,
      },
      svg("title", {}, rank
        ? `${ddmm(day.day)}: ${unit}${value}`
        : `${ddmm(day.day)}: ${num(value)} điểm${day.restated_at ? " (đã điều chỉnh)" : ""}`),
    )),
  );
}

function measures(history, methodology) {
  const titles = new Map((methodology?.groups ?? []).map((group) => [group.code, group.title]));
  const groups = [...new Set(history.days.flatMap((day) => Object.keys(day.groups)))];
  return [
    [TOTAL, "Tổng điểm"],
    ...groups.map((code) => [code, titles.get(code) ?? code]),
    history.days.some((day) => day.rank !== null) ? [RANK, "Thứ hạng"] : null,
  ].filter(Boolean);
}

// A card that keeps itself up to date; `element` goes where the view wants it.
export class Trend {
  constructor(code, context, period = "month") {
    this.measure = TOTAL;
    this.methodology = context.methodology;
    this.element = h("section", { class: "card trend", "data-slot": "trend" }, h("h2", {}, "Diễn biến theo ngày"), message("Đang tải…", "loading"));
    this.sources = new Sources({
      history: `/units/${encodeURIComponent(code)}/history?period=${encodeURIComponent(historyPeriod(period))}`,
    });
    this.poller = new Poller(
      // Before the first day closes the history has no days: "Chưa có lịch sử.".
      () => refreshInto(this.sources, () => this.draw(),
        (error) => this.element.replaceChildren(h("h2", {}, "Diễn biến theo ngày"), message(error.detail, "error"))),
      Math.max(context.refreshMs, MIN_REFRESH_MS),
    );
  }

  draw() {
    const history = this.sources.body("history");
    const kind = KIND_NAMES[history.period] ?? history.period;
    const heading = h("h2", {}, "Diễn biến theo ngày ", h("small", {}, `cuối mỗi ngày, kỳ ${kind}`));
    if (!history.days.length) {
      this.element.replaceChildren(heading, message("Chưa có lịch sử."));
      return;
    }
    const choices = measures(history, this.methodology);
    if (!choices.some(([value]) => value === this.measure)) this.measure = TOTAL;
    const picker = h(
      "select", { "aria-label": "Chỉ tiêu của biểu đồ", name: "measure" },
      choices.map(([value, label]) => h("option", { value, selected: value === this.measure }, label)),
    );
    picker.addEventListener("change", () => {
      this.measure = picker.value;
      this.draw();
      // The redraw replaced the picker: the keyboard keeps its place on the new one.
      this.element.querySelector("select[name=measure]").focus();
    });
    const chosen = choices.find(([value]) => value === this.measure)[1];
    this.element.replaceChildren(
      heading,
      h("label", { class: "measure" }, "Chỉ tiêu ", picker),
      trendChart(history.days, `${chosen} của ${history.unit.name} theo ngày`, this.measure),
    );
  }

  start() { this.poller.start(); return this; }

  stop() { this.poller.stop(); }
}
