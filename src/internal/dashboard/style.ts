/** The page's style sheet: system fonts, visible focus, tables that scroll on a phone, light or dark as the system says. */
export const style = String.raw`
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #ffffff; --muted: #57606a; --line: #d0d7de; --accent: #0a58ca;
  --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --chip: #eef1f4; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9da7b3; --line: #30363d; --accent: #58a6ff;
  --ok: #3fb950; --bad: #f85149; --warn: #d29922; --chip: #21262d; } }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 1rem; top: 1rem; background: var(--bg); padding: .5rem; z-index: 2; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.5rem; padding: .75rem 1rem; border-bottom: 1px solid var(--line); }
header .brand { font-weight: 700; }
nav { display: flex; flex-wrap: wrap; gap: .25rem; }
nav a { padding: .35rem .7rem; border-radius: 6px; text-decoration: none; }
nav a[aria-current="page"] { background: var(--chip); color: var(--fg); font-weight: 600; }
main { padding: 1rem; max-width: 80rem; margin: 0 auto; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; display: flex; align-items: center; gap: .75rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
.summary, .why, figcaption { color: var(--muted); }
.scroll { overflow-x: auto; margin: 1rem 0; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
td.error-cell { white-space: normal; color: var(--bad); min-width: 12rem; }
.badge { display: inline-block; font-size: .8rem; font-weight: 600; padding: .05rem .5rem; border-radius: 999px; background: var(--chip); }
.badge.succeeded { color: var(--ok); } .badge.failed, .badge.canceled { color: var(--bad); }
.badge.running { color: var(--accent); } .badge.paused { color: var(--warn); }
form.filters { display: grid; grid-template-columns: repeat(auto-fit, minmax(12rem, 1fr)); gap: .75rem; align-items: end;
  padding: .75rem; border: 1px solid var(--line); border-radius: 8px; }
form.filters fieldset { grid-column: 1 / -1; border: 0; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: .25rem 1rem; }
label { display: flex; flex-direction: column; gap: .2rem; font-size: .9rem; }
label.check { flex-direction: row; align-items: center; gap: .35rem; }
input { font: inherit; padding: .35rem .5rem; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); }
button, .button { font: inherit; padding: .4rem .9rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent);
  color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
button.secondary, .button.secondary, button.sort, button.link { background: transparent; color: var(--accent); }
button.sort, button.link { border: 0; padding: 0; font-weight: 600; }
button.danger { background: var(--bad); border-color: var(--bad); }
form.filters .buttons { margin: 0; }
.buttons, .actions, .bulk { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; margin: .75rem 0; }
.move { display: inline-flex; gap: .35rem; align-items: center; }
.move label { flex-direction: row; }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dl.fields dt { color: var(--muted); } dl.fields dd { margin: 0; overflow-wrap: anywhere; }
pre { background: var(--chip); padding: .75rem; border-radius: 6px; overflow-x: auto; }
pre.error, p.error, .said.error { color: var(--bad); }
.said { min-height: 1.5rem; margin: 0; padding: 0 1rem; }
figure.chart { margin: 1rem 0; } figure.chart svg { width: 100%; max-width: 48rem; height: auto; }
.chart .ok { fill: var(--ok); } .chart .bad { fill: var(--bad); } .chart .axis { stroke: var(--line); }
.chart .wait { fill: none; stroke: var(--accent); stroke-width: 2; } .chart .legend { font-size: 11px; fill: var(--muted); }
.chart .end { text-anchor: end; }
ul.tree { list-style: none; padding-left: 1rem; border-left: 2px solid var(--line); }
ul.tree li { margin: .25rem 0; }
dialog { border: 1px solid var(--line); border-radius: 8px; background: var(--bg); color: var(--fg); max-width: 32rem; }
dialog::backdrop { background: rgb(0 0 0 / .4); }
@media (max-width: 40rem) { main { padding: .5rem; } h1 { font-size: 1.25rem; } }
`
