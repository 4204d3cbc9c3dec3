import { Data, Duration, Effect, Metric, Option, Ref } from "effect"
import type { TaskStoreError } from "../../TaskError.js"
import type { Store } from "../store/store.js"
import type { Incarnation } from "../store/nodes.js"
import type { Leadership } from "../maintenance/leadership.js"
import { monotonicMillis, paced } from "../monotonic.js"
import * as metrics from "../observability/metrics.js"
import { type Phases, type Running, stopAttempts, stopUnended, tokensOf, unendedAmong } from "./running.js"

export interface HeartbeatOptions {
  readonly store: Store
  /** The task keys this node has handlers for now, written with each beat. */
  readonly keys: Effect.Effect<ReadonlyArray<string>>
  readonly nodeId: string
  readonly host: string
  readonly pid: number
  /** A node silent this long is dead: another process may then register its id. */
  readonly nodeTimeout: Duration.Duration
  /** This process's incarnation of the node; None while another live process holds the id. */
  readonly registration: Ref.Ref<Option.Option<Incarnation>>
  readonly running: Running
  readonly phases: Phases
  /** How long a renewed lease lasts. */
  readonly leaseDuration: Duration.Duration
  readonly heartbeatInterval: Duration.Duration
  /** A node that cannot beat gives up leading maintenance. */
  readonly leadership: Leadership
}

/** The node's id is held by another live process: this one cannot register until that one is gone. */
export class NodeIdTaken extends Data.TaggedError("NodeIdTaken")<{ readonly nodeId: string }> {
  override get message() {
    return `node id "${this.nodeId}" is held by another live process: this process runs nothing until that one is gone`
  }
}

/**
 * The heartbeat and the self-fence of a node.
 *
 * `round`: one heartbeat every `heartbeatInterval` (paced on the monotonic clock): mark this
 * incarnation alive, renew the leases of its running attempts, and stop the attempts whose claim was
 * taken away (a stale worker must not go on with side effects). A beat that does not succeed within
 * `heartbeatInterval` counts as failed (one stuck on a dead connection must not hold up the fence).
 * A node that finds its row taken by another process (it was silent past `nodeTimeout` and a
 * replacement registered its id) or forgotten stops every attempt, and registers again as a new
 * incarnation once the id is free.
 *
 * `fence`: once no beat has succeeded for `leaseDuration − 2 × heartbeatInterval` since the start
 * of the last good one (monotonic), this node's leases are about to lapse and other nodes will then
 * take its tasks: it interrupts all its attempts at once, without waiting on any database write, so
 * a task never runs here and elsewhere at once.
 */
export const makeHeartbeat = (options: HeartbeatOptions) =>
  Effect.gen(function*() {
    const lastGoodStart = yield* Ref.make(yield* monotonicMillis)
    const fenced = yield* Ref.make<ReadonlySet<string>>(new Set())
    const fenceAfter = Duration.toMillis(options.leaseDuration) - 2 * Duration.toMillis(options.heartbeatInterval)
    // Leases written within the last half interval are not written again: at the fence every lease
    // still has at least one and a half intervals to run.
    const freshFor = Duration.times(options.heartbeatInterval, 0.5)

    const stopLostAttempts = (held: ReadonlySet<string>, sent: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        // An attempt whose end was written meanwhile (it is ending, or gone) did not lose its claim.
        const lost = yield* unendedAmong(options.phases, sent.filter((token) => !held.has(token)))
        if (lost.length === 0) return
        yield* Metric.incrementBy(metrics.lostClaims, lost.length)
        yield* Effect.logWarning(`${lost.length} claim(s) lost (rescued, taken back, or this node was replaced): stopping their attempts`, {
          claimTokens: lost
        })
        yield* stopAttempts(options.running, options.phases, lost)
      })

    const register = Effect.flatMap(
      options.store.register({ nodeId: options.nodeId, host: options.host, pid: options.pid, nodeTimeout: options.nodeTimeout }),
      Option.match({
        onNone: () => Effect.fail(new NodeIdTaken({ nodeId: options.nodeId })),
        onSome: (incarnation) =>
          Effect.zipRight(
            Ref.set(options.registration, Option.some(incarnation)),
            Effect.logWarning("registered again, as a new incarnation of this node", { incarnation: incarnation.incarnation })
          )
      })
    )

    /** One beat; succeeds with whether this incarnation's leases were renewed. */
    const beat: Effect.Effect<boolean, TaskStoreError | NodeIdTaken> = Effect.gen(function*() {
      const current = yield* Ref.get(options.registration)
      if (Option.isNone(current)) return yield* Effect.as(register, false)
      const sent = tokensOf(options.running)
      const result = yield* options.store.heartbeat({
        ...current.value,
        claimTokens: sent,
        keys: yield* options.keys,
        leaseDuration: options.leaseDuration,
        freshFor
      })
      if (result.isRegistered) {
        yield* stopLostAttempts(result.held, sent)
        // An operator's cancel or pause, in case its NOTIFY did not reach this node.
        if (result.stopRequested.length > 0) yield* stopUnended(options.running, options.phases, result.stopRequested)
        return true
      }
      yield* Ref.set(options.registration, Option.none())
      yield* options.leadership.resign
      yield* Effect.logError("this node's registration was taken by another process (or forgotten): stopping its attempts")
      yield* stopLostAttempts(new Set(), sent)
      return yield* Effect.as(register, false)
    })

    const round = Effect.gen(function*() {
      const startedAt = yield* monotonicMillis
      // Disconnected: the timeout returns at once even if cancelling the statement must wait for a connection.
      const renewed = yield* beat.pipe(Effect.disconnect, Effect.timeout(options.heartbeatInterval))
      if (renewed) {
        yield* Ref.set(lastGoodStart, startedAt)
        yield* Ref.set(fenced, new Set())
      }
    }).pipe(paced(options.heartbeatInterval))

    const recheck = Duration.millis(Math.max(1, Duration.toMillis(options.heartbeatInterval) / 4))
    const fence: Effect.Effect<never> = Effect.gen(function*() {
      const silentFor = (yield* monotonicMillis) - (yield* Ref.get(lastGoodStart))
      if (silentFor < fenceAfter) return yield* Effect.sleep(Duration.millis(fenceAfter - silentFor))
      yield* options.leadership.resign
      const already = yield* Ref.get(fenced)
      const tokens = tokensOf(options.running).filter((token) => !already.has(token))
      if (tokens.length > 0) {
        yield* Effect.logError(
          `no heartbeat for ${silentFor} ms: this node's claims are about to lapse; stopping its ${tokens.length} attempt(s)`
        )
        yield* stopAttempts(options.running, options.phases, tokens)
        yield* Ref.set(fenced, new Set([...already, ...tokens]))
      }
      yield* Effect.sleep(recheck)
    }).pipe(Effect.forever, Effect.annotateLogs({ module: "TaskManager", fiber: "fence" }))

    return { round, fence }
  })
