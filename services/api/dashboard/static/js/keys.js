// A deployment that keys its reads (API_READ_KEY_REQUIRED): the key the page sends with every
// request (X-API-Key), asked once of the person at the screen and kept in this tab, or on this
// machine when asked to (a wall screen that must come back after a restart).

import { h } from "./dom.js";

const STORE = "chiso766.apiKey";
let asking = false;

export function apiKey() {
  return sessionStorage.getItem(STORE) ?? localStorage.getItem(STORE);
}

export function keyHeaders() {
  const key = apiKey();
  return key ? { "X-API-Key": key } : {};
}

function keep(key, everywhere) {
  forget();
  (everywhere ? localStorage : sessionStorage).setItem(STORE, key);
}

function forget() {
  sessionStorage.removeItem(STORE);
  localStorage.removeItem(STORE);
}

// The api refused the page's key (or wants one): ask for a key, once however many requests
// were refused, then start again with it.
export function askForKey(detail) {
  if (asking) return;
  asking = true;
  const input = h("input", { type: "password", name: "key", required: true, autocomplete: "off", "aria-label": "Khóa API", placeholder: "c766_…" });
  const everywhere = h("input", { type: "checkbox", name: "remember" });
  const form = h(
    "form", { method: "dialog", class: "key-form" },
    h("h2", {}, "Cần khóa API"),
    h("p", {}, apiKey() ? "Máy chủ không nhận khóa này: " : "Máy chủ yêu cầu khóa API để xem số liệu: ", detail),
    h("label", {}, "Khóa ", input),
    h("label", { class: "remember" }, everywhere, " Ghi nhớ trên máy này (màn hình IOC)"),
    h("button", { type: "submit" }, "Dùng khóa"),
  );
  const dialog = h("dialog", { class: "key-dialog", "aria-label": "Khóa API" }, form);
  form.addEventListener("submit", () => {
    keep(input.value.trim(), everywhere.checked);
    location.reload();
  });
  document.body.append(dialog);
  dialog.showModal();
}
