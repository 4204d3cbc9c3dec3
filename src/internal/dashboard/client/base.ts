/**
 * The page's script, part one: helpers, the API, the confirmation dialog and the router. Plain
 * browser JavaScript (no build step, no library), served inline with the page.
 */
export const base = String.raw`
"use strict";
const readOnly = document.body.dataset.readOnly === "true";
const main = document.getElementById("main");
const said = document.getElementById("said");

/** An element: attributes (on* are listeners) and children (strings become text, never HTML). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Says something to the reader and to screen readers (the live region). */
function say(text, isError) {
  said.textContent = text;
  said.className = isError ? "said error" : "said";
}

async function api(path, init) {
  const response = await fetch(path, Object.assign({ headers: { "content-type": "application/json", accept: "application/json" } }, init));
  const body = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

/** Asks before a change: resolves true when confirmed (Escape or "Keep" cancel). */
function confirmChange(question) {
  const dialog = document.getElementById("confirm");
  dialog.querySelector("p").textContent = question;
  // Escape closes it without a value: never the previous answer.
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
  });
}

/** Runs an action on ids or a filter once confirmed; says what it changed. */
async function act(action, target, question, extra) {
  if (!(await confirmChange(question))) return say(action + ": nothing changed");
  try {
    const result = await api("api/actions/" + action, { method: "POST", body: JSON.stringify(Object.assign({}, target, extra)) });
    say(action + ": " + result.changed.length + " task(s) changed" + (result.changed.length ? " (" + result.changed.join(", ") + ")" : ""));
    route();
  } catch (error) {
    say(action + " refused: " + error.message, true);
  }
}

function when(value) {
  if (!value) return "-";
  const date = new Date(value);
  return date.toLocaleString();
}
function age(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
  if (s < 86400) return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
  return Math.floor(s / 86400) + "d " + Math.floor((s % 86400) / 3600) + "h";
}
function badge(status) {
  return h("span", { class: "badge " + status }, status);
}
function table(caption, headers, rows, options) {
  return h("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": caption },
    h("table", options || {},
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, headers.map((header) => h("th", { scope: "col" }, header)))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: headers.length }, "none")))));
}
function taskLink(id) {
  return h("a", { href: "#/task/" + id }, id);
}

let stopLive = () => {};
const views = {};

/** Shows the view the hash names: #/, #/tasks?..., #/task/<id>, #/nodes, #/queues. */
let shown = 0;
async function route() {
  stopLive();
  stopLive = () => {};
  const turn = ++shown;
  const hash = location.hash.slice(1) || "/";
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  const name = parts[0] || "overview";
  for (const link of document.querySelectorAll("nav a")) {
    if (link.dataset.view === (name === "task" ? "tasks" : name)) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const view = views[name] || views.overview;
  let content;
  try {
    content = await view(params, parts.slice(1));
  } catch (error) {
    content = [h("h1", { tabindex: "-1" }, "Something went wrong"), h("p", { class: "error" }, error.message)];
  }
  // Another view was asked for meanwhile: this one is not shown (and stops being live).
  if (turn !== shown) return;
  main.replaceChildren(...[].concat(content));
  if (route.focus) {
    const heading = main.querySelector("h1");
    if (heading) heading.focus();
  }
  route.focus = true;
}
window.addEventListener("hashchange", route);
`
