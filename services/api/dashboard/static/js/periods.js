// The period picker: the current week, month, quarter, half-year or year, or a range of days
// (the api's `period` parameter, as it spells them).

import { h } from "./dom.js";

const KINDS = [
  ["week", "Tuần này"], ["month", "Tháng này"], ["quarter", "Quý này"],
  ["half", "6 tháng"], ["year", "Năm nay"], ["range", "Khoảng ngày…"],
];
const RANGE = /^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$/;

export function periodPicker(value, onChange) {
  const range = RANGE.exec(value);
  const known = KINDS.some(([kind]) => kind === value);
  const select = h(
    "select", { "aria-label": "Kỳ", name: "period" },
    KINDS.map(([kind, label]) => h("option", { value: kind, selected: (range ? kind === "range" : kind === value) }, label)),
    // A key given in the address (2026-W48, 2026-11, ...) is offered as it is.
    known || range ? null : h("option", { value, selected: true }, `Kỳ ${value}`),
  );
  const from = h("input", { type: "date", name: "from", "aria-label": "Từ ngày", value: range?.[1] ?? "" });
  const to = h("input", { type: "date", name: "to", "aria-label": "Đến ngày", value: range?.[2] ?? "" });
  const apply = h("button", { type: "submit" }, "Xem");
  const days = h("span", { class: "range", hidden: !range }, from, " – ", to, apply);
  const form = h("form", { class: "period", role: "search" }, h("label", {}, "Kỳ ", select), days);
  select.addEventListener("change", () => {
    days.hidden = select.value !== "range";
    if (select.value !== "range") onChange(select.value);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (select.value !== "range") onChange(select.value);
    else if (from.value && to.value) onChange(`${from.value}..${to.value}`);
  });
  return form;
}
