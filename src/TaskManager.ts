/**
 * The worker: a scoped Layer that claims tasks this process has handlers for and runs them in a
 * bounded pool. It is woken by LISTEN/NOTIFY when a task is committed and also scans every
 * `scanInterval`, so a lost notification only costs latency. Closing its scope is the graceful
 * stop: stop claiming, let running handlers finish up to `stopTimeout`, interrupt the rest and hand
 * their tasks back (the interrupted attempt is not counted), then hand back anything this node
 * still holds. After a stop no task of this node is left `running`, unless the database is
 * unreachable at that moment.
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import {
  Config,
  Context,
  Duration,
  Effect,
  ExecutionStrategy,
  Exit,
  FiberSet,
  Layer,
  Option,
  Queue,
  Random,
  Scope
} from "effect"
import * as os from "node:os"
import { DatabaseSchema, defaultSchema, validateSchemaName } from "./internal/store/tables.js"
import { makeClaimer } from "./internal/worker/claimer.js"
import { makeExecutor } from "./internal/worker/executor.js"
import { makeListener, wakeOnRegistryChanges } from "./internal/worker/listener.js"
import { type IncompatibleSchema, InvalidTaskOptions, type TaskStoreError } from "./TaskError.js"
import * as TaskRegistry from "./TaskRegistry.js"
import * as TaskStore from "./TaskStore.js"

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
  /** Most tasks claimed per statement. Default: `poolSize`. Larger batches claim faster, smaller ones spread work across nodes. */
  readonly claimBatchSize?: number | undefined
  /** Safety scan period (jittered +0–20 %). NOTIFY makes pickup immediate; the scan catches what NOTIFY missed. */
  readonly scanInterval?: Duration.DurationInput | undefined
  /** Attempt timeout for tasks that set none, and the length of a claim's lease. */
  readonly runningTimeout?: Duration.DurationInput | undefined
  /** On stop, how long running handlers may finish before they are interrupted and handed back. */
  readonly stopTimeout?: Duration.DurationInput | undefined
  /** Apply pending migrations at start (under an advisory lock). Turn off when migrations are run by a deploy step. */
  readonly migrate?: boolean | undefined
  /** LISTEN for enqueues. Off means pickup waits for the scan. */
  readonly listen?: boolean | undefined
  /** This node's name in `claimed_by`. Default: host/pid/random. */
  readonly nodeId?: string | undefined
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
  readonly scanInterval: Duration.Duration
  readonly runningTimeout: Duration.Duration
  readonly stopTimeout: Duration.Duration
  readonly migrate: boolean
  readonly listen: boolean
  readonly nodeId: Option.Option<string>
}

/**
 * The defaults (gta's where they apply; its pool size of 2³¹ and endless stop wait are not kept).
 * @since 0.1.0
 * @category config
 */
export const defaults = {
  schema: defaultSchema,
  poolSize: 10,
  scanInterval: Duration.seconds(5),
  runningTimeout: Duration.minutes(30),
  stopTimeout: Duration.seconds(30),
  migrate: true,
  listen: true
} as const

/**
 * @since 0.1.0
 * @category services
 */
export class TaskManager extends Context.Tag("effect-tasks/TaskManager")<TaskManager, {
  /** This node's name, as written to `claimed_by`. */
  readonly nodeId: string
  /** The options in force. */
  readonly options: ResolvedOptions
  /** How many handlers run now. */
  readonly running: Effect.Effect<number>
  /** Asks the claimer to look for work now, without waiting for NOTIFY or the scan. */
  readonly wake: Effect.Effect<void>
}>() {}

const invalid = (option: string, reason: string) => Effect.fail(new InvalidTaskOptions({ option, reason }))

const positiveInteger = (option: string, value: number) =>
  Number.isInteger(value) && value >= 1 ? Effect.succeed(value) : invalid(option, `must be an integer ≥ 1, got ${value}`)

const positiveDuration = (option: string, value: Duration.DurationInput) =>
  Option.match(Duration.decodeUnknown(value), {
    onNone: () => invalid(option, `is not a duration: ${String(value)}`),
    onSome: (duration) =>
      Duration.toMillis(duration) > 0 && Duration.isFinite(duration)
        ? Effect.succeed(duration)
        : invalid(option, `must be a positive, finite duration, got ${String(value)}`)
  })

/**
 * Applies defaults and validates every option.
 * @since 0.1.0
 * @category config
 */
export const resolveOptions = (options: Options = {}): Effect.Effect<ResolvedOptions, InvalidTaskOptions> =>
  Effect.gen(function*() {
    const poolSize = yield* positiveInteger("poolSize", options.poolSize ?? defaults.poolSize)
    return {
      schema: yield* validateSchemaName(options.schema ?? defaults.schema),
      poolSize,
      claimBatchSize: yield* positiveInteger("claimBatchSize", options.claimBatchSize ?? poolSize),
      scanInterval: yield* positiveDuration("scanInterval", options.scanInterval ?? defaults.scanInterval),
      runningTimeout: yield* positiveDuration("runningTimeout", options.runningTimeout ?? defaults.runningTimeout),
      stopTimeout: yield* positiveDuration("stopTimeout", options.stopTimeout ?? defaults.stopTimeout),
      migrate: options.migrate ?? defaults.migrate,
      listen: options.listen ?? defaults.listen,
      nodeId: Option.fromNullable(options.nodeId)
    }
  })

const retryWakeMargin = Duration.millis(10)

/** How long a stop waits for interrupted handlers to write their hand-back before doing it itself. */
const handBackTimeout = Duration.seconds(5)

const generatedNodeId = Effect.map(
  Random.nextIntBetween(0, 36 ** 6),
  (n) => `${os.hostname()}/${process.pid}/${n.toString(36).padStart(6, "0")}`
)

/**
 * Starts a manager in the current scope; closing the scope stops it gracefully.
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<
  TaskManager["Type"],
  InvalidTaskOptions | TaskStoreError | IncompatibleSchema,
  Scope.Scope | SqlClient.SqlClient | PgClient.PgClient | TaskRegistry.TaskRegistry
> =>
  Effect.gen(function*() {
    const resolved = yield* resolveOptions(options)
    const pg = yield* PgClient.PgClient
    const registry = yield* TaskRegistry.TaskRegistry
    const store = yield* TaskStore.make({ schema: resolved.schema })
    yield* resolved.migrate ? store.migrate : store.verifyVersion
    const nodeId = Option.isSome(resolved.nodeId) ? resolved.nodeId.value : yield* generatedNodeId

    const pool = yield* Effect.makeSemaphore(resolved.poolSize)
    const running = yield* FiberSet.make<void>()
    const wakeups = yield* Queue.sliding<void>(1)
    // Claiming lives in its own scope, closed first on stop; running handlers live in `running`.
    const claimScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
    const retryTimers = yield* FiberSet.make<void>().pipe(Scope.extend(claimScope))
    const wake = Queue.offer(wakeups, undefined).pipe(Effect.asVoid)
    const execute = makeExecutor({
      store,
      registry,
      pool,
      defaultTimeout: resolved.runningTimeout,
      // The row's run_at is the database's now() + delay, written before this timer starts.
      wakeAfter: (delay) =>
        FiberSet.run(retryTimers, Effect.zipRight(Effect.sleep(Duration.sum(delay, retryWakeMargin)), wake)).pipe(
          Effect.asVoid
        )
    })
    const claimer = makeClaimer({
      store,
      registry,
      pool,
      poolSize: resolved.poolSize,
      claimBatchSize: resolved.claimBatchSize,
      nodeId,
      leaseDuration: resolved.runningTimeout,
      scanInterval: resolved.scanInterval,
      running,
      execute,
      wakeups
    })

    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        yield* Scope.close(claimScope, Exit.void)
        const drained = yield* FiberSet.awaitEmpty(running).pipe(
          // Finalizers are uninterruptible; without this the timeout could never interrupt the wait.
          Effect.interruptible,
          Effect.timeoutOption(resolved.stopTimeout)
        )
        if (Option.isNone(drained)) {
          const left = yield* FiberSet.size(running)
          yield* Effect.logWarning(`stop timeout reached: interrupting ${left} running task(s) and handing them back`)
          // Each interrupted executor writes its own hand-back; waiting for that is bounded too.
          yield* FiberSet.clear(running).pipe(Effect.interruptible, Effect.timeoutOption(handBackTimeout))
        }
        // Whatever this node still holds (a write that failed, a claim cut short) goes back now.
        const released = yield* store.releaseClaimedBy(nodeId).pipe(
          Effect.catchAll((error) =>
            Effect.as(Effect.logError("could not hand back this node's claims", error.message), [])
          )
        )
        if (released.length > 0) {
          yield* Effect.logWarning(`handed back ${released.length} task(s) whose outcome was not recorded`, released)
        }
      }).pipe(
        Effect.withSpan("TaskManager.stop", { attributes: { "node.id": nodeId } }),
        Effect.annotateLogs({ module: "TaskManager", nodeId })
      )
    )

    yield* Effect.forkIn(claimer.loop, claimScope)
    yield* Effect.forkIn(wakeOnRegistryChanges(registry, wakeups), claimScope)
    if (resolved.listen) {
      yield* Effect.forkIn(makeListener({ pg, channel: store.channel, registry, wakeups }), claimScope)
    }
    yield* Effect.logDebug("task manager started").pipe(Effect.annotateLogs({ module: "TaskManager", nodeId }))

    return {
      nodeId,
      options: resolved,
      running: FiberSet.size(running),
      wake
    }
  })

/**
 * The worker Layer. It provides the `TaskManager`, the `TaskRegistry` that handler Layers register
 * into, and the `DatabaseSchema` that `Tasks.run` reads. Build handler Layers on top of it, and
 * provide the services handlers use below it, so they outlive the graceful stop:
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { TaskManager } from "effect-tasks"
 * import { SendReceiptLive } from "./tasks.js"
 * import { DatabaseLive, MailerLive } from "./services.js"
 *
 * const WorkerLive = SendReceiptLive.pipe(
 *   Layer.provideMerge(TaskManager.layer({ poolSize: 20 })),
 *   Layer.provide(MailerLive),
 *   Layer.provide(DatabaseLive)
 * )
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<
  TaskManager | TaskRegistry.TaskRegistry | DatabaseSchema,
  InvalidTaskOptions | TaskStoreError | IncompatibleSchema,
  SqlClient.SqlClient | PgClient.PgClient
> =>
  Layer.scoped(TaskManager, make(options)).pipe(
    Layer.provideMerge(Layer.effect(TaskRegistry.TaskRegistry, TaskRegistry.make)),
    Layer.merge(TaskStore.layerDatabaseSchema(options.schema ?? defaults.schema))
  )

/**
 * Reads `Options` from configuration: `EFFECT_TASKS_SCHEMA`, `EFFECT_TASKS_POOL_SIZE`,
 * `EFFECT_TASKS_CLAIM_BATCH_SIZE`, `EFFECT_TASKS_SCAN_INTERVAL`, `EFFECT_TASKS_RUNNING_TIMEOUT`,
 * `EFFECT_TASKS_STOP_TIMEOUT` (durations such as `"5 seconds"`), `EFFECT_TASKS_MIGRATE`,
 * `EFFECT_TASKS_LISTEN`, `EFFECT_TASKS_NODE_ID`. Unset keys take the defaults.
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<Options> = Config.all({
  schema: Config.option(Config.string("SCHEMA")),
  poolSize: Config.option(Config.integer("POOL_SIZE")),
  claimBatchSize: Config.option(Config.integer("CLAIM_BATCH_SIZE")),
  scanInterval: Config.option(Config.duration("SCAN_INTERVAL")),
  runningTimeout: Config.option(Config.duration("RUNNING_TIMEOUT")),
  stopTimeout: Config.option(Config.duration("STOP_TIMEOUT")),
  migrate: Config.option(Config.boolean("MIGRATE")),
  listen: Config.option(Config.boolean("LISTEN")),
  nodeId: Config.option(Config.string("NODE_ID"))
}).pipe(
  Config.nested("EFFECT_TASKS"),
  Config.map((values): Options => ({
    schema: Option.getOrUndefined(values.schema),
    poolSize: Option.getOrUndefined(values.poolSize),
    claimBatchSize: Option.getOrUndefined(values.claimBatchSize),
    scanInterval: Option.getOrUndefined(values.scanInterval),
    runningTimeout: Option.getOrUndefined(values.runningTimeout),
    stopTimeout: Option.getOrUndefined(values.stopTimeout),
    migrate: Option.getOrUndefined(values.migrate),
    listen: Option.getOrUndefined(values.listen),
    nodeId: Option.getOrUndefined(values.nodeId)
  }))
)

/**
 * The worker Layer with its options read from a `Config` (by default, `config`).
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (options: Config.Config<Options> = config) => Layer.unwrapEffect(Effect.map(options, layer))

/**
 * `TaskManager.layerConfig()`: the worker Layer configured from the environment.
 * @since 0.1.0
 * @category layers
 */
export const TaskManagerLive = layerConfig()
