/** The page's script: the task list (filters, keyset pages, order, bulk actions) and one task's detail. */
export const tasks = String.raw`
const statuses = ["initialized", "paused", "running", "succeeded", "failed", "canceled"];
const filterNames = ["queue", "key", "owner", "parentId", "args"];
const timeNames = [["createdAfter", "Created after"], ["createdBefore", "Created before"],
  ["finishedAfter", "Finished after"], ["finishedBefore", "Finished before"]];

/** The filter of the hash's query (what the list shows), without paging. */
function filterOf(params) {
  const filter = {};
  const status = params.getAll("status");
  if (status.length) filter.status = status;
  for (const name of filterNames) if (params.get(name)) filter[name] = params.get(name);
  for (const [name] of timeNames) if (params.get(name)) filter[name] = params.get(name);
  return filter;
}
/** An ISO time as the value of a datetime-local field (local time, to the minute), and back. */
function localInput(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return new Date(date.getTime() - date.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}
function query(filter, extra) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(Object.assign({}, filter, extra || {}))) {
    for (const each of [].concat(value)) if (each !== undefined && each !== "") params.append(name, each);
  }
  return params.toString();
}

function filterForm(filter) {
  const field = (name, label, hint) => h("label", {}, label,
    h("input", { name, value: filter[name] || "", placeholder: hint || "", autocomplete: "off" }));
  const form = h("form", { class: "filters", role: "search", "aria-label": "Filter tasks" },
    h("fieldset", {}, h("legend", {}, "Status"),
      statuses.map((status) => h("label", { class: "check" },
        h("input", { type: "checkbox", name: "status", value: status, checked: (filter.status || []).includes(status) }), status))),
    field("queue", "Queue"), field("key", "Task key"), field("owner", "Owner"), field("parentId", "Parent id"),
    field("args", "Arguments contain (JSON)", "{\"orderId\": 42}"),
    timeNames.map(([name, label]) => h("label", {}, label,
      h("input", { type: "datetime-local", name, value: localInput(filter[name]) }))),
    h("div", { class: "buttons" },
      h("button", { type: "submit" }, "Apply filter"),
      h("a", { href: "#/tasks", class: "button secondary" }, "Clear")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const next = {};
    const status = data.getAll("status");
    if (status.length) next.status = status;
    for (const name of filterNames) if (String(data.get(name) || "").trim()) next[name] = String(data.get(name)).trim();
    for (const [name] of timeNames) if (data.get(name)) next[name] = new Date(String(data.get(name))).toISOString();
    location.hash = "#/tasks?" + query(next);
  });
  return form;
}

function bulkActions(filter) {
  if (readOnly || !Object.keys(filter).length) return [];
  const bulk = (action, label) => h("button", {
    type: "button", class: action === "delete" || action === "cancel" ? "danger" : "",
    onclick: async () => {
      const { count } = await api("api/count?" + query(filter, { action }));
      act(action, { filter }, label + ": the " + count + " task(s) of this filter it applies to" +
        (action === "cancel" ? " (and their waiting children)" : "") + "?");
    }
  }, label + " all matching");
  const moveTo = h("input", { id: "bulk-move-to", placeholder: "queue", autocomplete: "off" });
  const move = h("button", { type: "button", onclick: async () => {
    if (!moveTo.value.trim()) { moveTo.focus(); return say("move: name the queue to move them to", true); }
    const { count } = await api("api/count?" + query(filter, { action: "move" }));
    act("move", { filter }, "Move the " + count + " waiting or paused task(s) of this filter to queue " + moveTo.value + "?",
      { to: { queue: moveTo.value } });
  } }, "Move all matching");
  return h("div", { class: "bulk", role: "group", "aria-label": "Change every task the filter matches" },
    bulk("rerun", "Rerun"), bulk("cancel", "Cancel"), bulk("pause", "Pause"), bulk("resume", "Resume"), bulk("delete", "Delete"),
    h("span", { class: "move" }, h("label", { for: "bulk-move-to" }, "to queue"), moveTo, move));
}

views.tasks = async (params) => {
  const filter = filterOf(params);
  const order = params.get("order") === "oldest" ? "oldest" : "newest";
  const page = await api("api/tasks?" + query(filter, { order, after: params.get("after") || undefined, limit: 50 }));
  const flip = h("button", { type: "button", class: "sort", "aria-label": "Sort by id, " + (order === "newest" ? "oldest" : "newest") + " first",
    onclick: () => { location.hash = "#/tasks?" + query(filter, { order: order === "newest" ? "oldest" : "newest" }); } },
    "ID " + (order === "newest" ? "\u2193" : "\u2191"));
  const rows = page.tasks.map((t) => h("tr", { "data-id": t.id },
    h("th", { scope: "row" }, taskLink(t.id)), h("td", {}, t.key), h("td", {}, t.queue), h("td", {}, badge(t.status)),
    h("td", {}, t.attempt + "/" + t.maxAttempts), h("td", {}, when(t.runAt)), h("td", {}, when(t.createdAt)),
    h("td", { class: "error-cell" }, t.lastError ? t.lastError.split("\n")[0].slice(0, 80) : "")));
  const headers = [flip, "Key", "Queue", "Status", "Attempt", "Run at", "Created", "Last error"];
  return h("section", {},
    h("h1", { tabindex: "-1" }, "Tasks"),
    filterForm(filter),
    bulkActions(filter),
    table("Tasks" + (Object.keys(filter).length ? " matching the filter" : "") + ", " + order + " first", headers, rows, { class: "tasks" }),
    page.next ? h("p", {}, h("a", { class: "button", href: "#/tasks?" + query(filter, { order, after: page.next }) }, "Next page")) : []);
};

function children(list, more) {
  if (!list.length) return h("p", {}, "No children.");
  return h("ul", { class: "tree" }, list.map((child) => {
    const item = h("li", {}, taskLink(child.id), " ", child.key, " ", badge(child.status));
    const expand = h("button", { type: "button", class: "link", "aria-expanded": "false", onclick: async () => {
      const page = await api("api/tasks?" + query({ parentId: child.id }, { order: "oldest", limit: 200 }));
      expand.remove();
      item.append(children(page.tasks, page.next !== null));
    } }, "its children");
    item.append(" ", expand);
    return item;
  }), more ? h("li", {}, "more children: ", h("a", { href: "#/tasks?parentId=" + list[0].parentId }, "list them")) : []);
}

/** Why the task is where it is; an ended task's error has a section of its own. */
function whyOf(explanation, t) {
  if (!explanation) return "";
  const first = explanation.reasons[0];
  return first && first._tag === "Ended" ? "Ended " + t.status + " at " + when(t.finishedAt) + "." : explanation.text;
}

function pretty(value) {
  return value === null || value === undefined ? "-" : JSON.stringify(value, null, 2);
}

views.task = async (_params, [id]) => {
  const data = await api("api/tasks/" + encodeURIComponent(id));
  const t = data.task;
  const field = (name, value) => [h("dt", {}, name), h("dd", {}, value === null || value === undefined || value === "" ? "-" : value)];
  const traceId = t.traceparent ? t.traceparent.split("-")[1] : null;
  const button = (action, label, question, extra) => h("button", { type: "button", class: action === "delete" || action === "cancel" ? "danger" : "",
    onclick: () => act(action, { ids: [t.id] }, question, extra) }, label);
  const moveTo = h("input", { id: "move-to", name: "queue", placeholder: "queue", autocomplete: "off" });
  const actions = readOnly ? [] : h("div", { class: "actions", role: "group", "aria-label": "Change this task" },
    button("rerun", "Rerun", "Run task " + t.id + " again?"),
    button("cancel", "Cancel", "Cancel task " + t.id + "?"),
    button("pause", "Pause", "Pause task " + t.id + "?"),
    button("resume", "Resume", "Resume task " + t.id + "?"),
    button("delete", "Delete", "Delete task " + t.id + "? This cannot be undone."),
    h("span", { class: "move" }, h("label", { for: "move-to" }, "Move to queue"), moveTo,
      h("button", { type: "button", onclick: () => moveTo.value.trim()
        ? act("move", { ids: [t.id] }, "Move task " + t.id + " to queue " + moveTo.value + "?", { to: { queue: moveTo.value } })
        : (moveTo.focus(), say("move: name the queue to move it to", true)) }, "Move")));
  return h("section", {},
    h("h1", { tabindex: "-1" }, "Task " + t.id + " ", badge(t.status)),
    actions,
    h("p", { class: "why" }, whyOf(data.explanation, t)),
    t.progress ? h("p", {}, h("label", { for: "progress" }, "Progress: " + t.progress.phase + " "),
      h("progress", { id: "progress", max: "1", value: t.progress.fraction }, Math.round(t.progress.fraction * 100) + "%")) : [],
    h("dl", { class: "fields" },
      field("Key", t.key), field("Queue", t.queue), field("Priority", t.priority), field("Attempt", t.attempt + " of " + t.maxAttempts),
      field("Run at", when(t.runAt)), field("Created", when(t.createdAt)), field("Started", when(t.startedAt)),
      field("Finished", when(t.finishedAt)), field("Claimed by", t.claimedBy), field("Owner", t.owner),
      field("Parent", t.parentId ? taskLink(t.parentId) : null), field("Root", t.rootId ? taskLink(t.rootId) : null),
      field("Lost", t.lostCount), field("Trace id", traceId)),
    t.errors && t.errors.length ? table("Failed attempts, oldest first", ["Attempt", "At", "Error"],
      t.errors.map((failed) => h("tr", {}, h("th", { scope: "row" }, failed.attempt), h("td", {}, when(failed.at)),
        h("td", { class: "error-cell" }, failed.error.split("\n")[0])))) : [],
    t.lastError ? [h("h2", {}, "Last error"), h("pre", { class: "error", tabindex: "0" }, t.lastError)] : [],
    h("h2", {}, "Arguments"), h("pre", { tabindex: "0" }, pretty(t.args)),
    h("h2", {}, "Result"), h("pre", { tabindex: "0" }, pretty(t.result)),
    h("h2", {}, "Checkpoint"), h("pre", { tabindex: "0" }, pretty(t.checkpoint)),
    h("h2", {}, "Children"), children(data.children, data.moreChildren));
};
`
