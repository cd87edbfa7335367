// Addresses inside the page: #/<view>/<segments>?<parameters>. Views keep their filters in the
// address (replaceState, no reload), so a refresh or a shared link shows the same screen.

export function current() {
  const [path, query = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const [view = "", ...segments] = path.split("/").map(decodeURIComponent);
  return { view, segments, params: new URLSearchParams(query) };
}

export function href(view, segments = [], params = {}) {
  const path = [view, ...segments.map(encodeURIComponent)].join("/");
  const query = new URLSearchParams(
    Object.entries(params).filter(([, value]) => value !== null && value !== undefined && value !== ""),
  ).toString();
  return `#/${path}${query ? `?${query}` : ""}`;
}

// Remember a view's filters in the address without a navigation.
export function remember(view, segments, params) {
  history.replaceState(null, "", href(view, segments, params));
}

export function unitHref(code, period) {
  return href("unit", [code], { period });
}
