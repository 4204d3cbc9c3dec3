import type { PgClient } from "@effect/sql-pg"
import { Duration, Effect, Queue, Ref, Schedule, Stream } from "effect"
import type { TaskRegistry } from "../../TaskRegistry.js"
import { monotonicMillis } from "../monotonic.js"
import { queueSlotFreed } from "../store/notify.js"
import { stopRequested } from "../store/stop.js"
import type { Store } from "../store/store.js"
import { type HealthBoard, recordFailure, recordSuccess } from "./supervisor.js"

export interface ListenerOptions {
  readonly pg: PgClient.PgClient
  /** Where the listener's pings are sent (on the channel it listens to). */
  readonly store: Store
  readonly nodeId: string
  readonly registry: TaskRegistry["Type"]
  readonly wakeups: Queue.Queue<void>
  /** Stops the attempt holding this claim token, if it runs here (an operator's cancel or pause). */
  readonly onStopRequest: (claimToken: string) => Effect.Effect<void>
  /** How often the listener sends itself a ping to prove its connection still delivers. */
  readonly pingInterval: Duration.Duration
  readonly board: HealthBoard
}

class ListenerSilent {
  readonly _tag = "ListenerSilent"
}

const relisten = Schedule.exponential("500 millis").pipe(Schedule.union(Schedule.spaced("10 seconds")))

/**
 * Wakes the claimer when a task with a key this process runs is committed. The PostgreSQL client
 * gives no sign when its LISTEN connection dies (the stream just goes quiet), so the listener pings
 * itself on the channel and starts a new session when its own pings stop arriving. NOTIFY is only a
 * latency optimisation: while the listener is down, the claimer's scan still finds every task.
 */
export const makeListener = (options: ListenerOptions): Effect.Effect<never> =>
  Effect.gen(function*() {
    const ping = `ping:${options.nodeId}`
    const lastHeard = yield* Ref.make(0)
    const isConfirmed = yield* Ref.make(false)
    const wake = Queue.offer(options.wakeups, undefined)

    // The first ping a session hears proves LISTEN is active; whatever was committed before that
    // was announced to no one, so the claimer looks once more.
    const receive = (payload: string) =>
      payload === ping
        ? Effect.all([
          Effect.flatMap(monotonicMillis, (now) => Ref.set(lastHeard, now)),
          recordSuccess(options.board, "listener"),
          Effect.flatMap(Ref.getAndSet(isConfirmed, true), (wasConfirmed) => wasConfirmed ? Effect.void : wake)
        ], { discard: true })
        : payload.startsWith(stopRequested)
        ? options.onStopRequest(payload.slice(stopRequested.length))
        : Effect.flatMap(
          options.registry.runnableKeys,
          (keys) => keys.includes(payload) || payload.startsWith(queueSlotFreed) ? wake : Effect.void
        )

    const listen = options.pg.listen(options.store.channel).pipe(Stream.runForEach(receive))

    const watchdog = Effect.gen(function*() {
      yield* options.store.notify(ping).pipe(Effect.ignore)
      yield* Effect.sleep(options.pingInterval)
      const silentFor = (yield* monotonicMillis) - (yield* Ref.get(lastHeard))
      if (silentFor > 3 * Duration.toMillis(options.pingInterval)) return yield* Effect.fail(new ListenerSilent())
    }).pipe(Effect.forever)

    const session = Effect.gen(function*() {
      yield* Ref.set(lastHeard, yield* monotonicMillis)
      yield* Ref.set(isConfirmed, false)
      yield* Effect.raceFirst(listen, watchdog)
    }).pipe(
      Effect.catchAllCause((cause) => recordFailure(options.board, "listener", String(cause))),
      Effect.zipRight(Effect.logWarning("LISTEN connection silent or lost; listening again"))
    )

    return yield* session.pipe(Effect.repeat(relisten), Effect.zipRight(Effect.never))
  }).pipe(Effect.annotateLogs({ module: "TaskManager", fiber: "listener" }))

/** Wakes the claimer whenever handlers are registered (and once at start). */
export const wakeOnRegistryChanges = (registry: TaskRegistry["Type"], wakeups: Queue.Queue<void>) =>
  registry.changes.pipe(Stream.runForEach(() => Queue.offer(wakeups, undefined)))
