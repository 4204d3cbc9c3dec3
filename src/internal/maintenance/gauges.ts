import { Effect, Metric } from "effect"
import type { Store } from "../store/store.js"
import { maxTaggedPairs, queueGauges } from "../observability/metrics.js"
import type { QueueDepth } from "../store/find.js"
import type { Leadership } from "./leadership.js"

/**
 * The per-queue gauges (waiting, running, oldest due wait), set by the maintenance leader from one
 * statement over the unfinished tasks. A queue that empties is set to zero, not left at its last
 * value; a node that stops leading, or stops (`reset`), zeroes what it reported; at most
 * `maxTaggedPairs` queues are reported. A round returns how many queues it set.
 */
export const makeQueueGauges = (options: { readonly store: Store; readonly leadership: Leadership }) => {
  const reported = new Set<string>()
  const set = (queue: string, waiting: number, running: number, oldestWaitingSeconds: number) =>
    Effect.all([
      Metric.set(Metric.tagged(queueGauges.waiting, "queue", queue), waiting),
      Metric.set(Metric.tagged(queueGauges.running, "queue", queue), running),
      Metric.set(Metric.tagged(queueGauges.oldestWaiting, "queue", queue), oldestWaitingSeconds)
    ], { discard: true })
  /** Sets every queue in `depths` and zeroes the queues reported before that are not in it. */
  const report = (depths: ReadonlyArray<QueueDepth>) =>
    Effect.gen(function*() {
      const present = new Set(depths.map((depth) => depth.queue))
      for (const queue of reported) {
        if (!present.has(queue)) yield* set(queue, 0, 0, 0)
      }
      for (const depth of depths) yield* set(depth.queue, depth.waiting, depth.running, depth.oldestWaitingSeconds)
      reported.clear()
      for (const queue of present) reported.add(queue)
      return depths.length
    })
  return {
    // A node that no longer leads reports zeros: summed over nodes, the gauges stay right (but for
    // up to one interval after leadership moved).
    round: Effect.flatMap(options.leadership.isLeader, (isLeader) =>
      isLeader
        ? Effect.flatMap(options.store.queueDepths, (depths) => report(depths.slice(0, maxTaggedPairs)))
        : report([])),
    /** Zeroes what this node reported: it stops. */
    reset: Effect.asVoid(report([]))
  }
}
