// The province: its total and six groups against their maxima, the change from the previous
// period, the best and worst units of each level, and the live alerts.

import { Sources } from "../api.js";
import { h, message } from "../dom.js";
import { DASH, LEVELS, num, signed, trend } from "../format.js";
import { Poller, refreshInto } from "../live.js";
import { periodPicker } from "../periods.js";
import { href, remember, unitHref } from "../route.js";
import { alertList } from "./alerts.js";
import { Trend } from "../trend.js";

const PODIUM = 3;

export function provinceSources(province, period) {
  const p = encodeURIComponent(period);
  return new Sources({
    unit: `/units/${encodeURIComponent(province)}?period=${p}`,
    department: `/rankings?level=department&period=${p}`,
    commune: `/rankings?level=commune&period=${p}`,
  });
}

export function groupMeters(groups) {
  return h(
    "ul", { class: "groups" },
    groups.map((group) => h(
      "li", { "data-group": group.code },
      h("span", { class: "group-title" }, group.title),
      h("meter", { min: 0, max: group.max_points, value: group.points, "aria-label": group.title }),
      h("span", { class: "group-points" }, `${num(group.points)} / ${num(group.max_points)}`),
    )),
  );
}

export function scoreCard(detail) {
  const max = detail.groups.reduce((sum, group) => sum + group.max_points, 0);
  const change = detail.change;
  return h(
    "div", { class: "score" },
    h("p", { class: "total" }, h("data", { value: detail.total, "data-field": "total" }, num(detail.total)), h("small", {}, ` / ${num(max)}`)),
    h("p", { class: `change ${trend(change?.total)}` },
      change ? `${signed(change.total)} điểm so với ${change.previous_period}` : `${DASH} (kỳ trước chưa có số liệu)`),
  );
}

function podium(rankings, period) {
  const items = rankings.items;
  const row = (item) => h(
    "li", {},
    h("span", { class: "rank" }, String(item.rank)),
    h("a", { href: unitHref(item.unit.code, period) }, item.unit.name),
    h("span", { class: "points" }, num(item.total)),
  );
  if (items.length === 0) return h("section", { class: "podium" }, h("h3", {}, LEVELS[rankings.level]), message("Chưa có đơn vị nào."));
  return h(
    "section", { class: "podium", "data-level": rankings.level },
    h("h3", {}, LEVELS[rankings.level]),
    h("h4", {}, "Cao nhất"), h("ol", { class: "best" }, items.slice(0, PODIUM).map(row)),
    items.length > PODIUM ? [h("h4", {}, "Thấp nhất"), h("ol", { class: "worst" }, items.slice(-PODIUM).reverse().map(row))] : null,
  );
}

export function drawProvince(container, sources, period, trendCard = null) {
  const detail = sources.body("unit");
  container.replaceChildren(
    h("section", { class: "card province-score" },
      h("h2", {}, detail.unit.name, " ", h("small", {}, detail.period.key)),
      scoreCard(detail),
      groupMeters(detail.groups)),
    trendCard ?? h("section", { class: "card trend", "data-slot": "trend", hidden: true }),
    h("section", { class: "card podiums" }, podium(sources.body("department"), period), podium(sources.body("commune"), period)),
  );
}

export function mountProvince(root, route, context) {
  const period = route.params.get("period") ?? "month";
  const sources = provinceSources(context.province, period);
  const trendCard = new Trend(context.province, context, period).start();
  const body = h("div", { class: "province" }, message("Đang tải…", "loading"));
  const alerts = h("section", { class: "card alerts" }, h("h2", {}, "Cảnh báo trực tiếp"), alertList(context.feed.items));
  const picker = periodPicker(period, (chosen) => { location.hash = href("", [], { period: chosen }); });
  root.replaceChildren(h("h1", {}, "Toàn tỉnh"), picker, h("div", { class: "columns" }, body, alerts));
  remember("", [], { period });
  const poller = new Poller(
    () => refreshInto(sources, () => drawProvince(body, sources, period, trendCard.element), (error) => body.replaceChildren(message(error.detail, "error"))),
    context.refreshMs,
  ).start();
  const unsubscribe = context.feed.subscribe(() => {
    alerts.lastChild.replaceWith(alertList(context.feed.items));
    poller.now();
  });
  return () => { poller.stop(); unsubscribe(); trendCard.stop(); };
}
