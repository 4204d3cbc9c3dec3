import { Context, Duration, Effect, Option, Schema } from "effect"
import { InvalidTaskOptions } from "../../TaskError.js"
import * as SchedulingPolicy from "../../SchedulingPolicy.js"
import type { TaskRow } from "../store/taskRow.js"
import { defaultSchema, validateSchemaName } from "../store/tables.js"
import { BoundedText, decodeWith, Delay, Flag, IntegerIn, PositiveDuration, PositiveInteger, Retention } from "../validation.js"

/**
 * The worker's settings, one documented field each. `Options` is this record with every field
 * optional (durations as any `DurationInput`); `ResolvedOptions` is what a running manager uses.
 */
export interface Settings {
  /** Database schema of the task tables (a plain identifier). */
  readonly schema: string
  /** Handlers running at once in this process (the Semaphore's permits). Keep the SqlClient's `maxConnections` above it. */
  readonly poolSize: number
  /** Most tasks claimed per statement. Default: `poolSize + claimAhead`. Larger batches claim faster, smaller ones spread work across nodes. */
  readonly claimBatchSize: number
  /**
   * Tasks claimed ahead of free handler slots, started the moment a handler ends (in claim order;
   * handed back at once on stop). Default: adaptive, as many as the handlers start within 20 ms at
   * their recent pace (`poolSize` until a handler has ended), at least 1 and at most
   * `max(poolSize, 32)`: short tasks are claimed many per statement, long ones are left to other
   * nodes. A number fixes it: more keeps handlers busy while the next claim runs; fewer leaves
   * waiting work to other nodes.
   */
  readonly claimAhead: number
  /**
   * How long the end of an attempt may wait to be written in one statement with others. Default: 0,
   * each end is written as soon as its handler ends (ends that come together still share a
   * statement). Longer means far fewer commits under load, at a cost: a task's result is visible
   * that much later, a graceful stop waits for it, and if the process dies the attempts that ended
   * within that window run again (at least once still holds).
   */
  readonly completionDelay: Duration.Duration
  /** Safety scan period (jittered +0–20 %). NOTIFY makes pickup immediate; the scan catches what NOTIFY missed. */
  readonly scanInterval: Duration.Duration
  /** Attempt timeout for tasks that set none; also how long a task may run before the checker reports it. */
  readonly runningTimeout: Duration.Duration
  /** On stop, how long running handlers may finish before they are interrupted and handed back. */
  readonly stopTimeout: Duration.Duration
  /** Apply pending migrations at start (under an advisory lock). Turn off when migrations are run by a deploy step. */
  readonly migrate: boolean
  /** LISTEN for enqueues. Off means pickup waits for the scan. */
  readonly listen: boolean
  /** This node's name in `claimed_by`. Default: host/pid/random. */
  readonly nodeId: string
  /** How often the node marks itself alive and renews the leases of its running attempts. */
  readonly heartbeatInterval: Duration.Duration
  /** A node silent this long is dead: its claims have lapsed and other nodes take its tasks. At least four times `heartbeatInterval`. Shorter detects deaths sooner but tolerates shorter database or event-loop stalls. */
  readonly nodeTimeout: Duration.Duration
  /** How often the maintenance leader looks for lapsed claims. */
  readonly rescueInterval: Duration.Duration
  /** A task that loses its worker this many times in a row is failed as poison. */
  readonly maxWorkerLosses: number
  /** The checker reports tasks due but not started for this long. */
  readonly initializedTimeout: Duration.Duration
  /** How often the maintenance leader runs the abnormal-task check. */
  readonly checkInterval: Duration.Duration
  /** How often the maintenance leader sets the per-queue gauges (waiting, running, oldest due wait) from one statement. */
  readonly gaugeInterval: Duration.Duration
  /** Receives the abnormal tasks found by each check (at most 100). Default: a warning in the log. */
  readonly checkCallback: (tasks: ReadonlyArray<TaskRow>) => Effect.Effect<void>
  /** Which runnable task is claimed next: `SchedulingPolicy.fair()` (turns between queues and owners) or `strictPriority`. */
  readonly scheduling: SchedulingPolicy.SchedulingPolicy
  /** How long a `succeeded` task is kept after it finished; the maintenance leader then deletes it. `"forever"` keeps it. */
  readonly keepSucceeded: Duration.Duration
  /** How long a `failed` or `canceled` task is kept after it finished; the maintenance leader then deletes it. `"forever"` keeps it. */
  readonly keepFailed: Duration.Duration
}

/** The settings that accept `"forever"` (an infinite duration). */
type Retentions = "keepSucceeded" | "keepFailed"

/** What `TaskManager.layer` accepts: every setting optional, durations as any `DurationInput`. */
export type Options = {
  readonly [K in keyof Settings]?:
    | (K extends Retentions ? Duration.DurationInput | "forever"
      : Settings[K] extends Duration.Duration ? Duration.DurationInput
      : Settings[K])
    | undefined
}

/** The settings a running manager uses: defaults applied, every value checked. */
export interface ResolvedOptions extends Omit<Settings, "nodeId"> {
  /** The node id asked for; none means a generated one. */
  readonly nodeId: Option.Option<string>
  /** Whether the claim-ahead buffer follows the handlers' pace (`claimAhead` was not set); `claimAhead` is then its most. */
  readonly isClaimAheadAdaptive: boolean
}

/** The settings of the manager in this scope. */
export class ManagerConfig extends Context.Tag("effect-tasks/ManagerConfig")<ManagerConfig, ResolvedOptions>() {}

/**
 * The defaults of every setting that has a fixed one (`claimBatchSize`, `claimAhead` and `nodeId`
 * are derived), and the library's fixed tunings: a bounded pool, a bounded stop, and timings that
 * find a dead node within seconds.
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
  gaugeInterval: Duration.seconds(10),
  checkCallback: (tasks: ReadonlyArray<TaskRow>): Effect.Effect<void> =>
    Effect.logWarning(
      `${tasks.length} abnormal task(s): waiting or running too long`,
      tasks.map((task) => ({ id: task.id, key: task.key, status: task.status }))
    ),
  scheduling: SchedulingPolicy.defaults,
  keepSucceeded: Duration.days(1),
  keepFailed: Duration.days(7)
} as const

/** Fixed values of the worker that are not options, in one place. */
export const tuning = {
  /** The adaptive claim-ahead buffer holds at most `max(poolSize, this)` tasks. */
  adaptiveClaimAheadMax: 32,
  /** The adaptive buffer holds as many tasks as the handlers start within this window. */
  claimAheadWindowMillis: 20,
  /** A delayed task is looked for this long after it falls due, so that it is due by the database's clock. */
  dueMargin: Duration.millis(5),
  /** The same margin for a retry's wake-up. */
  retryWakeMargin: Duration.millis(10),
  /** Rows the rescuer and the child settler change per statement. */
  maintenanceBatchSize: 1000,
  /** The most abnormal tasks one check reports. */
  checkLimit: 100,
  /** How long a node row outlives its last heartbeat before the reaper forgets it. */
  silentNodeRetention: Duration.hours(1),
  /** How long a stop waits for the hand-back of interrupted attempts. */
  handBackTimeout: Duration.seconds(5),
  /** Finished tasks the cleaner deletes per statement, and statements per round at most (up to 1,000,000 rows a round: more than a worker finishes between two rounds). */
  cleanBatchSize: 1000,
  cleanMaxBatches: 1000,
  /** Connections of the worker's own pool (claims, ends, heartbeats, maintenance). */
  ownConnections: 4
} as const

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
  checkInterval: Schema.optional(PositiveDuration),
  gaugeInterval: Schema.optional(PositiveDuration),
  keepSucceeded: Schema.optional(Retention),
  keepFailed: Schema.optional(Retention)
})

const decodeOptions = decodeWith(OptionsSchema, (path, reason) => new InvalidTaskOptions({ option: path.join("."), reason }))

/** The fields that are set (`undefined` means "take the default"). */
const definedOnly = <A extends object>(values: A) =>
  Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as {
    readonly [K in keyof A]?: Exclude<A[K], undefined>
  }

/** Applies defaults and validates every option (`InvalidTaskOptions` names the option). */
export const resolveOptions = (options: Options = {}): Effect.Effect<ResolvedOptions, InvalidTaskOptions> =>
  Effect.gen(function*() {
    const { claimAhead, claimBatchSize, nodeId, ...set } = definedOnly(yield* decodeOptions(options))
    const settings = { ...defaults, ...set }
    // A claim's lease is nodeTimeout − heartbeatInterval: it must outlast three heartbeats, so that
    // a slow beat never lets it lapse and the node can fence itself before it does.
    if (Duration.lessThan(settings.nodeTimeout, Duration.times(settings.heartbeatInterval, 4))) {
      return yield* invalid("nodeTimeout", "must be at least four times heartbeatInterval, or a live node could look dead")
    }
    if (!Duration.lessThan(settings.completionDelay, settings.nodeTimeout)) {
      return yield* invalid("completionDelay", "must be shorter than nodeTimeout")
    }
    const ahead = claimAhead ?? Math.max(settings.poolSize, tuning.adaptiveClaimAheadMax)
    return {
      ...settings,
      schema: yield* validateSchemaName(options.schema ?? defaults.schema),
      claimBatchSize: claimBatchSize ?? settings.poolSize + ahead,
      claimAhead: ahead,
      isClaimAheadAdaptive: claimAhead === undefined,
      nodeId: Option.fromNullable(nodeId),
      checkCallback: options.checkCallback ?? defaults.checkCallback,
      scheduling: yield* SchedulingPolicy.validate(options.scheduling ?? defaults.scheduling)
    }
  })
