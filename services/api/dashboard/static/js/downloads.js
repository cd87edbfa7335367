// "Tải XLSX / CSV": the same resource as a file (the api's `format=xlsx|csv`), for the office's
// letters (XLSX, for people) and for other programs (CSV).

import { h } from "./dom.js";

export function fileHref(path, format) {
  return `${path}${path.includes("?") ? "&" : "?"}format=${format}`;
}

export function downloadLinks(path, label = "Tải") {
  return h(
    "p", { class: "downloads", "data-downloads": path },
    `${label} `,
    h("a", { href: fileHref(path, "xlsx"), download: "", "data-format": "xlsx" }, "XLSX"),
    " / ",
    h("a", { href: fileHref(path, "csv"), download: "", "data-format": "csv" }, "CSV"),
  );
}
