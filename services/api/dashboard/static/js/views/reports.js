// Reports an office sends: the weekly letter's comparison of two closed days (Phụ lục I), one
// unit at a time in the letter's rows, and the units with overdue dossiers in a window of days
// (Phụ lục II), each count a link to its dossiers; both as XLSX and CSV files.

import { Resource, Sources } from "../api.js";
import { h, message } from "../dom.js";
import { DASH, LEVEL_OF_UNIT, days, num, percent, signed, signedDays, trend } from "../format.js";
import { Poller, refreshInto } from "../live.js";
import { href, remember } from "../route.js";
import { downloadLinks } from "../downloads.js";

const WEEK_DAYS = 7;
const DAY_MS = 86_400_000;
const KINDS = [["week", "Tuần"], ["month", "Tháng"], ["quarter", "Quý"], ["half", "6 tháng"], ["year", "Năm"]];
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const today = () => new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Ho_Chi_Minh" }).format(new Date());

export function daysBefore(day, count) {
  return new Date(Date.parse(`${day}T00:00:00Z`) - count * DAY_MS).toISOString().slice(0, 10);
}

const dmy = (day) => day.split("-").reverse().join("/");

function query(path, params) {
  return `${path}?${new URLSearchParams(params)}`;
}

// The days the history holds, as the province's says (its last 30): the comparison's default
// is the last and a week before it, or the first while the history is younger.
async function closedDays(province) {
  const history = new Resource(`/units/${encodeURIComponent(province)}/history?period=month`);
  await history.load();
  const days = history.body.days;
  return days.length ? { first: days[0].day, last: days.at(-1).day } : null;
}

function form(state, onSubmit) {
  const from = h("input", { type: "date", name: "from", "aria-label": "Từ ngày", value: state.from ?? "", required: true });
  const to = h("input", { type: "date", name: "to", "aria-label": "Đến ngày", value: state.to ?? "", required: true });
  const period = h("select", { name: "period", "aria-label": "Kỳ so sánh" },
    KINDS.map(([kind, label]) => h("option", { value: kind, selected: kind === state.period }, label)));
  const element = h("form", { class: "period", role: "search" },
    h("label", {}, "Từ ", from), h("label", {}, "đến ", to), h("label", {}, "Kỳ ", period),
    h("button", { type: "submit" }, "Xem"));
  element.addEventListener("submit", (event) => {
    event.preventDefault();
    if (from.value && to.value) onSubmit({ from: from.value, to: to.value, period: period.value });
  });
  return element;
}

function rowValue(value, part, measure) {
  // An average's numerator is the time all its dossiers took: days, as its average.
  if (part === "numerator" && measure === "average_days") return days(value.numerator);
  if (part !== "rate") return num(value[part]);
  if (value.rate === null || value.rate === undefined) return DASH;
  return measure === "average_days" ? `${num(value.rate)} ngày` : percent(value.rate);
}

function comparisonTable(body, unit, measures) {
  const parts = [["numerator", "Tử số"], ["denominator", "Mẫu số"], ["rate", "Tỷ lệ"], ["points", "Điểm"]];
  const changes = [["numerator", "Tử số"], ["rate", "Tỷ lệ"], ["points", "Điểm"]];
  const head = h(
    "thead", {},
    h("tr", {},
      h("th", { scope: "col", rowspan: 2 }, "STT"), h("th", { scope: "col", rowspan: 2 }, "Chỉ tiêu"),
      h("th", { scope: "col", rowspan: 2 }, "Tối đa"),
      h("th", { scope: "colgroup", colspan: parts.length }, `Ngày ${dmy(body.from.day)}`),
      h("th", { scope: "colgroup", colspan: parts.length }, `Ngày ${dmy(body.to.day)}`),
      h("th", { scope: "colgroup", colspan: changes.length }, "Tăng (+) / Giảm (−)")),
    h("tr", {}, [...parts, ...parts, ...changes].map(([, label]) => h("th", { scope: "col" }, label))),
  );
  const rows = unit.rows.map((row) => h(
    "tr", { "data-row": row.code, "data-kind": row.kind, class: row.kind === "indicator" || row.kind === "complement" ? null : "heading" },
    h("td", {}, row.stt ?? ""), h("th", { scope: "row" }, row.label),
    h("td", { class: "number" }, num(row.max_points)),
    parts.map(([part]) => h("td", { class: "number", "data-col": `from.${part}` }, rowValue(row.from, part, measures[row.code]))),
    parts.map(([part]) => h("td", { class: "number", "data-col": `to.${part}` }, rowValue(row.to, part, measures[row.code]))),
    changes.map(([part]) => h("td", { class: `number ${trend(row.change[part])}`, "data-col": `change.${part}` },
      part === "numerator" && measures[row.code] === "average_days" ? signedDays(row.change[part]) : signed(row.change[part]))),
  ));
  return h("div", { class: "scroll" }, h("table", { class: "comparison" }, h("caption", {}, body.title), head, h("tbody", {}, rows)));
}

function standing(unit) {
  const rank = (value) => (value === null ? DASH : String(value));
  return h(
    "p", { class: "standing", "data-unit": unit.unit.code },
    `${unit.unit.name} · tổng điểm ${num(unit.from.total)} → `, h("strong", {}, num(unit.to.total)), " ",
    h("span", { class: trend(unit.total_change), "data-col": "total_change" }, `(${signed(unit.total_change)})`),
    unit.rank_change === null ? null : [` · hạng ${rank(unit.from.rank)} → ${rank(unit.to.rank)} `,
      h("span", { class: trend(unit.rank_change) }, `(${signed(unit.rank_change)})`)],
  );
}

function drawComparison(card, body, state, measures, onUnit) {
  const chosen = body.units.find((unit) => unit.unit.code === state.unit) ?? body.units[0];
  const select = h("select", { name: "unit", "aria-label": "Đơn vị" },
    body.units.map((unit) => h("option", { value: unit.unit.code, selected: unit === chosen },
      `${unit.unit.name}${unit.unit.level ? ` (${LEVEL_OF_UNIT[unit.unit.level] ?? unit.unit.level})` : ""}`)));
  select.addEventListener("change", () => onUnit(select.value));
  card.replaceChildren(
    h("h2", {}, "So sánh hai ngày ", h("small", {}, "Phụ lục I")),
    h("div", { class: "controls" }, h("label", {}, "Đơn vị ", select),
      downloadLinks(query("/reports/comparison", { from: state.from, to: state.to, period: state.period }))),
    ...(chosen ? [standing(chosen), comparisonTable(body, chosen, measures)] : [message("Chưa có đơn vị nào.")]),
  );
}

function drawOverdue(card, report, path) {
  const rows = report.items.map((item) => h(
    "tr", { "data-unit": item.unit.code },
    h("th", { scope: "row" }, item.unit.name),
    h("td", {}, LEVEL_OF_UNIT[item.unit.level] ?? DASH),
    h("td", { class: "number", "data-col": "overdue" }, h("a", { href: href("dossiers", [], { src: item.dossiers }) }, num(item.overdue))),
  ));
  card.replaceChildren(
    h("h2", {}, "Đơn vị có hồ sơ quá hạn ", h("small", {}, `Phụ lục II · ${report.period.key.split("..").map(dmy).join(" – ")}`)),
    downloadLinks(path),
    report.items.length
      ? h("div", { class: "scroll" }, h("table", { class: "overdue-report" },
        h("thead", {}, h("tr", {}, ["Đơn vị", "Cấp", "Số hồ sơ quá hạn"].map((label) => h("th", { scope: "col" }, label)))),
        h("tbody", {}, rows),
        h("tfoot", {}, h("tr", {}, h("th", { scope: "row", colspan: 2 }, "Tổng"), h("td", { class: "number", "data-col": "total" }, num(report.total))))))
      : message("Không có đơn vị nào có hồ sơ quá hạn."),
  );
}

export function mountReports(root, route, context) {
  const given = (name) => (DAY.test(route.params.get(name) ?? "") ? route.params.get(name) : null);
  const state = {
    from: given("from"),
    to: given("to"),
    period: KINDS.some(([kind]) => kind === route.params.get("period")) ? route.params.get("period") : "year",
    unit: route.params.get("unit") ?? context.province,
  };
  const measures = Object.fromEntries(context.methodology.indicators.map((i) => [i.id, i.measure ?? null]));
  const compared = h("section", { class: "card comparison-card" }, message("Đang tải…", "loading"));
  const overdue = h("section", { class: "card overdue-card" }, message("Đang tải…", "loading"));
  const navigate = (changes) => { location.hash = href("reports", [], { ...state, ...changes }); };
  let poller = null;
  let stopped = false;

  const show = (closed) => {
    if (stopped) return;
    if (!state.to) state.to = closed?.last ?? today();
    if (!state.from) {
      const weekBefore = daysBefore(state.to, WEEK_DAYS);
      state.from = closed && closed.first > weekBefore ? closed.first : weekBefore;
    }
    remember("reports", [], state);
    root.replaceChildren(h("h1", {}, "Báo cáo"), form(state, navigate), compared, overdue);
    if (closed === null) {
      compared.replaceChildren(h("h2", {}, "So sánh hai ngày"), message("Chưa có ngày nào được chốt: bảng so sánh có từ sau nửa đêm nay."));
    } else {
      const comparison = new Sources({ body: query("/reports/comparison", { from: state.from, to: state.to, period: state.period }) });
      const draw = () => drawComparison(compared, comparison.body("body"), state, measures, (unit) => {
        state.unit = unit;
        remember("reports", [], state);
        draw();
        compared.querySelector('select[name="unit"]')?.focus();
      });
      // Two closed days do not change (a restatement aside): read once.
      refreshInto(comparison, draw, (error) => compared.replaceChildren(h("h2", {}, "So sánh hai ngày"), message(error.detail, "error")));
    }
    const path = query("/reports/overdue", { from: state.from, to: state.to });
    const report = new Sources({ body: path });
    poller = new Poller(
      () => refreshInto(report, () => drawOverdue(overdue, report.body("body"), path), (error) => overdue.replaceChildren(message(error.detail, "error"))),
      context.refreshMs,
    ).start();
  };

  root.replaceChildren(h("h1", {}, "Báo cáo"), message("Đang tải…", "loading"));
  if (state.from && state.to) show({ first: state.from, last: state.to });
  else closedDays(context.province).then(show, (error) => root.replaceChildren(h("h1", {}, "Báo cáo"), message(error.detail ?? String(error), "error")));
  return () => { stopped = true; poller?.stop(); };
}
