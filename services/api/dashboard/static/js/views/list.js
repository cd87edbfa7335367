// The list behind a number: an indicator's dossiers, procedures or feedback for a unit and a
// period, its numerator or its denominator, page by page (the api's audit endpoints).

import { Sources } from "../api.js";
import { h, message, table } from "../dom.js";
import { DASH, dossierStatus, feedbackStatus, num, when } from "../format.js";
import { refreshInto } from "../live.js";
import { href } from "../route.js";

const PAGE_SIZE = 100;
const yes = (value) => (value ? "Có" : "Không");
const KINDS = {
  dossiers: {
    title: "Hồ sơ",
    headers: ["Hồ sơ", "Đơn vị", "Thủ tục", "Trạng thái", "Tiếp nhận", "Hạn", "Trong tử số", "Tính vào tử số"],
    key: (item) => item.dossier_code,
    cells: (item) => [item.dossier_code, item.unit_code ?? DASH, item.procedure_code ?? DASH, dossierStatus(item.status),
      when(item.received_at), when(item.due_at), yes(item.in_numerator), num(item.numerator)],
  },
  feedback: {
    title: "Phản ánh, kiến nghị",
    headers: ["Mã", "Đơn vị", "Trạng thái", "Tiếp nhận", "Trễ hạn", "Trong tử số"],
    key: (item) => item.feedback_id,
    cells: (item) => [item.feedback_id, item.unit_code ?? DASH, feedbackStatus(item.status), when(item.received_at), yes(item.late), yes(item.in_numerator)],
  },
  catalogue: {
    title: "Thủ tục",
    headers: ["Đơn vị", "Mã", "Tên", "Trong tử số", "Lý do"],
    key: (item) => `${item.unit_code}/${item.code}`,
    cells: (item) => [item.unit_code, item.code, item.name, yes(item.in_numerator), item.reason],
  },
};
// Only the api's own audit lists may be asked for through the address.
const AUDIT = /^\/units\/[^/?#]+\/indicators\/[^/?#]+\/(dossiers|feedback|catalogue)(\?[^#]*)?$/;

function draw(container, page, kind, link) {
  const spec = KINDS[kind];
  const part = { numerator: "tử số", shortfall: "còn thiếu" }[page.part] ?? "mẫu số";
  const pages = Math.max(1, Math.ceil(page.total / page.page_size));
  const rows = page.items.map((item) => h("tr", { "data-key": spec.key(item) }, spec.cells(item).map((value) => h("td", {}, value))));
  const parts = [
    h("h1", {}, `${spec.title} – chỉ tiêu ${page.indicator}, ${part}`),
    h("p", { class: "meta" }, h("a", { href: href("unit", [page.unit.code], { period: page.period.key }) }, page.unit.name), ` · kỳ ${page.period.key} · ${num(page.total)} mục`),
    page.items.length ? h("div", { class: "scroll" }, table(null, spec.headers, rows, { class: "audit", "data-kind": kind })) : message("Không có mục nào."),
    pages > 1 ? h("nav", { class: "pager", "aria-label": "Trang" },
      page.page > 1 ? h("a", { href: link(page.page - 1) }, "‹ Trước") : null,
      ` Trang ${page.page} / ${pages} `,
      page.page < pages ? h("a", { href: link(page.page + 1) }, "Sau ›") : null) : null,
  ];
  container.replaceChildren(...parts.filter((part) => part !== null));
}

export function mountList(root, route) {
  const src = route.params.get("src") ?? "";
  const part = ["numerator", "shortfall"].includes(route.params.get("part")) ? route.params.get("part") : "denominator";
  const pageNumber = Math.max(1, Number.parseInt(route.params.get("page") ?? "1", 10) || 1);
  const match = AUDIT.exec(src);
  if (!match) {
    root.replaceChildren(message("Địa chỉ danh sách không hợp lệ.", "error"));
    return () => {};
  }
  const separator = src.includes("?") ? "&" : "?";
  const sources = new Sources({ page: `${src}${separator}part=${part}&page=${pageNumber}&page_size=${PAGE_SIZE}` });
  const link = (number) => href("list", [], { src, part, page: number });
  const body = h("section", { class: "card list" }, message("Đang tải…", "loading"));
  root.replaceChildren(body);
  // Read once: the audit lists carry no ETag, and a list redrawn under the reader's eyes (and
  // keyboard focus) would be worse than a list a few seconds old.
  refreshInto(sources, () => draw(body, sources.body("page"), match[1], link), (error) => body.replaceChildren(message(error.detail, "error")));
  return () => {};
}
