// Wall mode for the IOC: full screen, rotating through the province, the two rankings and the
// alerts. Every slide stays mounted and refreshes with conditional requests, so a 304 changes
// nothing on screen and rotating costs no request; only the slide in view is shown.

import { Sources } from "../api.js";
import { h, message, table } from "../dom.js";
import { LEVELS } from "../format.js";
import { Poller, refreshInto } from "../live.js";
import { alertList } from "./alerts.js";
import { drawProvince, provinceSources } from "./province.js";
import { rankingRows } from "./rankings.js";

const DEFAULT_ROTATE_SECONDS = 20;
const ENDS = 8;

function rankingSlide(level, period) {
  const sources = new Sources({ rankings: `/rankings?level=${level}&period=${encodeURIComponent(period)}` });
  return {
    title: `Xếp hạng ${LEVELS[level].toLowerCase()}`,
    sources,
    draw(container, context) {
      const rankings = sources.body("rankings");
      const groups = context.methodology.groups;
      const headers = ["Hạng", "Đơn vị", "Tổng", ...groups.map((group) => group.code), "± điểm", "± hạng"];
      const items = rankings.items;
      // A wall shows the head and the tail; the whole list is on the rankings page.
      const parts = items.length > 2 * ENDS ? [["Dẫn đầu", items.slice(0, ENDS)], ["Cuối bảng", items.slice(-ENDS)]] : [["", items]];
      container.replaceChildren(items.length === 0 ? message("Chưa có đơn vị nào.") : h("div", { class: "wall-tables" },
        parts.map(([caption, part]) => table(caption, headers, rankingRows(part, groups, period), { class: "rankings" }))));
    },
  };
}

function provinceSlide(province, period) {
  const sources = provinceSources(province, period);
  return {
    title: "Toàn tỉnh",
    sources,
    draw(container) {
      drawProvince(container, sources, period);
    },
  };
}

export function mountWall(root, route, context) {
  const period = route.params.get("period") ?? "month";
  const rotateSeconds = Number(route.params.get("rotate")) || DEFAULT_ROTATE_SECONDS;
  const slides = [provinceSlide(context.province, period), rankingSlide("department", period), rankingSlide("commune", period)];
  const sections = slides.map((slide, index) => h("section", { class: "slide", "data-slide": index, hidden: index !== 0, "aria-label": slide.title },
    h("h2", {}, slide.title), h("div", { class: "slide-body" }, message("Đang tải…", "loading"))));
  const alerts = h("section", { class: "slide", "data-slide": slides.length, hidden: true, "aria-label": "Cảnh báo" },
    h("h2", {}, "Cảnh báo"), h("div", { class: "slide-body" }, alertList(context.feed.items)));
  sections.push(alerts);
  const full = h("button", { type: "button", class: "fullscreen" }, "Toàn màn hình");
  full.addEventListener("click", () => document.documentElement.requestFullscreen?.());
  root.replaceChildren(h("div", { class: "wall" }, full, sections));
  document.body.classList.add("wall-mode");

  let shown = 0;
  const show = (index) => {
    sections[shown].hidden = true;
    shown = (index + sections.length) % sections.length;
    sections[shown].hidden = false;
  };
  const rotation = setInterval(() => { if (!document.hidden) show(shown + 1); }, rotateSeconds * 1000);
  const keys = (event) => {
    if (event.key === "ArrowRight") show(shown + 1);
    if (event.key === "ArrowLeft") show(shown - 1);
  };
  document.addEventListener("keydown", keys);

  const pollers = slides.map((slide, index) => new Poller(
    () => refreshInto(slide.sources, () => slide.draw(sections[index].lastChild, context),
      (error) => sections[index].lastChild.replaceChildren(message(error.detail, "error"))),
    context.refreshMs,
  ).start());
  const unsubscribe = context.feed.subscribe(() => {
    alerts.lastChild.replaceChildren(alertList(context.feed.items));
    for (const poller of pollers) poller.now();
  });
  return () => {
    clearInterval(rotation);
    document.removeEventListener("keydown", keys);
    for (const poller of pollers) poller.stop();
    unsubscribe();
    document.body.classList.remove("wall-mode");
  };
}
