import { Duration, Effect, Exit, FiberMap, Option, Ref, Scope } from "effect"
import type { TaskStoreError } from "../../TaskError.js"
import type { Store } from "../store/store.js"
import type { Incarnation } from "../store/nodes.js"
import { type Phases, type Running, stopAttempts, tokensOf } from "./running.js"
import { tuning } from "../config/settings.js"

export interface StopOptions {
  readonly nodeId: string
  readonly store: Store
  /** Closed first: the claimer and the listener. */
  readonly claimScope: Scope.CloseableScope
  /** Closed once no attempt runs: the heartbeat and maintenance. */
  readonly nodeScope: Scope.CloseableScope
  readonly running: Running
  readonly phases: Phases
  readonly registration: Ref.Ref<Option.Option<Incarnation>>
  readonly stopTimeout: Duration.Duration
}

/** A stop's own writes: bounded, so a stop during an outage ends (the rescuer then covers what they missed). */
const bounded = <A>(what: string, write: Effect.Effect<A, TaskStoreError>) =>
  write.pipe(
    Effect.disconnect,
    Effect.timeout(tuning.handBackTimeout),
    Effect.tapError((error) => Effect.logError(`could not ${what}`, error.message)),
    Effect.option,
    // Finalizers are uninterruptible: without this the timeout could not cut the write short.
    Effect.interruptible
  )

/**
 * The graceful stop, in order: stop claiming; hand back tasks claimed ahead that have not started;
 * let running handlers finish up to `stopTimeout`, then interrupt the rest (each executor writes its
 * own hand-back, waited for up to `tuning.handBackTimeout`); stop the heartbeat and maintenance; hand
 * back whatever this node still holds, except the claims of handlers that would not stop (another
 * node must not run a task that still runs here: their leases lapse instead); deregister.
 */
export const gracefulStop = (options: StopOptions): Effect.Effect<void> =>
  Effect.gen(function*() {
    const { phases, running, store } = options
    yield* Scope.close(options.claimScope, Exit.void)
    // Tasks claimed ahead that have not started go back at once (not counted, due time kept).
    yield* stopAttempts(running, phases, yield* phases.tokensIn("waiting"))
    const drained = yield* FiberMap.awaitEmpty(running).pipe(
      // Finalizers are uninterruptible; without this the timeout could never interrupt the wait.
      Effect.interruptible,
      Effect.timeoutOption(options.stopTimeout)
    )
    if (Option.isNone(drained)) {
      const left = tokensOf(running)
      yield* Effect.logWarning(`stop timeout reached: interrupting ${left.length} running task(s) and handing them back`)
      yield* stopAttempts(running, phases, left)
      yield* FiberMap.awaitEmpty(running).pipe(Effect.interruptible, Effect.timeoutOption(tuning.handBackTimeout))
    }
    const stillRunning = tokensOf(running)
    if (stillRunning.length > 0) {
      yield* Effect.logError(`${stillRunning.length} handler(s) did not stop; their tasks will be rescued after their leases lapse`)
    }
    yield* Scope.close(options.nodeScope, Exit.void)
    const node = yield* Ref.get(options.registration)
    if (Option.isNone(node)) return
    // Whatever else this node still holds (a write that failed, a claim cut short) goes back now.
    const released = yield* bounded("hand back this node's claims", store.releaseClaimedBy(node.value, stillRunning))
    if (Option.isSome(released) && released.value.length > 0) {
      yield* Effect.logWarning(
        `handed back ${released.value.length} claimed task(s) that no running attempt held (a claim cut short by the stop, or an end that could not be written)`,
        released.value
      )
    }
    yield* bounded("deregister this node", store.deregister(node.value))
  }).pipe(
    Effect.withSpan("TaskManager.stop", { attributes: { "node.id": options.nodeId } }),
    Effect.annotateLogs({ module: "TaskManager", nodeId: options.nodeId })
  )
