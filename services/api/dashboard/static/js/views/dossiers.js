// The dossiers behind a guidance fix or an overdue report's count that are not an indicator's
// audit list: a unit's overdue dossiers (/units/{code}/overdue) or those due soon
// (/units/{code}/due-soon), page by page as the api gives them (`next` / `next_after`).

import { Sources } from "../api.js";
import { h, message, table } from "../dom.js";
import { DASH, duration, num, when } from "../format.js";
import { refreshInto } from "../live.js";
import { href } from "../route.js";

const PAGE_SIZE = 100;
// Only these api lists may be asked for through the address.
const LISTS = /^\/units\/([^/?#]+)\/(overdue|due-soon)(\?[^#]*)?$/;
const OUTCOMES = { OVERDUE: "Đã xử lý, quá hạn", IN_PROGRESS_OVERDUE: "Đang xử lý, quá hạn" };

const KINDS = {
  overdue: {
    title: "Hồ sơ quá hạn",
    headers: ["Hồ sơ", "Thủ tục", "Tình trạng", "Tiếp nhận", "Hạn", "Quá hạn"],
    cells: (item) => [item.dossier_code, item.procedure_code ?? DASH, OUTCOMES[item.outcome] ?? item.outcome,
      when(item.received_at), when(item.due_at), duration(item.overdue_by)],
    size: "page_size",
    next: (page) => page.next_cursor && { cursor: page.next_cursor },
    meta: (page) => `${page.period ? `kỳ ${page.period.key} · ` : ""}${num(page.total)} hồ sơ`,
  },
  "due-soon": {
    title: "Hồ sơ sắp đến hạn",
    headers: ["Hồ sơ", "Thủ tục", "Tiếp nhận", "Hạn", "Còn (giờ làm việc)"],
    cells: (item) => [item.dossier_code, item.procedure_code ?? DASH, when(item.received_at),
      when(item.effective_due_at), num(item.working_hours_left)],
    size: "limit",
    next: (page) => page.next_after && { after: page.next_after },
    meta: (page) => `trong ${num(page.within_hours)} giờ làm việc tới · ${num(page.items.length)} hồ sơ trên trang này`,
  },
};

function draw(container, page, spec, src, more) {
  const rows = page.items.map((item) => h("tr", { "data-dossier": item.dossier_code }, spec.cells(item).map((value) => h("td", {}, value))));
  const parts = [
    h("h1", {}, spec.title),
    h("p", { class: "meta" }, h("a", { href: href("unit", [page.unit.code]) }, page.unit.name), ` · ${spec.meta(page)}`),
    page.items.length ? h("div", { class: "scroll" }, table(null, spec.headers, rows, { class: "dossiers" })) : message("Không có hồ sơ nào."),
    more ? h("nav", { class: "pager", "aria-label": "Trang" }, h("a", { href: href("dossiers", [], { src, ...more }) }, "Trang sau ›")) : null,
  ];
  // replaceChildren would write a null as the text "null".
  container.replaceChildren(...parts.filter((part) => part !== null));
}

export function mountDossiers(root, route) {
  const src = route.params.get("src") ?? "";
  const match = LISTS.exec(src);
  if (!match) {
    root.replaceChildren(message("Địa chỉ danh sách không hợp lệ.", "error"));
    return () => {};
  }
  const spec = KINDS[match[2]];
  const url = new URL(src, location.origin);
  url.searchParams.set(spec.size, String(PAGE_SIZE));
  for (const name of ["cursor", "after"]) {
    if (route.params.get(name)) url.searchParams.set(name, route.params.get(name));
  }
  const sources = new Sources({ page: `${url.pathname}${url.search}` });
  const body = h("section", { class: "card list" }, message("Đang tải…", "loading"));
  root.replaceChildren(body);
  // Read once, like the audit lists: a list redrawn under the reader's eyes would be worse.
  refreshInto(sources, () => {
    const page = sources.body("page");
    draw(body, page, spec, src, spec.next(page));
  }, (error) => body.replaceChildren(message(error.detail, "error")));
  return () => {};
}
