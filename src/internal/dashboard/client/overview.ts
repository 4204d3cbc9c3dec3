/** The page's script: the overview (per queue counts, the last hour as a chart, live) and the nodes and queues views. */
export const overview = String.raw`
const svgNs = "http://www.w3.org/2000/svg";
function s(tag, attrs, ...children) {
  const el = document.createElementNS(svgNs, tag);
  for (const [name, value] of Object.entries(attrs || {})) el.setAttribute(name, String(value));
  for (const child of children.flat(Infinity)) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

/** The last hour: ended tasks per minute as bars (succeeded, failed on top), the mean wait as a line. */
function chart(minutes) {
  const width = 600, height = 160, pad = 24;
  const most = Math.max(1, ...minutes.map((m) => m.succeeded + m.failed));
  const longest = Math.max(0.001, ...minutes.map((m) => m.meanWaitSeconds || 0));
  const step = (width - pad * 2) / minutes.length;
  const y = (n) => height - pad - (n / most) * (height - pad * 2);
  const yWait = (w) => height - pad - (w / longest) * (height - pad * 2);
  const bars = minutes.map((m, i) => [
    s("rect", { x: pad + i * step, y: y(m.succeeded), width: Math.max(1, step - 1), height: height - pad - y(m.succeeded), class: "ok" }),
    s("rect", { x: pad + i * step, y: y(m.succeeded + m.failed), width: Math.max(1, step - 1), height: y(m.succeeded) - y(m.succeeded + m.failed), class: "bad" })
  ]);
  const points = minutes.map((m, i) => m.meanWaitSeconds === null ? null : (pad + i * step + step / 2) + "," + yWait(m.meanWaitSeconds)).filter(Boolean);
  const ended = minutes.reduce((n, m) => n + m.succeeded + m.failed, 0);
  const waits = minutes.filter((m) => m.meanWaitSeconds !== null);
  const label = "Last hour: " + ended + " task(s) ended (at most " + most + " in a minute)" +
    (waits.length ? "; mean wait up to " + longest.toFixed(2) + " s" : "");
  return h("figure", { class: "chart" },
    s("svg", { viewBox: "0 0 " + width + " " + height, role: "img", "aria-label": label },
      s("line", { x1: pad, y1: height - pad, x2: width - pad, y2: height - pad, class: "axis" }),
      bars,
      points.length > 1 ? s("polyline", { points: points.join(" "), class: "wait" }) : [],
      s("text", { x: pad, y: 14, class: "legend" }, most + " / min"),
      s("text", { x: width - pad, y: 14, class: "legend end" }, "wait " + longest.toFixed(2) + " s")),
    h("figcaption", {}, label, ". Bars: tasks succeeded (and failed, on top) per minute; line: mean wait from due to start."));
}

function queuesTable(queues) {
  return table("Tasks per queue", ["Queue", "Waiting", "Paused", "Running", "Oldest wait", "Succeeded (1 h)", "Failed (1 h)", "Canceled (1 h)"],
    queues.map((q) => h("tr", { "data-queue": q.queue },
      h("th", { scope: "row" }, h("a", { href: "#/tasks?queue=" + encodeURIComponent(q.queue) }, q.queue)),
      h("td", { "data-count": "waiting" }, q.waiting), h("td", { "data-count": "paused" }, q.paused),
      h("td", { "data-count": "running" }, q.running), h("td", {}, q.waiting ? age(q.oldestWaitingSeconds) : "-"),
      h("td", { "data-count": "succeeded" }, q.succeededLastHour),
      h("td", { "data-count": "failed" }, h("a", { href: "#/tasks?status=failed&queue=" + encodeURIComponent(q.queue) }, q.failedLastHour)),
      h("td", { "data-count": "canceled" }, q.canceledLastHour))));
}

function overviewContent(data) {
  const live = data.nodes.filter((n) => n.isLive).length;
  const leader = data.nodes.find((n) => n.isLeader);
  return [
    h("h1", { tabindex: "-1" }, "Overview"),
    h("p", { class: "summary" }, live + " live node(s)" + (leader ? "; leader " + leader.id : "; no leader")),
    queuesTable(data.queues),
    chart(data.lastHour)
  ];
}

/** Live: server-sent events, or a poll every 5 s where they are not available. */
views.overview = async () => {
  const section = h("section", { "aria-labelledby": "overview" });
  const show = (data) => {
    const focused = document.activeElement && section.contains(document.activeElement);
    section.replaceChildren(...overviewContent(data));
    if (focused) section.querySelector("h1").focus();
  };
  show(await api("api/overview"));
  let stopped = false;
  let timer;
  const fresh = (data) => { say(""); show(data); };
  const stale = (message) => say("Not live: " + message, true);
  const poll = () => {
    if (stopped) return;
    timer = setTimeout(() => api("api/overview").then(fresh, (error) => stale(error.message)).finally(poll), 5000);
  };
  let events;
  if ("EventSource" in window) {
    // The server ends each stream after a while; the browser then opens a new one by itself.
    events = new EventSource("api/events");
    events.onmessage = (event) => fresh(JSON.parse(event.data));
    events.addEventListener("failure", (event) => stale(JSON.parse(event.data).error));
    events.onerror = () => { if (events.readyState === EventSource.CLOSED) poll(); };
  } else {
    poll();
  }
  stopLive = () => { stopped = true; clearTimeout(timer); if (events) events.close(); };
  return section;
};

views.nodes = async () => {
  const data = await api("api/overview");
  return h("section", {},
    h("h1", { tabindex: "-1" }, "Nodes"),
    table("Worker nodes", ["Node", "Host", "PID", "State", "Last heartbeat", "Running", "Leader", "Task keys"],
      data.nodes.map((n) => h("tr", {},
        h("th", { scope: "row" }, n.id), h("td", {}, n.host), h("td", {}, n.pid),
        h("td", {}, h("span", { class: "badge " + (n.isLive ? "succeeded" : "failed") }, n.isLive ? "live" : "silent")),
        h("td", {}, age(n.silentSeconds) + " ago"), h("td", {}, n.running), h("td", {}, n.isLeader ? "leader" : ""),
        h("td", {}, n.keys.join(", "))))));
};

views.queues = async () => {
  const data = await api("api/overview");
  const names = Array.from(new Set(data.queues.map((q) => q.queue).concat(data.limits.map((l) => l.name)))).sort();
  const limit = (value) => value === null || value === undefined ? "none" : value;
  return h("section", {},
    h("h1", { tabindex: "-1" }, "Queues"),
    table("Queues and their limits", ["Queue", "Waiting", "Paused", "Running", "Max size", "Concurrency", "Per node"],
      names.map((name) => {
        const q = data.queues.find((each) => each.queue === name) || { waiting: 0, paused: 0, running: 0 };
        const l = data.limits.find((each) => each.name === name) || {};
        return h("tr", {},
          h("th", { scope: "row" }, h("a", { href: "#/tasks?queue=" + encodeURIComponent(name) }, name)),
          h("td", {}, q.waiting), h("td", {}, q.paused), h("td", {}, q.running),
          h("td", {}, limit(l.maxSize)), h("td", {}, limit(l.concurrency)), h("td", {}, limit(l.concurrencyPerNode)));
      })));
};
`
