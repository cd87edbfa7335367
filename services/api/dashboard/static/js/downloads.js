// "Tải XLSX / CSV": the same resource as a file (the api's `format=xlsx|csv`), for the office's
// letters (XLSX, for people) and for other programs (CSV).

import { download } from "./api.js";
import { h } from "./dom.js";
import { apiKey } from "./keys.js";

export function fileHref(path, format) {
  return `${path}${path.includes("?") ? "&" : "?"}format=${format}`;
}

function fileLink(path, format) {
  const link = h("a", { href: fileHref(path, format), download: "", "data-format": format }, format.toUpperCase());
  // With a key, the file is fetched with it (a link alone would be refused).
  link.addEventListener("click", (event) => {
    if (!apiKey()) return;
    event.preventDefault();
    download(link.getAttribute("href")).catch((error) => console.warn("download refused", error));
  });
  return link;
}

export function downloadLinks(path, label = "Tải") {
  return h(
    "p", { class: "downloads", "data-downloads": path },
    `${label} `, fileLink(path, "xlsx"), " / ", fileLink(path, "csv"),
  );
}
