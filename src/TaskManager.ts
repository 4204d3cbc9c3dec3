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
  FiberMap,
  FiberSet,
  Layer,
  Queue,
  Ref,
  Schedule,
  Scope
} from "effect"
import type { DatabaseSchema } from "./internal/store/tables.js"
import { makeChecker } from "./internal/maintenance/checker.js"
import { makeLeadership } from "./internal/maintenance/leadership.js"
import { makeNodeReaper, silentNodeRetention } from "./internal/maintenance/reaper.js"
import { makeRescuer } from "./internal/maintenance/rescuer.js"
import { makeClaimer } from "./internal/worker/claimer.js"
import { makeCompleter } from "./internal/worker/completer.js"
import { makeManagerClient } from "./internal/worker/ownClient.js"
import { makeExecutor } from "./internal/worker/executor.js"
import { makeHeartbeat } from "./internal/worker/heartbeat.js"
import * as managerOptions from "./internal/worker/options.js"
import { makeListener, wakeOnRegistryChanges } from "./internal/worker/listener.js"
import { makePhases } from "./internal/worker/running.js"
import { makeDeadlines } from "./internal/worker/deadlines.js"
import { registerNode } from "./internal/worker/node.js"
import { gracefulStop } from "./internal/worker/stop.js"
import { makeHandlerPace } from "./internal/worker/pace.js"
import { makeClaimSlots } from "./internal/worker/slots.js"
import * as supervisor from "./internal/worker/supervisor.js"
import type { IncompatibleSchema, InvalidTaskOptions, NodeIdInUse, TaskStoreError } from "./TaskError.js"
import * as TaskRegistry from "./TaskRegistry.js"
import * as TaskStore from "./TaskStore.js"

/**
 * What `TaskManager.layer` accepts. Every field is optional; `defaults` holds the values used.
 * @since 0.1.0
 * @category config
 */
export type Options = managerOptions.Options

/**
 * The options after defaults are applied.
 * @since 0.1.0
 * @category config
 */
export type ResolvedOptions = managerOptions.ResolvedOptions

/**
 * The defaults: a bounded pool, a bounded stop, and timings that find a dead node within seconds.
 * @since 0.1.0
 * @category config
 */
export const defaults = managerOptions.defaults

/**
 * Applies defaults and validates every option (`InvalidTaskOptions` names the option).
 * @since 0.1.0
 * @category config
 */
export const resolveOptions = managerOptions.resolveOptions

/**
 * Reads `Options` from configuration: `EFFECT_TASKS_<NAME>` in the environment (durations such as
 * `"5 seconds"`). Unset keys take the defaults.
 * @since 0.1.0
 * @category config
 */
export const config = managerOptions.config

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
  /** Whether this node leads maintenance (rescue, checks) now. */
  readonly isLeader: Effect.Effect<boolean>
  /** Each background fiber's last success and current error. */
  readonly health: Effect.Effect<ReadonlyArray<FiberHealth>>
}>() {}

/**
 * How one background fiber (claimer, heartbeat, rescuer, checker, ...) is doing.
 * @since 0.1.0
 * @category models
 */
export type FiberHealth = supervisor.FiberHealth

const retryWakeMargin = Duration.millis(10)

/**
 * Starts a manager in the current scope; closing the scope stops it gracefully.
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<
  TaskManager["Type"],
  InvalidTaskOptions | NodeIdInUse | TaskStoreError | IncompatibleSchema,
  Scope.Scope | SqlClient.SqlClient | PgClient.PgClient | TaskRegistry.TaskRegistry
> =>
  Effect.gen(function*() {
    const resolved = yield* resolveOptions(options)
    const registry = yield* TaskRegistry.TaskRegistry
    const own = yield* makeManagerClient(yield* PgClient.PgClient)
    // A transactional handler's transaction and success go through the application's client;
    // everything else the manager writes, attempts' ends included, through its own connections.
    const store = yield* TaskStore.make({ schema: resolved.schema })
    const control = yield* TaskStore.make({ schema: resolved.schema }).pipe(Effect.provideService(SqlClient.SqlClient, own))
    const { host, nodeId, registration } = yield* registerNode(control, resolved)

    const handlerSlots = yield* Effect.makeSemaphore(resolved.poolSize)
    const claimSlots = yield* makeClaimSlots(resolved.poolSize + resolved.claimAhead)
    const phases = yield* makePhases
    const pace = yield* makeHandlerPace
    const deadlines = yield* makeDeadlines
    const running = yield* FiberMap.make<string, void, never>()
    const wakeups = yield* Queue.sliding<void>(1)
    const board = yield* supervisor.makeHealthBoard
    const leadership = yield* makeLeadership
    const leaseDuration = Duration.subtract(resolved.nodeTimeout, resolved.heartbeatInterval)
    // Three lifetimes, closed in this order on stop: claiming; then (after running attempts are
    // done) the node's heartbeat and maintenance; then the node itself.
    const claimScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
    const nodeScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
    const retryTimers = yield* FiberSet.make<void>().pipe(Scope.extend(claimScope))
    const wake = Queue.offer(wakeups, undefined).pipe(Effect.asVoid)
    // Made before the stop's finalizer, so it outlives the executors the stop waits for.
    // Ends waiting to be written, at most: beyond it the claimer claims nothing more.
    const maxEndsPending = Math.max(claimSlots.capacity, Duration.toMillis(resolved.completionDelay) > 0 ? 1000 : 100)
    // A held batch is written once it holds half that: claims go on while it is written.
    const completer = yield* makeCompleter({
      store: control,
      maxBatch: Math.ceil(maxEndsPending / 2),
      delay: resolved.completionDelay
    })
    const execute = makeExecutor({
      store,
      complete: completer.complete,
      registry,
      defaultTimeout: resolved.runningTimeout,
      handlerSlots,
      claimSlots,
      phases,
      pace,
      deadlines,
      maxWaitForSlot: Duration.times(resolved.nodeTimeout, 0.5),
      // The row's run_at is the database's now() + delay, written before this timer starts.
      wakeAfter: (delay) =>
        FiberSet.run(retryTimers, Effect.zipRight(Effect.sleep(Duration.sum(delay, retryWakeMargin)), wake)).pipe(
          Effect.asVoid
        )
    })
    const claimer = yield* makeClaimer({
      store: control,
      registry,
      claimSlots,
      phases,
      maxEndsPending,
      poolSize: resolved.poolSize,
      claimAhead: resolved.claimAhead,
      isClaimAheadAdaptive: resolved.isClaimAheadAdaptive,
      pace,
      claimBatchSize: resolved.claimBatchSize,
      policy: resolved.scheduling,
      nodeId,
      registration,
      leaseDuration,
      defaultTimeout: resolved.runningTimeout,
      deadlineGrace: resolved.nodeTimeout,
      scanInterval: resolved.scanInterval,
      running,
      execute,
      wakeups,
      board
    })
    const heartbeat = yield* makeHeartbeat({
      store: control,
      nodeId,
      host,
      pid: process.pid,
      nodeTimeout: resolved.nodeTimeout,
      registration,
      running,
      phases,
      leaseDuration,
      heartbeatInterval: resolved.heartbeatInterval,
      leadership
    })
    const rescuer = makeRescuer({
      store: control,
      registration,
      leadership,
      leaderLeaseDuration: leaseDuration,
      maxWorkerLosses: resolved.maxWorkerLosses,
      batchSize: 1000
    })
    const checker = makeChecker({
      store: control,
      leadership,
      initializedTimeout: resolved.initializedTimeout,
      runningTimeout: resolved.runningTimeout,
      limit: 100,
      checkCallback: resolved.checkCallback
    })
    const reaper = makeNodeReaper({ store: control, leadership, retention: silentNodeRetention })

    yield* Effect.addFinalizer(() =>
      gracefulStop({
        nodeId,
        store: control,
        claimScope,
        nodeScope,
        running,
        phases,
        registration,
        stopTimeout: resolved.stopTimeout
      })
    )

    yield* Effect.forkIn(supervisor.superviseEvery(board, "heartbeat", Schedule.forever, heartbeat.round), nodeScope)
    yield* Effect.forkIn(heartbeat.fence, nodeScope)
    yield* Effect.forkIn(supervisor.superviseEvery(board, "rescuer", Schedule.spaced(resolved.rescueInterval), rescuer), nodeScope)
    yield* Effect.forkIn(supervisor.superviseEvery(board, "checker", Schedule.spaced(resolved.checkInterval), checker), nodeScope)
    yield* Effect.forkIn(supervisor.superviseEvery(board, "reaper", Schedule.spaced(resolved.checkInterval), reaper), nodeScope)
    yield* Effect.forkIn(claimer.loop, claimScope)
    yield* Effect.forkIn(wakeOnRegistryChanges(registry, wakeups), claimScope)
    if (resolved.listen) {
      yield* Effect.forkIn(
        makeListener({
          pg: own,
          channel: control.channel,
          nodeId,
          registry,
          wakeups,
          pingInterval: resolved.heartbeatInterval,
          board
        }).pipe(Effect.provideService(SqlClient.SqlClient, own)),
        claimScope
      )
    }
    yield* Effect.logDebug("task manager started").pipe(Effect.annotateLogs({ module: "TaskManager", nodeId }))

    return {
      nodeId,
      options: resolved,
      running: phases.count("running"),
      wake,
      isLeader: leadership.isLeader,
      health: Effect.map(Ref.get(board), (fibers) => Array.from(fibers.values()))
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
  InvalidTaskOptions | NodeIdInUse | TaskStoreError | IncompatibleSchema,
  SqlClient.SqlClient | PgClient.PgClient
> =>
  Layer.scoped(TaskManager, make(options)).pipe(
    Layer.provideMerge(Layer.effect(TaskRegistry.TaskRegistry, TaskRegistry.make)),
    Layer.merge(TaskStore.layerDatabaseSchema(options.schema ?? defaults.schema))
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
