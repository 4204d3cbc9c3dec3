import { Config, type Duration, Option } from "effect"
import * as SchedulingPolicy from "../../SchedulingPolicy.js"
import { defaults, type Options, type Settings } from "./settings.js"

/** One line per configuration key, for `Config.withDescription` (tools that list the keys show it). */
const descriptions: { readonly [K in keyof Settings]?: string } = {
  schema: "database schema of the task tables (a plain identifier)",
  poolSize: "handlers running at once in this process",
  claimBatchSize: "most tasks claimed per statement (default poolSize + claimAhead)",
  claimAhead: "tasks claimed ahead of free handler slots (default adaptive)",
  completionDelay: "how long an attempt's end may wait to share a statement",
  scanInterval: "safety scan period, besides LISTEN/NOTIFY",
  runningTimeout: "attempt timeout of tasks that set none",
  stopTimeout: "how long a stop lets running handlers finish",
  migrate: "apply pending migrations at start",
  listen: "LISTEN for enqueues (off: pickup waits for the scan)",
  nodeId: "this node's name (default host/pid/random)",
  heartbeatInterval: "how often the node renews its leases",
  nodeTimeout: "a node silent this long is dead (at least 4 heartbeats)",
  rescueInterval: "how often the leader looks for lapsed claims",
  maxWorkerLosses: "worker losses in a row that fail a task as poison",
  initializedTimeout: "the checker reports tasks due but not started this long",
  checkInterval: "how often the leader runs the abnormal-task check",
  gaugeInterval: "how often the leader sets the per-queue gauges",
  scheduling: "claim order: fair or strict-priority",
  keepSucceeded: "how long succeeded tasks are kept (a duration, or forever)",
  keepFailed: "how long failed and canceled tasks are kept (a duration, or forever)"
}

/** `poolSize` is read from `POOL_SIZE` (under `EFFECT_TASKS`). */
const keyOf = (name: string) => name.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()

const described = <A>(name: keyof Settings, read: (key: string) => Config.Config<A>) =>
  Config.withDescription(read(keyOf(name)), descriptions[name] ?? name)

/** Keys read the same way, each at its default when unset. */
const withDefaults = <K extends keyof typeof defaults, A>(
  read: (key: string) => Config.Config<A>,
  ...names: ReadonlyArray<K>
) =>
  Object.fromEntries(
    names.map((name) => [name, described(name, read).pipe(Config.withDefault(defaults[name] as A))])
  ) as { readonly [P in K]: Config.Config<A> }

/** Keys without a fixed default (derived when unset). */
const derived = <K extends keyof Settings, A>(read: (key: string) => Config.Config<A>, ...names: ReadonlyArray<K>) =>
  Object.fromEntries(
    names.map((name) => [name, Config.option(described(name, read)).pipe(Config.map(Option.getOrUndefined))])
  ) as { readonly [P in K]: Config.Config<A | undefined> }

/**
 * `Options` from configuration: `EFFECT_TASKS_<NAME>`, each described, unset keys at their
 * defaults (durations such as `"5 seconds"`; `SCHEDULING` is `fair` or `strict-priority`).
 */
export const config: Config.Config<Options> = Config.all({
  ...withDefaults(Config.string, "schema"),
  ...withDefaults(Config.integer, "poolSize", "maxWorkerLosses"),
  ...withDefaults(Config.boolean, "migrate", "listen"),
  ...withDefaults(
    Config.duration,
    "completionDelay",
    "scanInterval",
    "runningTimeout",
    "stopTimeout",
    "heartbeatInterval",
    "nodeTimeout",
    "rescueInterval",
    "initializedTimeout",
    "checkInterval",
    "gaugeInterval"
  ),
  ...withDefaults(
    (key): Config.Config<Duration.DurationInput | "forever"> =>
      Config.string(key).pipe(Config.map((text) => text as Duration.DurationInput | "forever")),
    "keepSucceeded",
    "keepFailed"
  ),
  ...derived(Config.integer, "claimBatchSize", "claimAhead"),
  ...derived(Config.string, "nodeId"),
  scheduling: described("scheduling", Config.literal("fair", "strict-priority")).pipe(
    Config.withDefault("fair" as const),
    Config.map((name) => name === "fair" ? SchedulingPolicy.fair() : SchedulingPolicy.strictPriority)
  )
}).pipe(Config.nested("EFFECT_TASKS"))
