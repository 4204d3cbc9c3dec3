import type { PgClient } from "@effect/sql-pg"
import { Effect, Queue, Schedule, Stream } from "effect"
import type { TaskRegistry } from "../../TaskRegistry.js"

export interface ListenerOptions {
  readonly pg: PgClient.PgClient
  readonly channel: string
  readonly registry: TaskRegistry["Type"]
  readonly wakeups: Queue.Queue<void>
}

const relisten = Schedule.exponential("500 millis").pipe(Schedule.union(Schedule.spaced("10 seconds")))

/**
 * Wakes the claimer when a task with a key this process runs is committed. NOTIFY is only a
 * latency optimisation: a lost notification (listener down, reconnecting) costs at most one scan
 * interval, because the claimer also scans.
 */
export const makeListener = (options: ListenerOptions): Effect.Effect<never> =>
  options.pg.listen(options.channel).pipe(
    Stream.runForEach((key) =>
      Effect.flatMap(
        options.registry.runnableKeys,
        (keys) => keys.includes(key) ? Queue.offer(options.wakeups, undefined) : Effect.void
      )
    ),
    Effect.zipRight(Effect.logWarning("LISTEN stream ended; listening again")),
    Effect.catchAllCause((cause) => Effect.logWarning("LISTEN failed; listening again", cause)),
    Effect.repeat(relisten),
    Effect.zipRight(Effect.never),
    Effect.annotateLogs({ module: "TaskManager", fiber: "listener" })
  )

/** Wakes the claimer whenever handlers are registered (and once at start). */
export const wakeOnRegistryChanges = (registry: TaskRegistry["Type"], wakeups: Queue.Queue<void>) =>
  registry.changes.pipe(Stream.runForEach(() => Queue.offer(wakeups, undefined)))
