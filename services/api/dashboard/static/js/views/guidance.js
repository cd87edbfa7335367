// What a unit must fix, and what it is worth (/units/{code}/guidance): its indicators by points
// at stake, each thing behind the loss with how many there are (a link to their list) and the
// points the unit and the province gain by fixing it, and the period's end forecast.

import { Sources } from "../api.js";
import { h, message } from "../dom.js";
import { num, signed, when } from "../format.js";
import { Poller, refreshInto } from "../live.js";
import { href } from "../route.js";

// The api describes each kind in English (shared/rules/guidance.py FixKind); the page in
// Vietnamese, the api's words as the tooltip.
const FIXES = {
  not_synced: "Hồ sơ chưa đồng bộ lên Cổng DVCQG",
  not_online_with_result: "Hồ sơ trực tuyến chưa có kết quả điện tử",
  not_paid_online: "Hồ sơ chưa thanh toán trực tuyến",
  no_e_result: "Hồ sơ chưa có kết quả điện tử",
  not_digitized: "Hồ sơ chưa số hóa",
  no_data_reuse: "Hồ sơ chưa tái sử dụng dữ liệu",
  not_linked_to_personal_store: "Hồ sơ chưa liên kết kho dữ liệu cá nhân",
  no_population_data: "Hồ sơ chưa khai thác dữ liệu dân cư",
  overdue: "Hồ sơ quá hạn",
  due_soon: "Hồ sơ sắp đến hạn: giữ điểm nếu xử lý đúng hạn",
  not_satisfied: "Hồ sơ người dân chưa hài lòng",
  feedback_late: "Phản ánh, kiến nghị xử lý trễ hạn",
  feedback_not_satisfied: "Phản ánh, kiến nghị chưa hài lòng",
  no_online_service: "Thủ tục chưa cung cấp dịch vụ công trực tuyến",
  online_without_dossier: "Thủ tục trực tuyến chưa phát sinh hồ sơ trực tuyến",
  fee_without_fee_data: "Thủ tục có phí chưa có dữ liệu phí",
  fee_paid_offline: "Hồ sơ nộp phí không trực tuyến",
  fee_without_dossier: "Thủ tục có phí chưa phát sinh hồ sơ",
  no_population_data_procedure: "Thủ tục chưa khai thác dữ liệu dân cư",
  published_late: "Thủ tục công bố chậm",
  made_public_late: "Thủ tục công khai chậm",
  components_not_disclosed: "Thủ tục chưa công khai thành phần hồ sơ",
  no_e_certified_copy: "Thủ tục chưa cấp bản sao điện tử",
};
const AUDIT = /^\/units\/[^/?#]+\/indicators\/[^/?#]+\/(dossiers|feedback|catalogue)(\?|$)/;

// Where a fix's items are shown: the list view for an audit list, else the dossiers view
// (overdue, due soon).
export function itemsHref(items) {
  if (!items) return null;
  if (!AUDIT.test(items)) return href("dossiers", [], { src: items });
  const url = new URL(items, location.origin);
  const part = url.searchParams.get("part") ?? "denominator";
  url.searchParams.delete("part");
  return href("list", [], { src: `${url.pathname}${url.search}`, part });
}

function gain(value, whose) {
  return h("span", { class: value < 0 ? "down" : value > 0 ? "up" : null, "data-gain": whose }, `${signed(value)} điểm ${whose === "unit" ? "đơn vị" : "tỉnh"}`);
}

// A settled loss (the dossier is already late, the citizen already answered): its "gain" is
// what it cost, and nothing done in the period brings it back.
function loss(value, whose) {
  return h("span", { class: value > 0 ? "down" : null, "data-gain": whose }, `${num(value)} điểm ${whose === "unit" ? "đơn vị" : "tỉnh"}`);
}

function fixItem(fix) {
  const link = itemsHref(fix.items);
  const count = link ? h("a", { href: link, "data-count": fix.kind }, num(fix.count)) : h("span", { "data-count": fix.kind }, num(fix.count));
  return h(
    "li", { "data-fix": fix.kind, title: fix.description },
    h("span", { class: "fix-label" }, FIXES[fix.kind] ?? fix.description), ": ", count,
    ...(fix.can_change
      ? [" · ", gain(fix.unit_gain, "unit"), " / ", gain(fix.province_gain, "province")]
      : [" · đã mất ", loss(fix.unit_gain, "unit"), " / ", loss(fix.province_gain, "province"),
        h("small", { class: "meta" }, " (không còn khắc phục được trong kỳ)")]),
    fix.may_also_change.length ? h("small", { class: "meta" }, ` · có thể ảnh hưởng cả ${fix.may_also_change.join(", ")}`) : null,
  );
}

function indicatorItem(indicator) {
  return h(
    "li", { "data-indicator": indicator.id },
    h("p", { class: "guidance-head" },
      h("strong", {}, `${indicator.id} `), indicator.title, " ",
      h("span", { class: "meta" }, `· ${num(indicator.points)} / ${num(indicator.max_points)} điểm, còn thiếu `),
      h("span", { "data-col": "at_stake" }, num(indicator.at_stake))),
    indicator.fixes.length ? h("ul", { class: "fixes" }, indicator.fixes.map(fixItem)) : null,
  );
}

function forecast(body) {
  const f = body.forecast;
  const row = (name, label, scenario) => h(
    "li", { "data-scenario": name, title: scenario.description },
    `${label}: `, h("strong", {}, num(scenario.unit_total)), ` điểm đơn vị, ${num(scenario.province_total)} điểm tỉnh`,
  );
  return h(
    "div", { class: "forecast" },
    h("h3", {}, `Dự báo cuối kỳ (${when(f.period_end)}), ${num(f.in_progress)} hồ sơ đang xử lý`),
    h("ul", {}, row("on_time", "Nếu xử lý đúng hạn", f.on_time), row("stalled", "Nếu không xử lý thêm", f.stalled)),
  );
}

function draw(element, body) {
  const losing = body.indicators.filter((indicator) => indicator.at_stake > 0 || indicator.fixes.length);
  element.replaceChildren(
    h("h2", {}, "Cần khắc phục ", h("small", {}, `theo điểm còn thiếu · kỳ ${body.period.key}`)),
    losing.length ? h("ol", { class: "guidance-list" }, losing.map(indicatorItem)) : message("Không có chỉ tiêu nào bị mất điểm."),
    forecast(body),
  );
}

// The unit view's guidance card, refreshing itself; `element` goes where the view wants it.
export class Guidance {
  constructor(code, period, context) {
    this.element = h("section", { class: "card guidance", "data-slot": "guidance" }, h("h2", {}, "Cần khắc phục"), message("Đang tải…", "loading"));
    const sources = new Sources({ guidance: `/units/${encodeURIComponent(code)}/guidance?period=${encodeURIComponent(period)}` });
    this.poller = new Poller(
      () => refreshInto(sources, () => draw(this.element, sources.body("guidance")),
        (error) => this.element.replaceChildren(h("h2", {}, "Cần khắc phục"), message(error.detail, "error"))),
      context.refreshMs,
    );
  }

  start() { this.poller.start(); return this; }

  stop() { this.poller.stop(); }
}
