/**
 * Which runnable task a worker claims next. The choice is made inside the claim statement, under
 * `FOR UPDATE SKIP LOCKED`, so a policy is data the store turns into SQL ordering rather than a
 * callback: it costs no extra round trip and cannot race with other claimers.
 *
 * - `fair(...)` (the default): runnable tasks are grouped by queue and owner, and the claim serves
 *   the group that has had the smallest share of the recent starts (the latest attempts started,
 *   in any group: at least 200, and twice the total weight of the groups waiting), divided by its
 *   queue's weight; within a batch, a group's second task counts as one more start. An idle group
 *   that gets work is served first until it has caught up, and a queue of weight 3 gets three
 *   starts for every one of a queue of weight 1. Priority orders tasks within a group. No busy
 *   queue or owner starves the others.
 * - `strictPriority`: one line across all queues and owners, by priority, then due time, then id
 *   (one global line, as most job queues order their work). A busy queue can delay the others.
 *
 * Per-queue concurrency limits (`TaskAdmin.defineQueue`) apply under every policy.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { problemOf, QueueName } from "./internal/validation.js"
import { InvalidTaskOptions } from "./TaskError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Fair {
  readonly _tag: "Fair"
  /** Starts per round of each queue's groups; queues not listed have weight 1. */
  readonly weights: { readonly [queue: string]: number }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface StrictPriority {
  readonly _tag: "StrictPriority"
}

/**
 * @since 0.1.0
 * @category models
 */
export type SchedulingPolicy = Fair | StrictPriority

/**
 * Fair shares between (queue, owner) groups. `weights` gives a queue's groups more starts per
 * round (an integer from 1 to 100; queues not listed have weight 1).
 *
 * @example
 * ```ts
 * import { SchedulingPolicy, TaskManager } from "effect-tasks"
 *
 * // "critical" tasks get three starts for every one of any other queue's.
 * const Workers = TaskManager.layer({ scheduling: SchedulingPolicy.fair({ weights: { critical: 3 } }) })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const fair = (options: {
  readonly weights?: { readonly [queue: string]: number } | undefined
} = {}): SchedulingPolicy => ({
  _tag: "Fair",
  weights: options.weights ?? {}
})

/**
 * Priority, then due time, then id, across all queues and owners.
 * @since 0.1.0
 * @category constructors
 */
export const strictPriority: SchedulingPolicy = { _tag: "StrictPriority" }

/**
 * The default policy: `fair()`.
 * @since 0.1.0
 * @category config
 */
export const defaults: SchedulingPolicy = fair()

/**
 * Checks a policy built by hand or read from configuration; fails with `InvalidTaskOptions`.
 * @since 0.1.0
 * @category constructors
 */
export const validate = (policy: SchedulingPolicy): Effect.Effect<SchedulingPolicy, InvalidTaskOptions> => {
  const invalid = (reason: string) => Effect.fail(new InvalidTaskOptions({ option: "scheduling", reason }))
  if (policy._tag === "StrictPriority") return Effect.succeed(policy)
  if (policy._tag !== "Fair") return invalid(`unknown policy ${String((policy as { _tag: unknown })._tag)}`)
  if (typeof policy.weights !== "object" || policy.weights === null) return invalid("weights must be a record of queue names")
  const weights = Object.entries(policy.weights)
  for (const [queue, weight] of weights) {
    const problem = problemOf(QueueName, queue)
    if (problem !== undefined) return invalid(`weights: the queue name ${JSON.stringify(queue)} ${problem}`)
    if (!Number.isInteger(weight) || weight < 1 || weight > 100) {
      return invalid(`the weight of queue "${queue}" must be an integer from 1 to 100, got ${weight}`)
    }
  }
  return Effect.succeed(policy)
}
