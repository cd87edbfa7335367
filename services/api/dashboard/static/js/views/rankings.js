// Rankings of departments or communes for any period: sortable, searchable, ties sharing the
// rank the api gives them (standard competition ranking), with the change of points and rank.

import { Sources } from "../api.js";
import { h, message, table } from "../dom.js";
import { DASH, LEVELS, num, signed, trend } from "../format.js";
import { Poller, refreshInto } from "../live.js";
import { periodPicker } from "../periods.js";
import { remember, unitHref } from "../route.js";
import { downloadLinks } from "../downloads.js";

const COLUMNS = {
  rank: (item) => item.rank,
  name: (item) => item.unit.name,
  total: (item) => item.total,
  change: (item) => item.change?.total ?? null,
  rankChange: (item) => item.change?.rank ?? null,
};

// Lower case and without diacritics: "ha giang" finds "Hà Giang", "duc" finds "Đức".
export function folded(text) {
  return text.normalize("NFD").replace(/\p{Diacritic}/gu, "").replace(/đ/giu, "d").toLowerCase();
}

function valueOf(item, key) {
  return key in COLUMNS ? COLUMNS[key](item) : item.groups[key] ?? null;
}

function compare(a, b, key, direction) {
  const x = valueOf(a, key);
  const y = valueOf(b, key);
  // Missing values go last whatever the direction.
  if (x === null || y === null) return x === y ? a.rank - b.rank : x === null ? 1 : -1;
  const order = typeof x === "string" ? x.localeCompare(y, "vi") : x - y;
  return (direction === "asc" ? order : -order) || a.rank - b.rank;
}

function sortButton(key, label, state, onSort, title) {
  const sorted = state.sort === key;
  const th = h("th", { scope: "col", "aria-sort": sorted ? (state.dir === "asc" ? "ascending" : "descending") : "none" },
    h("button", { type: "button", "data-sort": key, title }, label, sorted ? (state.dir === "asc" ? " ▲" : " ▼") : ""));
  th.firstChild.addEventListener("click", () => onSort(key));
  return th;
}

function cell(column, content, attributes = {}) {
  return h("td", { "data-col": column, ...attributes }, content);
}

export function rankingRows(items, groups, period) {
  return items.map((item) => h(
    "tr", { "data-unit": item.unit.code },
    cell("rank", String(item.rank)),
    cell("name", h("a", { href: unitHref(item.unit.code, period) }, item.unit.name)),
    cell("total", num(item.total), { class: "number" }),
    groups.map((group) => cell(group.code, num(item.groups[group.code]), { class: "number" })),
    cell("change", signed(item.change?.total), { class: `number ${trend(item.change?.total)}` }),
    cell("rankChange", item.change?.rank === null || item.change?.rank === undefined ? DASH : signed(item.change.rank),
      { class: `number ${trend(item.change?.rank)}` }),
  ));
}

export function rankingTable(rankings, groups, state, onSort) {
  const query = folded(state.q ?? "");
  const items = rankings.items
    .filter((item) => !query || folded(`${item.unit.name} ${item.unit.code}`).includes(query))
    .sort((a, b) => compare(a, b, state.sort, state.dir));
  const headers = [
    sortButton("rank", "Hạng", state, onSort), sortButton("name", "Đơn vị", state, onSort),
    sortButton("total", "Tổng", state, onSort),
    ...groups.map((group) => sortButton(group.code, group.code, state, onSort, group.title)),
    sortButton("change", "± điểm", state, onSort), sortButton("rankChange", "± hạng", state, onSort),
  ];
  if (items.length === 0) return message(rankings.items.length ? "Không có đơn vị nào khớp." : "Chưa có đơn vị nào.");
  return h("div", { class: "scroll" }, table(`${LEVELS[rankings.level]} · ${rankings.period.key}`, headers, rankingRows(items, groups, state.period), { class: "rankings" }));
}

export function mountRankings(root, route, context) {
  const state = {
    level: route.params.get("level") === "commune" ? "commune" : "department",
    period: route.params.get("period") ?? "month",
    q: route.params.get("q") ?? "",
    sort: route.params.get("sort") ?? "rank",
    dir: route.params.get("dir") ?? "asc",
  };
  const sources = new Sources({
    rankings: `/rankings?level=${state.level}&period=${encodeURIComponent(state.period)}`,
  });
  const body = h("div", { class: "card" }, message("Đang tải…", "loading"));
  let stopped = false;
  const draw = () => {
    // A refresh that was under way when the page moved on must not write this view's filters
    // over the new address.
    if (stopped) return;
    remember("rankings", [], state);
    if (sources.body("rankings")) body.replaceChildren(rankingTable(sources.body("rankings"), context.methodology.groups, state, sort));
  };
  const sort = (key) => {
    state.dir = state.sort === key && state.dir === "asc" ? "desc" : "asc";
    state.sort = key;
    draw();
    body.querySelector(`button[data-sort="${key}"]`)?.focus();
  };
  const navigate = (changes) => { location.hash = `#/rankings?${new URLSearchParams({ ...state, ...changes })}`; };
  const levels = h("div", { class: "tabs", role: "group", "aria-label": "Cấp" },
    Object.entries(LEVELS).map(([level, label]) => {
      const button = h("button", { type: "button", "aria-pressed": String(level === state.level) }, label);
      button.addEventListener("click", () => navigate({ level }));
      return button;
    }));
  const search = h("input", { type: "search", name: "q", value: state.q, placeholder: "Tìm đơn vị…", "aria-label": "Tìm đơn vị" });
  search.addEventListener("input", () => { state.q = search.value; draw(); });
  root.replaceChildren(
    h("h1", {}, "Xếp hạng"),
    h("div", { class: "controls" }, levels, periodPicker(state.period, (period) => navigate({ period })), search,
      downloadLinks(`/rankings?level=${state.level}&period=${encodeURIComponent(state.period)}`)),
    body,
  );
  const poller = new Poller(
    () => refreshInto(sources, draw, (error) => body.replaceChildren(message(error.detail, "error"))),
    context.refreshMs,
  ).start();
  return () => { stopped = true; poller.stop(); };
}
