// Scenario 4: physical limit reference with pgbench on a scratch database.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { recreateDatabase, connectionString, withClient } from "./common.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const scriptDir = join(here, "..", "pgbench");
export const DB = "bench_pgbench";

// pgbench from PATH, else from the server binaries' directory that pg_config reports
// (Debian keeps pgbench there, outside PATH).
export function findPgbench() {
  const fromPath = spawnSync("sh", ["-c", "command -v pgbench"], { encoding: "utf8" }).stdout.trim();
  if (fromPath) return fromPath;
  const bindir = spawnSync("pg_config", ["--bindir"], { encoding: "utf8" }).stdout?.trim();
  if (bindir && existsSync(join(bindir, "pgbench"))) return join(bindir, "pgbench");
  return null;
}

function runPgbench(bin, pgc, args) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, PGPASSWORD: pgc.password ?? process.env.PGPASSWORD ?? "" };
    const full = ["-h", pgc.host, "-p", String(pgc.port), "-U", pgc.user, ...args, DB];
    const p = spawn(bin, full, { env });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("error", reject);
    p.on("close", (code) => {
      if (code !== 0) return reject(new Error(`pgbench exited ${code}: ${out}`));
      const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(out);
      const lat = /latency average = ([\d.]+) ms/.exec(out);
      const failed = /number of failed transactions: (\d+)/.exec(out);
      const done = /number of transactions actually processed: (\d+)/.exec(out);
      resolve({
        tps: tps ? Number(tps[1]) : null,
        latency_avg_ms: lat ? Number(lat[1]) : null,
        transactions: done ? Number(done[1]) : null,
        failed: failed ? Number(failed[1]) : 0,
        // relative script path only: no machine paths in the results
        args: full.slice(6).join(" ").replaceAll(scriptDir + "/", "pgbench/"),
      });
    });
  });
}

export async function runPgbenchSuite(cfg, log) {
  const bin = findPgbench();
  if (!bin) return { error: "pgbench not found (neither on PATH nor in pg_config --bindir)" };
  await recreateDatabase(cfg.pg, DB);
  await withClient(connectionString(cfg.pg, DB), async (c) => {
    for (const stmt of readFileSync(join(scriptDir, "setup.sql"), "utf8").split(";")) {
      if (stmt.trim()) await c.query(stmt);
    }
  });
  const c = String(cfg.pgbenchClients);
  const j = String(cfg.pgbenchJobs);
  const T = String(cfg.pgbenchSeconds);
  const cases = [
    { name: "insert", clients: cfg.pgbenchClients, script: "insert.sql", args: ["-n", "-c", c, "-j", j, "-T", T] },
    { name: "update", clients: cfg.pgbenchClients, script: "update.sql", args: ["-n", "-c", c, "-j", j, "-T", T] },
  ];
  if (cfg.pgbenchC1Seconds > 0) {
    const T1 = String(cfg.pgbenchC1Seconds);
    cases.push({ name: "insert", clients: 1, script: "insert.sql", args: ["-n", "-c", "1", "-j", "1", "-T", T1] });
    cases.push({ name: "update", clients: 1, script: "update.sql", args: ["-n", "-c", "1", "-j", "1", "-T", T1] });
  }
  const out = [];
  for (const k of cases) {
    log(`pgbench ${k.name} -c ${k.clients}`);
    const r = await runPgbench(bin, cfg.pg, [...k.args, "-f", join(scriptDir, k.script)]);
    out.push({ name: k.name, clients: k.clients, ...r });
  }
  const version = spawnSync(bin, ["--version"], { encoding: "utf8" }).stdout.trim();
  return { version, cases: out };
}
