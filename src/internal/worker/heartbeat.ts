import { Clock, Duration, Effect, Either, FiberMap, Metric, Ref } from "effect"
import type { TaskStoreError } from "../../TaskError.js"
import type { TaskStore } from "../../TaskStore.js"
import type { Leadership } from "../maintenance/leadership.js"
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
  readonly heartbeatInterval: Duration.Duration
  /** A node that cannot beat gives up leading maintenance. */
  readonly leadership: Leadership
}

/**
 * One heartbeat round: mark the node alive, renew the leases of its running attempts, and stop the
 * attempts whose claim was taken away (a stale worker must not go on with side effects).
 *
 * A beat that does not succeed within `heartbeatInterval` counts as failed (a beat stuck waiting
 * for a pool connection must not hold up the fence). When no beat has succeeded for
 * `leaseDuration − 2 × heartbeatInterval` since the start of the last good one, this node's leases
 * are about to lapse, and other nodes will then take its tasks: it stops its own attempts first
 * (self-fencing), so a task never runs here and elsewhere at once.
 */
export const makeHeartbeat = (options: HeartbeatOptions) =>
  Effect.gen(function*() {
    const lastGoodStart = yield* Ref.make(yield* Clock.currentTimeMillis)
    const fenceAfter = Duration.toMillis(options.leaseDuration) - 2 * Duration.toMillis(options.heartbeatInterval)

    const stopLostAttempts = (renewed: ReadonlySet<string>, tokens: ReadonlyArray<string>) =>
      Effect.forEach(tokens, (token) =>
        Effect.gen(function*() {
          // An executor that ended during the statement has left the map: its claim is simply gone.
          if (renewed.has(token) || !(yield* FiberMap.has(options.running, token))) return
          yield* Metric.increment(metrics.lostClaims)
          yield* Effect.logWarning("claim lost (rescued or taken back): stopping its attempt", { claimToken: token })
          // A daemon: the beat runs disconnected and ends before the attempt has finished stopping.
          yield* Effect.forkDaemon(FiberMap.remove(options.running, token))
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
    })

    const fenceIfLapsing = Effect.gen(function*() {
      yield* options.leadership.resign
      const silentFor = (yield* Clock.currentTimeMillis) - (yield* Ref.get(lastGoodStart))
      if (silentFor < fenceAfter) return
      const left = yield* FiberMap.size(options.running)
      if (left === 0) return
      yield* Effect.logError(
        `no heartbeat for ${silentFor} ms: this node's claims are about to lapse; stopping its ${left} attempt(s)`
      )
      yield* Effect.forkDaemon(FiberMap.clear(options.running))
    })

    return Effect.gen(function*() {
      const startedAt = yield* Clock.currentTimeMillis
      // Disconnected: the timeout returns at once even if cancelling the statement must wait for a connection.
      const result = yield* beat.pipe(Effect.disconnect, Effect.timeout(options.heartbeatInterval), Effect.either)
      if (Either.isRight(result)) return yield* Ref.set(lastGoodStart, startedAt)
      yield* fenceIfLapsing
      return yield* Effect.fail(result.left)
    })
  })
