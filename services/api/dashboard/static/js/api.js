// Reading the api: conditional GETs that remember their ETag, so an unchanged resource costs a
// 304 and no re-render; each with the page's key when the deployment keys its reads.

import { askForKey, keyHeaders } from "./keys.js";

const TIMEOUT_MS = 10_000;

export class ApiError extends Error {
  constructor(status, detail) {
    super(`${status}: ${detail}`);
    this.status = status;
    this.detail = detail;
  }
}

// An outage (the api unreachable, overloaded or failing) rather than a question it refused.
export function isOutage(error) {
  return !(error instanceof ApiError) || error.status >= 500 || error.status === 429;
}

async function refusal(response) {
  try {
    const body = await response.json();
    return typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
  } catch {
    return response.statusText;
  }
}

const UNAUTHORIZED = new Set([401, 403]);

async function get(path, etag, accept = "application/json") {
  const headers = { Accept: accept, ...keyHeaders() };
  if (etag) headers["If-None-Match"] = etag;
  // no-store: the browser's cache would answer our If-None-Match itself and hide the 304.
  const response = await fetch(path, {
    headers, cache: "no-store", signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  if (response.status !== 304 && !response.ok) {
    const error = new ApiError(response.status, await refusal(response));
    if (UNAUTHORIZED.has(response.status)) askForKey(error.detail);
    throw error;
  }
  return response;
}

// A file (`format=xlsx|csv`) fetched with the page's key and handed to the browser to save:
// a plain link cannot send the key's header.
export async function download(path) {
  const response = await get(path, null, "*/*");
  const disposition = response.headers.get("Content-Disposition") ?? "";
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  const plain = /filename="?([^";]+)"?/i.exec(disposition);
  const name = encoded ? decodeURIComponent(encoded[1]) : plain?.[1] ?? "chiso766";
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement("a"), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  // The browser has read the blob's address by the next task.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

export async function getJson(path) {
  return (await get(path, null)).json();
}

// One api resource as last read.
export class Resource {
  constructor(path) {
    this.path = path;
    this.etag = null;
    this.body = null;
  }

  // True when the body changed.
  async load() {
    const response = await get(this.path, this.etag);
    if (response.status === 304) return false;
    this.body = await response.json();
    this.etag = response.headers.get("ETag");
    return true;
  }
}

// Resources shown together: refreshed at once, rendered only when one of them changed (and
// only once all of them answered, so a half-refreshed screen is never drawn).
export class Sources {
  constructor(paths) {
    this.resources = Object.fromEntries(
      Object.entries(paths).map(([name, path]) => [name, new Resource(path)]),
    );
    this.dirty = false;
  }

  async refresh() {
    const answers = await Promise.allSettled(Object.values(this.resources).map((r) => r.load()));
    this.dirty ||= answers.some((answer) => answer.value === true);
    const failed = answers.find((answer) => answer.status === "rejected");
    if (failed) throw failed.reason;
    const render = this.dirty;
    this.dirty = false;
    return render;
  }

  body(name) {
    return this.resources[name].body;
  }
}
