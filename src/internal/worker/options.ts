import { Config, Duration, Effect, Option, Schema } from "effect"
import { BoundedText, decodeWith, Delay, Flag, IntegerIn, PositiveDuration, PositiveInteger } from "../validation.js"
import { defaultSchema, validateSchemaName } from "../store/tables.js"
import { InvalidTaskOptions } from "../../TaskError.js"
import type { TaskRow } from "../store/taskRow.js"
import * as SchedulingPolicy from "../../SchedulingPolicy.js"

/**
 * What `TaskManager.layer` accepts. Every field is optional; `defaults` holds the values used.
 * @since 0.1.0
 * @category config
 */
export interface Options {
  /** Database schema of the task tables (a plain identifier). */
  readonly schema?: string | undefined
  /** Handlers running at once in this process (the Semaphore's permits). Keep the SqlClient's `maxConnections` above it. */
  readonly poolSize?: number | undefined
  /** Most tasks claimed per statement. Default: `poolSize + claimAhead`. Larger batches claim faster, smaller ones spread work across nodes. */
  readonly claimBatchSize?: number | undefined
  /**
   * Tasks claimed ahead of free handler slots, started the moment a handler ends (in claim order;
   * handed back at once on stop). Default: adaptive, as many as the handlers start within 20 ms at
   * their recent pace (`poolSize` until a handler has ended), at least 1 and at most
   * `max(poolSize, 32)`: short tasks are claimed many per statement, long ones are left to other
   * nodes. A number fixes it: more keeps handlers busy while the next claim runs; fewer leaves
   * waiting work to other nodes.
   */
  readonly claimAhead?: number | undefined
  /**
   * How long the end of an attempt may wait to be written in one statement with others. Default: 0,
   * each end is written as soon as its handler ends (ends that come together still share a
   * statement). Longer means far fewer commits under load, at a cost: a task's result is visible
   * that much later, a graceful stop waits for it, and if the process dies the attempts that ended
   * within that window run again (at least once still holds).
   */
  readonly completionDelay?: Duration.DurationInput | undefined
  /** Safety scan period (jittered +0–20 %). NOTIFY makes pickup immediate; the scan catches what NOTIFY missed. */
  readonly scanInterval?: Duration.DurationInput | undefined
  /** Attempt timeout for tasks that set none; also how long a task may run before the checker reports it. */
  readonly runningTimeout?: Duration.DurationInput | undefined
  /** On stop, how long running handlers may finish before they are interrupted and handed back. */
  readonly stopTimeout?: Duration.DurationInput | undefined
  /** Apply pending migrations at start (under an advisory lock). Turn off when migrations are run by a deploy step. */
  readonly migrate?: boolean | undefined
  /** LISTEN for enqueues. Off means pickup waits for the scan. */
  readonly listen?: boolean | undefined
  /** This node's name in `claimed_by`. Default: host/pid/random. */
  readonly nodeId?: string | undefined
  /** How often the node marks itself alive and renews the leases of its running attempts. */
  readonly heartbeatInterval?: Duration.DurationInput | undefined
  /** A node silent this long is dead: its claims have lapsed and other nodes take its tasks. At least four times `heartbeatInterval`. Shorter detects deaths sooner but tolerates shorter database or event-loop stalls. */
  readonly nodeTimeout?: Duration.DurationInput | undefined
  /** How often the maintenance leader looks for lapsed claims. */
  readonly rescueInterval?: Duration.DurationInput | undefined
  /** A task that loses its worker this many times in a row is failed as poison. */
  readonly maxWorkerLosses?: number | undefined
  /** The checker reports tasks due but not started for this long. */
  readonly initializedTimeout?: Duration.DurationInput | undefined
  /** How often the maintenance leader runs the abnormal-task check. */
  readonly checkInterval?: Duration.DurationInput | undefined
  /** Receives the abnormal tasks found by each check (at most 100). Default: a warning in the log. */
  readonly checkCallback?: ((tasks: ReadonlyArray<TaskRow>) => Effect.Effect<void>) | undefined
  /** Which runnable task is claimed next: `SchedulingPolicy.fair()` (turns between queues and owners) or `strictPriority`. */
  readonly scheduling?: SchedulingPolicy.SchedulingPolicy | undefined
}

/**
 * The options after defaults are applied.
 * @since 0.1.0
 * @category config
 */
export interface ResolvedOptions {
  readonly schema: string
  readonly poolSize: number
  readonly claimBatchSize: number
  /** The most tasks claimed ahead (adaptive below it unless set). */
  readonly claimAhead: number
  /** Whether the claim-ahead buffer follows the handlers' pace (`claimAhead` was not set). */
  readonly isClaimAheadAdaptive: boolean
  readonly completionDelay: Duration.Duration
  readonly scanInterval: Duration.Duration
  readonly runningTimeout: Duration.Duration
  readonly stopTimeout: Duration.Duration
  readonly migrate: boolean
  readonly listen: boolean
  readonly nodeId: Option.Option<string>
  readonly heartbeatInterval: Duration.Duration
  readonly nodeTimeout: Duration.Duration
  readonly rescueInterval: Duration.Duration
  readonly maxWorkerLosses: number
  readonly initializedTimeout: Duration.Duration
  readonly checkInterval: Duration.Duration
  readonly checkCallback: (tasks: ReadonlyArray<TaskRow>) => Effect.Effect<void>
  readonly scheduling: SchedulingPolicy.SchedulingPolicy
}

/**
 * The defaults: a bounded pool, a bounded stop, and timings that find a dead node within seconds.
 * @since 0.1.0
 * @category config
 */
export const defaults = {
  schema: defaultSchema,
  poolSize: 10,
  completionDelay: Duration.zero,
  scanInterval: Duration.seconds(5),
  runningTimeout: Duration.minutes(30),
  stopTimeout: Duration.seconds(30),
  migrate: true,
  listen: true,
  heartbeatInterval: Duration.seconds(2),
  nodeTimeout: Duration.seconds(10),
  rescueInterval: Duration.seconds(1),
  maxWorkerLosses: 3,
  initializedTimeout: Duration.minutes(5),
  checkInterval: Duration.minutes(1),
  checkCallback: (tasks: ReadonlyArray<TaskRow>): Effect.Effect<void> =>
    Effect.logWarning(
      `${tasks.length} abnormal task(s): waiting or running too long`,
      tasks.map((task) => ({ id: task.id, key: task.key, status: task.status }))
    ),
  scheduling: SchedulingPolicy.defaults
} as const


/** The adaptive claim-ahead buffer holds at most `max(poolSize, this)` tasks. */
const adaptiveClaimAheadMax = 32

const invalid = (option: string, reason: string) => Effect.fail(new InvalidTaskOptions({ option, reason }))

/** The options that are plain values, checked (durations decoded); the schema, callback and policy are checked apart. */
const OptionsSchema = Schema.Struct({
  poolSize: Schema.optional(PositiveInteger),
  claimBatchSize: Schema.optional(PositiveInteger),
  claimAhead: Schema.optional(IntegerIn(0, Number.MAX_SAFE_INTEGER)),
  completionDelay: Schema.optional(Delay),
  scanInterval: Schema.optional(PositiveDuration),
  runningTimeout: Schema.optional(PositiveDuration),
  stopTimeout: Schema.optional(PositiveDuration),
  migrate: Schema.optional(Flag),
  listen: Schema.optional(Flag),
  // A node id is a key of the node registry and is written to `claimed_by`: stored text, whole.
  nodeId: Schema.optional(BoundedText(200)),
  heartbeatInterval: Schema.optional(PositiveDuration),
  nodeTimeout: Schema.optional(PositiveDuration),
  rescueInterval: Schema.optional(PositiveDuration),
  maxWorkerLosses: Schema.optional(PositiveInteger),
  initializedTimeout: Schema.optional(PositiveDuration),
  checkInterval: Schema.optional(PositiveDuration)
})

const decodeOptions = decodeWith(OptionsSchema, (path, reason) => new InvalidTaskOptions({ option: path.join("."), reason }))

/**
 * Applies defaults and validates every option.
 * @since 0.1.0
 * @category config
 */
export const resolveOptions = (options: Options = {}): Effect.Effect<ResolvedOptions, InvalidTaskOptions> =>
  Effect.gen(function*() {
    const checked = yield* decodeOptions(options)
    const poolSize = checked.poolSize ?? defaults.poolSize
    const heartbeatInterval = checked.heartbeatInterval ?? defaults.heartbeatInterval
    const nodeTimeout = checked.nodeTimeout ?? defaults.nodeTimeout
    // A claim's lease is nodeTimeout − heartbeatInterval: it must outlast three heartbeats, so that
    // a slow beat never lets it lapse and the node can fence itself before it does.
    if (Duration.lessThan(nodeTimeout, Duration.times(heartbeatInterval, 4))) {
      return yield* invalid("nodeTimeout", "must be at least four times heartbeatInterval, or a live node could look dead")
    }
    const claimAhead = checked.claimAhead ?? Math.max(poolSize, adaptiveClaimAheadMax)
    const completionDelay = checked.completionDelay ?? defaults.completionDelay
    if (!Duration.lessThan(completionDelay, nodeTimeout)) {
      return yield* invalid("completionDelay", "must be shorter than nodeTimeout")
    }
    return {
      schema: yield* validateSchemaName(options.schema ?? defaults.schema),
      poolSize,
      claimBatchSize: checked.claimBatchSize ?? poolSize + claimAhead,
      claimAhead,
      isClaimAheadAdaptive: checked.claimAhead === undefined,
      completionDelay,
      scanInterval: checked.scanInterval ?? defaults.scanInterval,
      runningTimeout: checked.runningTimeout ?? defaults.runningTimeout,
      stopTimeout: checked.stopTimeout ?? defaults.stopTimeout,
      migrate: checked.migrate ?? defaults.migrate,
      listen: checked.listen ?? defaults.listen,
      nodeId: Option.fromNullable(checked.nodeId),
      heartbeatInterval,
      nodeTimeout,
      rescueInterval: checked.rescueInterval ?? defaults.rescueInterval,
      maxWorkerLosses: checked.maxWorkerLosses ?? defaults.maxWorkerLosses,
      initializedTimeout: checked.initializedTimeout ?? defaults.initializedTimeout,
      checkInterval: checked.checkInterval ?? defaults.checkInterval,
      checkCallback: options.checkCallback ?? defaults.checkCallback,
      scheduling: yield* SchedulingPolicy.validate(options.scheduling ?? defaults.scheduling)
    }
  })


/** Each `Option` as its value, or `undefined` when the key is unset (`resolveOptions` then applies the default). */
const orUndefined = <R extends { readonly [key: string]: Option.Option<unknown> }>(values: R) =>
  Object.fromEntries(Object.entries(values).map(([name, value]) => [name, Option.getOrUndefined(value)])) as {
    readonly [K in keyof R]: R[K] extends Option.Option<infer A> ? A | undefined : never
  }

/** An optional key of the configuration, described (`Config.withDescription`) for tools that list them. */
const key = <A>(read: Config.Config<A>, description: string) => Config.option(Config.withDescription(read, description))

/**
 * Reads `Options` from configuration: `EFFECT_TASKS_<NAME>`, each described (durations such as
 * `"5 seconds"`; `SCHEDULING` is `fair` or `strict-priority`). Unset keys take the defaults.
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<Options> = Config.all({
  schema: key(Config.string("SCHEMA"), "database schema of the task tables (a plain identifier)"),
  poolSize: key(Config.integer("POOL_SIZE"), "handlers running at once in this process"),
  claimBatchSize: key(Config.integer("CLAIM_BATCH_SIZE"), "most tasks claimed per statement (default poolSize + claimAhead)"),
  claimAhead: key(Config.integer("CLAIM_AHEAD"), "tasks claimed ahead of free handler slots (default adaptive)"),
  completionDelay: key(Config.duration("COMPLETION_DELAY"), "how long an attempt's end may wait to share a statement"),
  scanInterval: key(Config.duration("SCAN_INTERVAL"), "safety scan period, besides LISTEN/NOTIFY"),
  runningTimeout: key(Config.duration("RUNNING_TIMEOUT"), "attempt timeout of tasks that set none"),
  stopTimeout: key(Config.duration("STOP_TIMEOUT"), "how long a stop lets running handlers finish"),
  migrate: key(Config.boolean("MIGRATE"), "apply pending migrations at start"),
  listen: key(Config.boolean("LISTEN"), "LISTEN for enqueues (off: pickup waits for the scan)"),
  nodeId: key(Config.string("NODE_ID"), "this node's name (default host/pid/random)"),
  heartbeatInterval: key(Config.duration("HEARTBEAT_INTERVAL"), "how often the node renews its leases"),
  nodeTimeout: key(Config.duration("NODE_TIMEOUT"), "a node silent this long is dead (at least 4 heartbeats)"),
  rescueInterval: key(Config.duration("RESCUE_INTERVAL"), "how often the leader looks for lapsed claims"),
  maxWorkerLosses: key(Config.integer("MAX_WORKER_LOSSES"), "worker losses in a row that fail a task as poison"),
  initializedTimeout: key(Config.duration("INITIALIZED_TIMEOUT"), "the checker reports tasks due but not started this long"),
  checkInterval: key(Config.duration("CHECK_INTERVAL"), "how often the leader runs the abnormal-task check"),
  scheduling: key(Config.literal("fair", "strict-priority")("SCHEDULING"), "claim order: fair or strict-priority")
}).pipe(
  Config.nested("EFFECT_TASKS"),
  Config.map(({ scheduling, ...values }): Options => ({
    ...orUndefined(values),
    scheduling: Option.getOrUndefined(
      Option.map(scheduling, (name) => name === "fair" ? SchedulingPolicy.fair() : SchedulingPolicy.strictPriority)
    )
  }))
)
