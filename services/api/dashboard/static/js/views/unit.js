// A unit (or the province): its total, rank and groups, every indicator with numerator,
// denominator, rate, points and maximum, each count a link to the list behind it, and the
// dossiers now overdue.

import { Sources } from "../api.js";
import { h, message, table } from "../dom.js";
import { DASH, LEVEL_OF_UNIT, days, dossierStatus, duration, num, percent, signed, when } from "../format.js";
import { Poller, refreshInto } from "../live.js";
import { periodPicker } from "../periods.js";
import { href, remember } from "../route.js";
import { groupMeters, scoreCard } from "./province.js";
import { Guidance } from "./guidance.js";
import { Trend } from "../trend.js";
import { downloadLinks } from "../downloads.js";

// The list an indicator's counts come from: dossiers, procedures (catalogue) or feedback.
function listPath(indicator) {
  return indicator.dossiers ?? indicator.catalogue ?? indicator.feedback ?? null;
}

function countLink(indicator, part, value, measures) {
  const path = listPath(indicator);
  // An average's numerator is a sum (2.2's seconds, shown in days as its average), not a list.
  if (part === "numerator" && measures?.[indicator.id] === "average_days") return days(value);
  const text = num(value);
  if (!path) return text;
  return h("a", { href: href("list", [], { src: path, part }), "data-part": part, title: part === "numerator" ? "Tử số: danh sách" : "Mẫu số: danh sách" }, text);
}

function rate(indicator, measures) {
  if (indicator.rate === null) return DASH;
  return measures[indicator.id] === "average_days" ? `${num(indicator.rate)} ngày` : percent(indicator.rate);
}

function indicatorTable(detail, measures) {
  const rows = detail.indicators.map((indicator) => h(
    "tr", { "data-indicator": indicator.id, class: indicator.scored ? null : "display-only" },
    h("th", { scope: "row" }, indicator.id),
    h("td", { "data-col": "title" }, indicator.title),
    h("td", { "data-col": "numerator", class: "number" }, countLink(indicator, "numerator", indicator.numerator, measures)),
    h("td", { "data-col": "denominator", class: "number" }, countLink(indicator, "denominator", indicator.denominator)),
    h("td", { "data-col": "rate", class: "number" }, rate(indicator, measures)),
    h("td", { "data-col": "points", class: "number" }, indicator.scored ? num(indicator.points) : DASH),
    h("td", { "data-col": "max", class: "number" }, indicator.scored ? num(indicator.max_points) : DASH),
  ));
  return h("div", { class: "scroll" }, table("Các chỉ tiêu", ["Mã", "Chỉ tiêu", "Tử số", "Mẫu số", "Tỷ lệ", "Điểm", "Tối đa"], rows, { class: "indicators" }));
}

function overdueTable(page) {
  if (page.items.length === 0) return message("Không có hồ sơ quá hạn.");
  const rows = page.items.map((item) => h(
    "tr", { "data-dossier": item.dossier_code },
    h("td", {}, item.dossier_code), h("td", {}, item.procedure_code ?? DASH),
    h("td", {}, dossierStatus(item.status)), h("td", {}, when(item.received_at)),
    h("td", {}, when(item.due_at)), h("td", { class: "number" }, duration(item.overdue_by)),
  ));
  const shown = page.total > page.items.length ? ` (${page.items.length} / ${num(page.total)})` : ` (${num(page.total)})`;
  return h("div", { class: "scroll" }, table(`Hồ sơ quá hạn${shown}`, ["Hồ sơ", "Thủ tục", "Trạng thái", "Tiếp nhận", "Hạn", "Quá hạn"], rows, { class: "overdue" }));
}

function draw(container, sources, measures, cards = {}) {
  const detail = sources.body("unit");
  const rank = detail.rank === null ? DASH : String(detail.rank);
  const rankChange = detail.change?.rank === null || detail.change?.rank === undefined ? "" : ` (${signed(detail.change.rank)})`;
  container.replaceChildren(
    h("section", { class: "card" },
      h("h1", {}, detail.unit.name),
      h("p", { class: "meta" }, `${LEVEL_OF_UNIT[detail.unit.level] ?? "Toàn tỉnh"} · ${detail.unit.code} · kỳ ${detail.period.key} · hạng ${rank}${rankChange}`),
      scoreCard(detail), groupMeters(detail.groups),
      downloadLinks(`/units/${encodeURIComponent(detail.unit.code)}?period=${encodeURIComponent(detail.period.key)}`)),
    cards.trend ?? h("section", { class: "card trend", "data-slot": "trend", hidden: true }),
    h("section", { class: "card" }, indicatorTable(detail, measures)),
    cards.guidance ?? h("section", { class: "card guidance", "data-slot": "guidance", hidden: true }),
    h("section", { class: "card" }, overdueTable(sources.body("overdue"))),
  );
}

export function mountUnit(root, route, context) {
  const code = route.segments[0];
  const period = route.params.get("period") ?? "month";
  const unit = encodeURIComponent(code);
  const sources = new Sources({
    unit: `/units/${unit}?period=${encodeURIComponent(period)}`,
    overdue: `/units/${unit}/overdue?page_size=100`,
  });
  const measures = Object.fromEntries(context.methodology.indicators.map((i) => [i.id, i.measure ?? null]));
  const body = h("div", { class: "unit" }, message("Đang tải…", "loading"));
  const trend = new Trend(code, context, period).start();
  const guidance = new Guidance(code, period, context).start();
  const cards = { trend: trend.element, guidance: guidance.element };
  root.replaceChildren(periodPicker(period, (chosen) => { location.hash = href("unit", [code], { period: chosen }); }), body);
  remember("unit", [code], { period });
  const poller = new Poller(
    () => refreshInto(sources, () => draw(body, sources, measures, cards), (error) => body.replaceChildren(message(error.detail, "error"))),
    context.refreshMs,
  ).start();
  return () => { poller.stop(); trend.stop(); guidance.stop(); };
}
