// Which code of this repository a run measured: the commit, and whether the working tree
// differed from it (the build in dist/ is made from the working tree, not from the commit).
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const git = (...args) => execFileSync("git", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trimEnd();

let cached;

// { commit, subject, dirty, changed: paths that differ from the commit } or, outside a git
// checkout, { commit: null }. The report this harness writes is left out: it changes with every run.
export function checkoutState() {
  if (cached) return cached;
  try {
    const changed = git("status", "--porcelain", "--", ".", ":(exclude)bench/results.md")
      .split("\n")
      .filter(Boolean)
      .map((line) => line.slice(3));
    cached = {
      commit: git("rev-parse", "--short=12", "HEAD"),
      subject: git("log", "-1", "--format=%s").slice(0, 120),
      dirty: changed.length > 0,
      changed,
    };
  } catch {
    cached = { commit: null, subject: null, dirty: null, changed: [] };
  }
  return cached;
}

// One line: "commit abc123 (clean)" or "commit abc123 + uncommitted changes (src/X.ts, …)".
export function describeCheckout(state = checkoutState()) {
  if (!state.commit) return "not a git checkout";
  if (!state.dirty) return `commit ${state.commit} (clean)`;
  const shown = state.changed.slice(0, 8).join(", ") + (state.changed.length > 8 ? `, … ${state.changed.length} paths` : "");
  return `commit ${state.commit} + uncommitted changes (${shown})`;
}
