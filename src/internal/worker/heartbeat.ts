import { Clock, Duration, Effect, FiberMap, Metric, Ref } from "effect"
import type { TaskStoreError } from "../../TaskError.js"
import type { TaskStore } from "../../TaskStore.js"
import * as metrics from "./metrics.js"

export interface HeartbeatOptions {
  readonly store: TaskStore["Type"]
  readonly nodeId: string
  readonly host: string
  readonly pid: number
  /** Running executors by claim token. */
  readonly running: FiberMap.FiberMap<string, void, never>
  /** How long a renewed lease lasts. */
  readonly leaseDuration: Duration.Duration
  /** Whether this node leads maintenance now: a node that cannot beat gives up leading. */
  readonly isLeader: Ref.Ref<boolean>
}

/**
 * One heartbeat: mark the node alive, renew the leases of its running attempts, stop the attempts
 * whose claim was taken away (a stale worker must not go on with side effects). If heartbeats keep failing for a whole lease, every claim of this node has
 * lapsed and may already run elsewhere: the node then stops its own attempts (self-fencing).
 */
export const makeHeartbeat = (options: HeartbeatOptions) =>
  Effect.gen(function*() {
    const lastSuccess = yield* Ref.make(yield* Clock.currentTimeMillis)

    const stopLostAttempts = (renewed: ReadonlySet<string>, tokens: ReadonlyArray<string>) =>
      Effect.forEach(tokens, (token) =>
        Effect.gen(function*() {
          // An executor that ended during the statement has left the map: its claim is simply gone.
          if (renewed.has(token) || !(yield* FiberMap.has(options.running, token))) return
          yield* Metric.increment(metrics.lostClaims)
          yield* Effect.logWarning("claim lost (rescued or taken back): stopping its attempt", { claimToken: token })
          yield* Effect.fork(FiberMap.remove(options.running, token))
        }), { discard: true })

    const beat: Effect.Effect<void, TaskStoreError> = Effect.gen(function*() {
      const tokens = Array.from(options.running, ([token]) => token)
      const renewed = yield* options.store.heartbeat({
        nodeId: options.nodeId,
        host: options.host,
        pid: options.pid,
        claimTokens: tokens,
        leaseDuration: options.leaseDuration
      })
      yield* stopLostAttempts(renewed, tokens)
      yield* Ref.set(lastSuccess, yield* Clock.currentTimeMillis)
    })

    const fenceIfSilent = Effect.gen(function*() {
      yield* Ref.set(options.isLeader, false)
      const silentFor = (yield* Clock.currentTimeMillis) - (yield* Ref.get(lastSuccess))
      if (silentFor <= Duration.toMillis(options.leaseDuration)) return
      const left = yield* FiberMap.size(options.running)
      if (left === 0) return
      yield* Effect.logError(`no heartbeat for ${silentFor} ms: this node's claims have lapsed; stopping its ${left} attempt(s)`)
      yield* Effect.fork(FiberMap.clear(options.running))
    })

    return beat.pipe(Effect.tapError(() => fenceIfSilent))
  })
