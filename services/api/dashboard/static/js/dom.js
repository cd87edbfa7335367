// A small element builder: h("a", { href, class: "x" }, "text", child, ...).
// Attributes go through setAttribute and text through text nodes: nothing is parsed as HTML.

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined));
  return element;
}

// A table with a caption, header cells and rows of cells (strings or nodes).
export function table(caption, headers, rows, attributes = {}) {
  return h(
    "table",
    attributes,
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, headers.map((cell) => (cell instanceof Node ? cell : h("th", { scope: "col" }, cell))))),
    h("tbody", {}, rows),
  );
}

export function message(text, kind = "empty") {
  return h("p", { class: kind }, text);
}
