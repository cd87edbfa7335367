// The dashboard's start: the methodology and the alert stream once, then one view at a time,
// chosen by the address (#/, #/rankings, #/unit/<code>, #/list, #/alerts, #/wall, #/reports,
// #/dossiers).
//
// `?refresh=<seconds>` in the page's address sets how often views poll (default 10 s).

import { getJson, isOutage } from "./api.js";
import { message } from "./dom.js";
import { AlertFeed, status } from "./live.js";
import { current } from "./route.js";
import { mountAlerts } from "./views/alerts.js";
import { mountDossiers } from "./views/dossiers.js";
import { mountList } from "./views/list.js";
import { mountProvince } from "./views/province.js";
import { mountRankings } from "./views/rankings.js";
import { mountReports } from "./views/reports.js";
import { mountUnit } from "./views/unit.js";
import { mountWall } from "./views/wall.js";

const DEFAULT_REFRESH_SECONDS = 10;
const VIEWS = {
  "": mountProvince,
  rankings: mountRankings,
  unit: mountUnit,
  list: mountList,
  alerts: mountAlerts,
  wall: mountWall,
  reports: mountReports,
  dossiers: mountDossiers,
};

async function start() {
  const main = document.getElementById("main");
  const refresh = Number(new URLSearchParams(location.search).get("refresh")) || DEFAULT_REFRESH_SECONDS;
  let methodology;
  while (!methodology) {
    try {
      methodology = await getJson("/methodology");
    } catch (error) {
      // A refusal (no key, or a wrong one) is the key dialog's to say, not the stale banner's.
      if (isOutage(error)) status.stale(error);
      await new Promise((resolve) => setTimeout(resolve, refresh * 1000));
    }
  }
  const feed = new AlertFeed(50, refresh * 1000);
  const context = {
    province: document.querySelector('meta[name="province"]').content,
    methodology,
    feed,
    refreshMs: refresh * 1000,
  };
  feed.start();

  let dispose = () => {};
  // A view's own replaceState of its filters is no navigation; a new hash is.
  const show = () => {
    const route = current();
    const mount = VIEWS[route.view];
    dispose();
    for (const link of document.querySelectorAll("[data-nav]")) {
      if (link.dataset.nav === (route.view || "province")) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    if (!mount) {
      main.replaceChildren(message("Không có trang này.", "error"));
      dispose = () => {};
      return;
    }
    dispose = mount(main, route, context);
    if (document.activeElement === document.body) main.focus({ preventScroll: true });
  };
  window.addEventListener("hashchange", show);
  show();
}

start();
