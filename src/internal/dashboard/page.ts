import { base } from "./client/base.js"
import { overview } from "./client/overview.js"
import { tasks } from "./client/tasks.js"
import { style } from "./style.js"

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (char) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" })[char]!)

/**
 * The dashboard's one page: everything inline (style, script), nothing from another origin. `baseHref`
 * is where the dashboard is mounted, so its API calls are relative to it; `readOnly` hides every
 * change.
 */
export const page = (options: { readonly baseHref: string; readonly readOnly: boolean; readonly title: string }) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<base href="${escape(options.baseHref)}">
<title>${escape(options.title)}</title>
<style>${style}</style>
</head>
<body data-read-only="${options.readOnly}">
<a class="skip" href="#main">Skip to content</a>
<header>
<span class="brand">${escape(options.title)}</span>
<nav aria-label="Views">
<a href="#/" data-view="overview">Overview</a>
<a href="#/tasks" data-view="tasks">Tasks</a>
<a href="#/nodes" data-view="nodes">Nodes</a>
<a href="#/queues" data-view="queues">Queues</a>
</nav>
${options.readOnly ? "<span class=\"badge\">read-only</span>" : ""}
</header>
<p id="said" class="said" role="status" aria-live="polite"></p>
<main id="main" tabindex="-1"></main>
<dialog id="confirm" aria-labelledby="confirm-title">
<form method="dialog">
<h2 id="confirm-title">Are you sure?</h2>
<p></p>
<div class="buttons"><button value="yes" class="danger">Yes, do it</button><button value="no" class="secondary" autofocus>Keep</button></div>
</form>
</dialog>
<script>${base}${overview}${tasks}
route.focus = false;
route();
</script>
</body>
</html>`
