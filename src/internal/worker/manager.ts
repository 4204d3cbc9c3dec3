import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Duration, Effect, ExecutionStrategy, FiberMap, Option, Queue, Ref, Schedule, Scope } from "effect"
import { makeSpanMaker } from "../observability/spans.js"
import { applicationTracer, untraced, withApplicationTracer } from "../observability/trace.js"
import { type IncompatibleSchema, InvalidTaskOptions, type NodeIdInUse, type TaskStoreError } from "../../TaskError.js"
import type { TaskManager } from "../../TaskManager.js"
import * as TaskRegistry from "../../TaskRegistry.js"
import { storeOf, TaskStore } from "../store/service.js"
import { makeStore } from "../store/store.js"
import { makeChecker } from "../maintenance/checker.js"
import { makeCleaner } from "../maintenance/cleaner.js"
import { makeQueueGauges } from "../maintenance/gauges.js"
import { makeLeadership, roundSpan } from "../maintenance/leadership.js"
import { makeNodeReaper } from "../maintenance/reaper.js"
import { makeElector } from "../maintenance/elector.js"
import { makeRescuer } from "../maintenance/rescuer.js"
import { makeChildSettler, makeStaleWaitFreer } from "../maintenance/settler.js"
import { makeClaimer } from "./claimer.js"
import { makeCompleter } from "./completer.js"
import { makeDueSoon } from "./dueSoon.js"
import { makeDeadlines } from "./deadlines.js"
import { makeExecutor } from "./executor.js"
import { makeHeartbeat } from "./heartbeat.js"
import { makeListener, wakeOnRegistryChanges } from "./listener.js"
import { registerNode } from "./node.js"
import { makeManagerClient } from "./ownClient.js"
import { makeHandlerPace } from "./pace.js"
import { makePhases, stopUnended } from "./running.js"
import { makeKeepFor, syncRetention } from "./retention.js"
import { makeClaimSlots } from "./slots.js"
import { gracefulStop } from "./stop.js"
import * as supervisor from "./supervisor.js"
import { tuning, type ResolvedOptions } from "../config/settings.js"

/**
 * Ends of attempts waiting to be written, at most, beyond which the claimer claims nothing more:
 * room for a full claim when each end is written at once, and for a whole window of ends when
 * ends are held back to share a statement (`completionDelay`).
 */
const maxEndsPendingFor = (claimSlots: number, completionDelay: Duration.Duration) =>
  Math.max(claimSlots, Duration.toMillis(completionDelay) > 0 ? 1000 : 100)

/**
 * The `TaskStore` in context (the one `TaskManager.layer` provides), or else the PostgreSQL store
 * over the application's `SqlClient`; it must work in the schema the options name.
 */
const storeFor = (schema: string) =>
  Effect.serviceOption(TaskStore).pipe(
    Effect.flatMap(Option.match({ onSome: storeOf, onNone: () => makeStore({ schema }) })),
    Effect.filterOrFail(
      (store) => store.schema === schema,
      (store) =>
        new InvalidTaskOptions({ option: "schema", reason: `"${schema}" differs from the TaskStore in context ("${store.schema}")` })
    )
  )

/**
 * The worker's duties wired together and forked in the current scope, whose close is the graceful
 * stop: the claimer and listener live in a claim scope closed first; the heartbeat,
 * fence and maintenance in a node scope closed once no attempt runs.
 */
export const startManager = (
  resolved: ResolvedOptions
): Effect.Effect<
  TaskManager["Type"],
  InvalidTaskOptions | NodeIdInUse | TaskStoreError | IncompatibleSchema,
  Scope.Scope | SqlClient.SqlClient | PgClient.PgClient | TaskRegistry.TaskRegistry
> =>
  Effect.gen(function*() {
    // The application's tracer (spans only with one it provides), kept for attempts and
    // maintenance rounds: the manager's own polling (claims, heartbeats, LISTEN, writes of ends)
    // runs untraced, so no spans flood a trace backend.
    const tracer = yield* applicationTracer
    const spans = tracer === undefined ? undefined : yield* makeSpanMaker(tracer)
    const registry = yield* TaskRegistry.TaskRegistry
    const own = yield* makeManagerClient(yield* PgClient.PgClient)
    // A transactional handler's transaction and success go through the application's client;
    // everything else the manager writes, attempts' ends included, through its own connections.
    const store = yield* storeFor(resolved.schema)
    const control = store.forClient(own)
    const { host, nodeId, registration } = yield* registerNode(control, resolved)

    const handlerSlots = yield* Effect.makeSemaphore(resolved.poolSize)
    const claimSlots = yield* makeClaimSlots(resolved.poolSize + resolved.claimAhead)
    const phases = yield* makePhases
    const pace = yield* makeHandlerPace
    const deadlines = yield* untraced(makeDeadlines)
    const running = yield* FiberMap.make<string, void, never>()
    const wakeups = yield* Queue.sliding<void>(1)
    const board = yield* supervisor.makeHealthBoard
    const leadership = yield* makeLeadership
    const leaseDuration = Duration.subtract(resolved.nodeTimeout, resolved.heartbeatInterval)
    // Three lifetimes, closed in this order on stop: claiming; then (after running attempts are
    // done) the node's heartbeat and maintenance; then the node itself.
    const claimScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
    const nodeScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
    const dueSoon = yield* makeDueSoon(tuning.retryWakeMargin)
    const wake = Queue.offer(wakeups, undefined).pipe(Effect.asVoid)
    // Made before the stop's finalizer, so it outlives the executors the stop waits for.
    // Ends waiting to be written, at most: beyond it the claimer claims nothing more.
    const maxEndsPending = maxEndsPendingFor(claimSlots.capacity, resolved.completionDelay)
    // A held batch is written once it holds half that: claims go on while it is written.
    const completer = yield* makeCompleter({
      store: control,
      maxBatch: Math.ceil(maxEndsPending / 2),
      delay: resolved.completionDelay,
      spans
    })
    const keepOfTask = makeKeepFor(resolved)
    const execute = makeExecutor({
      store,
      complete: completer.complete,
      nodeId,
      spans,
      registry,
      defaultTimeout: resolved.runningTimeout,
      handlerSlots,
      claimSlots,
      phases,
      pace,
      deadlines,
      maxWaitForSlot: Duration.times(resolved.nodeTimeout, 0.5),
      // Recorded once the row's run_at (the database's now() + delay) is written.
      wakeAfter: dueSoon.record,
      saveState: control.saveAttemptState,
      keepFor: (key) =>
        Effect.map(registry.get(key), (entry) =>
          Option.match(entry, { onNone: () => null, onSome: ({ task }) => keepOfTask(task) }))
    })
    // Attempts are forked from the manager's start, with the application's tracer (tracing off
    // when it made spans nobody would see: a handler may still turn it on for its own spans),
    // not from the untraced claimer: no tracer is switched per attempt (a FiberRef change costs
    // more than a span), and the manager's own fibers pay no tracer's hook at each step.
    const forkAttempt = yield* FiberMap.runtime(running)<never>().pipe(
      tracer === undefined ? Effect.withTracerEnabled(false) : withApplicationTracer(tracer)
    )
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
      start: (claim) => forkAttempt(claim.claimToken, execute(claim)),
      wakeups,
      dueSoon,
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
      leadership,
      keys: registry.runnableKeys
    })
    // Each leader round in a span of its own (`effect_tasks.rescue`, ...), where tracing is on.
    const spanned = (name: string) => roundSpan(leadership, name, tracer)
    // One maintenance round every rescueInterval: elect, then (as leader) rescue and settle children.
    const maintenance = Effect.zipRight(
      makeElector({ store: control, registration, leadership, leaseDuration }),
      spanned("rescue")(Effect.zipRight(
        makeRescuer({ store: control, leadership, maxWorkerLosses: resolved.maxWorkerLosses, batchSize: tuning.maintenanceBatchSize }),
        makeChildSettler({ store: control, leadership, batchSize: tuning.maintenanceBatchSize })
      ))
    )
    const check = makeChecker({
      store: control,
      leadership,
      initializedTimeout: resolved.initializedTimeout,
      runningTimeout: resolved.runningTimeout,
      limit: tuning.checkLimit,
      checkCallback: resolved.checkCallback
    })
    // Stale waits are freed just before each check, so the check does not report those children.
    const checker = spanned("check")(
      Effect.zipRight(makeStaleWaitFreer({ store: control, leadership, batchSize: tuning.checkLimit }), check)
    )
    const reaper = spanned("reap")(makeNodeReaper({ store: control, leadership, retention: tuning.silentNodeRetention }))
    const cleaner = spanned("clean")(
      makeCleaner({ store: control, leadership, batchSize: tuning.cleanBatchSize, maxBatches: tuning.cleanMaxBatches })
    )
    const gauges = makeQueueGauges({ store: control, leadership })
    yield* Scope.addFinalizer(nodeScope, gauges.reset)

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

    const background = (fiber: Effect.Effect<unknown, never, never>, scope: Scope.Scope) => Effect.forkIn(untraced(fiber), scope)
    yield* background(supervisor.superviseEvery(board, "heartbeat", Schedule.forever, heartbeat.round), nodeScope)
    yield* background(heartbeat.fence, nodeScope)
    yield* background(supervisor.superviseEvery(board, "rescuer", Schedule.spaced(resolved.rescueInterval), maintenance), nodeScope)
    yield* background(supervisor.superviseEvery(board, "checker", Schedule.spaced(resolved.checkInterval), checker), nodeScope)
    yield* background(supervisor.superviseEvery(board, "reaper", Schedule.spaced(resolved.checkInterval), reaper), nodeScope)
    yield* background(supervisor.superviseEvery(board, "cleaner", Schedule.spaced(resolved.checkInterval), cleaner), nodeScope)
    yield* background(supervisor.superviseEvery(board, "gauges", Schedule.spaced(resolved.gaugeInterval), gauges.round), nodeScope)
    yield* background(claimer.loop, claimScope)
    yield* background(wakeOnRegistryChanges(registry, wakeups), claimScope)
    yield* background(
      syncRetention({ store: control, registry, keepSucceeded: resolved.keepSucceeded, keepFailed: resolved.keepFailed }),
      nodeScope
    )
    if (resolved.listen) {
      yield* background(
        makeListener({
          pg: own,
          store: control,
          nodeId,
          registry,
          wakeups,
          onStopRequest: (token) => stopUnended(running, phases, [token]),
          pingInterval: resolved.heartbeatInterval,
          board
        }),
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
