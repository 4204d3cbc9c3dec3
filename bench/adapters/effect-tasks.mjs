// Adapter for effect-tasks (this repository), used through its public API as an application would:
//   Task.make(key, { args: Schema }) + task.handler(...)   the definition and its handler Layer
//   Tasks.run(task, args) / Tasks.runMany(task, args)       enqueue
//   TaskManager.layer({ poolSize: C, ... })                 the worker (claims, runs, finishes)
//   TaskStore.make().migrate                                the schema (install)
// over PgClient.layer({ url, maxConnections }) from @effect/sql-pg (node-postgres pool).
//
// "effect-tasks" resolves to this repository's own build (dist/, via the package's "exports":
// Node's package self-reference), so run.sh builds before measuring, and the results record the
// commit and whether the working tree differed from it.
//
// Transactional enqueue on the caller's node-postgres client: Tasks.run writes on @effect/sql's
// SqlClient.TransactionConnection of the current fiber when there is one. The harness hands us a
// plain pg client inside an open transaction, so we wrap that client as an @effect/sql Connection
// and provide it as the TransactionConnection (what sql.withTransaction does with a pooled
// connection). Tasks.run's statements then run on the caller's client, inside the caller's
// transaction, and its NOTIFY is delivered only at the caller's COMMIT.
import { NodeSdk } from "@effect/opentelemetry";
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from "@opentelemetry/sdk-trace-base";
import { Effect, Layer, ManagedRuntime, Redacted, Schema } from "effect";
import * as SqlClient from "@effect/sql/SqlClient";
import { SqlError } from "@effect/sql/SqlError";
import { PgClient } from "@effect/sql-pg";
import { SchedulingPolicy, Task, TaskManager, Tasks, TaskStore } from "effect-tasks";
import { loadConfig, packageVersion } from "../lib/common.mjs";
import { checkoutState } from "../lib/checkout.mjs";

const checkout = checkoutState();
export const packageName = "effect-tasks";
export const version = `${packageVersion("effect-tasks")} (this checkout: ${
  checkout.commit ? `commit ${checkout.commit}${checkout.dirty ? " + uncommitted changes" : ""}` : "no git"
}; effect@${packageVersion("effect")}, @effect/sql@${packageVersion("@effect/sql")}, @effect/sql-pg@${packageVersion("@effect/sql-pg")})`;
export const database = "bench_et";

const SCHEMA = "effect_tasks"; // the library default
// The harness' payloads: { seq } (+ { warm: true } for enqueue warm-up jobs).
const Noop = Task.make("bench_noop", {
  args: Schema.Struct({ seq: Schema.Number, warm: Schema.optional(Schema.Boolean) }),
});

// The application's pool (maxConnections) serves the handlers, plus the cancel requests of
// interrupted statements; the README asks for at least poolSize. C + 3 leaves room, and matches
// earlier runs of this harness. At least node-postgres' default of 10, as for the peers. The
// manager's claims, ends of attempts, heartbeat and maintenance (4) and its LISTEN (1) use
// connections of their own, outside this pool.
const connectionsFor = (C) => Math.max(10, C + 3);
// Producer processes only enqueue: the node-postgres default pool (10).
const PRODUCER_CONNECTIONS = 10;

const CLAIM_BATCH = loadConfig().effectTasksClaimBatch;

// Settings per profile and concurrency C. Everything not listed is the library default.
export const profiles = {
  default: (C) => ({
    manager: { poolSize: C },
    maxConnections: connectionsFor(C),
    described: {
      poolSize: C,
      claimAhead: `adaptive, at most ${Math.max(C, 32)} (default)`,
      claimBatchSize: `${C + Math.max(C, 32)} (default = poolSize + claimAhead)`,
      scheduling: "fair (default)",
      scanInterval: "5 s (default)",
      listen: "true (default)",
      pgMaxConnections: connectionsFor(C),
    },
  }),
  // Opt-in batched ends: an end waits up to 250 ms to share its statement (graphile-worker's batched
  // profile uses the same 250 ms for its completions).
  batched: (C) => ({
    manager: { poolSize: C, completionDelay: "250 millis" },
    maxConnections: connectionsFor(C),
    described: {
      poolSize: C,
      completionDelay: "250 ms",
      pgMaxConnections: connectionsFor(C),
    },
  }),
  // Strict priority: one line across queues and owners (the order graphile-worker and pg-boss use),
  // i.e. the claim reads the runnable index in order instead of the fair policy's group scan.
  strict: (C) => ({
    manager: { poolSize: C, scheduling: SchedulingPolicy.strictPriority, ...(CLAIM_BATCH ? { claimBatchSize: CLAIM_BATCH } : {}) },
    maxConnections: connectionsFor(C),
    described: {
      poolSize: C,
      claimBatchSize: CLAIM_BATCH ?? `${C + Math.max(C, 32)} (default = poolSize + claimAhead)`,
      scheduling: "strictPriority",
      pgMaxConnections: connectionsFor(C),
    },
  }),
};

// Observability on: an OpenTelemetry SDK records every span (batched, then handed to an exporter
// that drops them, as a cheap stand-in for OTLP), and the metrics are updated as always. Off: the
// worker records no span at all (Layer.setTracerEnabled(false)); the metrics still are. Without a
// tracer (the default profile) the library makes no spans either, so untraced matches default.
class DroppingExporter {
  export(spans, done) {
    done({ code: 0 });
  }
  shutdown() {
    return Promise.resolve();
  }
}
const observed = {
  traced: () =>
    NodeSdk.layer(() => ({ resource: { serviceName: "bench" }, spanProcessor: new BatchSpanProcessor(new DroppingExporter()) })),
  // As traced, one trace in ten recorded (the root's sampler decides; its children follow).
  sampled: () =>
    NodeSdk.layer(() => ({
      resource: { serviceName: "bench" },
      spanProcessor: new BatchSpanProcessor(new DroppingExporter()),
      tracerConfig: { sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.1) }) },
    })),
  untraced: () => Layer.setTracerEnabled(false),
};
profiles.traced = (C) => ({ ...profiles.default(C), tracing: "traced", described: { ...profiles.default(C).described, tracing: "OpenTelemetry SDK, BatchSpanProcessor, spans dropped by the exporter" } });
profiles.sampled = (C) => ({ ...profiles.default(C), tracing: "sampled", described: { ...profiles.default(C).described, tracing: "OpenTelemetry SDK, 10 % of traces sampled (ParentBased(TraceIdRatioBased(0.1))), spans dropped by the exporter" } });
profiles.untraced = (C) => ({ ...profiles.default(C), tracing: "untraced", described: { ...profiles.default(C).described, tracing: "off (Layer.setTracerEnabled(false))" } });

export const inTransaction =
  "`Tasks.run(task, args)` with the caller's client provided as @effect/sql's `SqlClient.TransactionConnection` (as inside `sql.withTransaction`); its NOTIFY is part of the transaction";

export const notes = {
  default:
    "TaskManager.layer({poolSize: C}) + Task.handler, all else default (claimAhead adaptive, at most max(C, 32); claimBatchSize = poolSize + claimAhead; completionDelay 0; fair scheduling, LISTEN/NOTIFY, scanInterval 5 s, heartbeat 2 s); PgClient.layer({url, maxConnections: max(10, C+3)}) for the handlers (the manager adds 4 connections of its own, with prepared statements, for claims, ends of attempts, heartbeat and maintenance, and 1 for LISTEN); addOne = Tasks.run, addMany = Tasks.runMany; addInTx = Tasks.run with the caller's pg client provided as @effect/sql's SqlClient.TransactionConnection",
  batched: "as default + completionDelay 250 ms (opt-in: an attempt's end waits up to 250 ms to be written with others; a crash re-runs the attempts that ended in that window)",
  traced: "as default, the worker with an OpenTelemetry SDK (NodeSdk.layer, BatchSpanProcessor, an exporter that drops the spans): every span recorded, metrics as always",
  sampled: "as traced, with a sampler that records one trace in ten (ParentBased(TraceIdRatioBased(0.1)))",
  untraced: "as default, the worker with tracing off (Layer.setTracerEnabled(false)): no span recorded; metrics as always",
  strict: `as default + scheduling: SchedulingPolicy.strictPriority (priority, due time, id across all queues/owners: the peers' order; the claim reads the runnable index instead of the fair policy's per-group scan)${CLAIM_BATCH ? `, claimBatchSize ${CLAIM_BATCH}` : ""}`,
};

function clientLayer(connectionString, maxConnections) {
  return PgClient.layer({ url: Redacted.make(connectionString), maxConnections });
}

export async function install({ connectionString }) {
  const runtime = ManagedRuntime.make(clientLayer(connectionString, 2));
  try {
    await runtime.runPromise(Effect.flatMap(TaskStore.make({ schema: SCHEMA }), (store) => store.migrate));
  } finally {
    await runtime.dispose();
  }
}

// An @effect/sql Connection over the caller's node-postgres client (same shape as
// @effect/sql-pg's own connection), so the library's statements run on that client.
function callerConnection(client) {
  const q = (text, params, rowMode) =>
    Effect.async((resume) => {
      client.query(rowMode ? { text, values: params, rowMode } : text, rowMode ? undefined : params, (err, res) => {
        if (err) resume(Effect.fail(new SqlError({ cause: err, message: "Failed to execute statement" })));
        else resume(Effect.succeed(res));
      });
    });
  const rows = (text, params, transformRows) =>
    Effect.map(q(text, params), (r) => (transformRows ? transformRows(r.rows ?? []) : r.rows ?? []));
  return {
    execute: rows,
    executeUnprepared: rows,
    executeWithoutTransform: (text, params) => rows(text, params, undefined),
    executeRaw: (text, params) => q(text, params),
    executeValues: (text, params) => Effect.map(q(text, params, "array"), (r) => r.rows),
    executeStream: () => Effect.dieMessage("executeStream not supported on the caller's client"),
  };
}

export async function producer({ connectionString }) {
  const runtime = ManagedRuntime.make(clientLayer(connectionString, PRODUCER_CONNECTIONS));
  await runtime.runtime(); // connect before the first timed call
  const txConn = new WeakMap();
  return {
    addOne: (payload) => runtime.runPromise(Tasks.run(Noop, payload)),
    addMany: (payloads) => runtime.runPromise(Tasks.runMany(Noop, payloads)),
    addInTx: (client, payload) => {
      let conn = txConn.get(client);
      if (!conn) txConn.set(client, (conn = callerConnection(client)));
      return runtime.runPromise(
        Tasks.run(Noop, payload).pipe(Effect.provideService(SqlClient.TransactionConnection, [conn, 1])),
      );
    },
    close: () => runtime.dispose(),
  };
}

export async function worker({ connectionString, profile, concurrency, onJob }) {
  const settings = profiles[profile](concurrency);
  const NoopLive = Noop.handler((args) => Effect.sync(() => onJob(args)));
  const layer = NoopLive.pipe(
    Layer.provideMerge(TaskManager.layer(settings.manager)),
    Layer.provide(clientLayer(connectionString, settings.maxConnections)),
    Layer.provide(settings.tracing ? observed[settings.tracing]() : Layer.empty),
  );
  const runtime = ManagedRuntime.make(layer);
  await runtime.runtime(); // migrations checked, node registered, claimer started
  return {
    settings: settings.described,
    // Closing the layer's scope is the library's graceful stop (stop claiming, let handlers
    // finish, hand back anything held, deregister the node).
    stop: () => runtime.dispose(),
  };
}

const TASKS = `${SCHEMA}.tasks`;

// Succeeded rows are kept (status = 'succeeded'); anything else is waiting, running or failed.
export async function dbState(client) {
  const { rows } = await client.query(
    `select count(*)::int as total,
            count(*) filter (where status = 'succeeded')::int as completed,
            count(*) filter (where status = 'failed')::int as failed,
            count(*) filter (where status <> 'succeeded')::int as remaining,
            count(*) filter (where status = 'running')::int as still_running,
            count(*) filter (where attempt > 1)::int as rerun
       from ${TASKS}`,
  );
  return rows[0];
}

export async function pendingCount(client) {
  const { rows } = await client.query(`select count(*)::int as n from ${TASKS} where status <> 'succeeded'`);
  return rows[0].n;
}

export async function completedCount(client) {
  const { rows } = await client.query(`select count(*)::int as n from ${TASKS} where status = 'succeeded'`);
  return rows[0].n;
}
