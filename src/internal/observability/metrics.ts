import { Metric, MetricBoundaries, MetricKey, type MetricKeyType, MetricLabel } from "effect"

/** Milliseconds from 1 ms to about 36 minutes, doubling. */
const millis = MetricBoundaries.exponential({ start: 1, factor: 2, count: 22 })

/** The key of a counter that only goes up, described for exporters. */
const counterKey = (name: string, description: string) => MetricKey.counter(name, { description, incremental: true })

/** A counter that only goes up, described for exporters. */
const counter = (name: string, description: string) => Metric.fromMetricKey(counterKey(name, description))

/** A histogram key in milliseconds. */
const millisKey = (name: string, description: string) => MetricKey.histogram(name, millis, description)

/** Counted per task key and queue (the `task_key` and `queue` tags). */
const perTask = {
  enqueued: counterKey("effect_tasks_enqueued_total", "tasks enqueued (counted when written; a rolled-back transaction's too)"),
  started: counterKey("effect_tasks_started_total", "attempts whose handler started"),
  succeeded: counterKey("effect_tasks_succeeded_total", "tasks that succeeded"),
  failed: counterKey("effect_tasks_failed_total", "tasks that failed for good (no attempt left, or not retryable)"),
  retried: counterKey("effect_tasks_retried_total", "failed attempts with a retry scheduled"),
  snoozed: counterKey("effect_tasks_snoozed_total", "attempts that asked to run again later (Task.snooze)"),
  released: counterKey("effect_tasks_released_total", "attempts handed back to run again: by a stopping worker, or unstarted (no handler here, or a slot waited for too long)"),
  canceled: counterKey("effect_tasks_canceled_total", "tasks canceled by an operator"),
  paused: counterKey("effect_tasks_paused_total", "running attempts paused by an operator"),
  rescued: counterKey("effect_tasks_rescued_total", "running tasks taken back after their worker was lost or their deadline passed"),
  staleWrites: counterKey("effect_tasks_stale_writes_total", "attempt results discarded because the task's claim had changed"),
  waitTime: millisKey("effect_tasks_wait_ms", "milliseconds from a task's due time (a child's: its enqueue) to its attempt being claimed"),
  runTime: millisKey("effect_tasks_run_ms", "milliseconds a handler ran, per attempt")
}

/** The metrics of one task key in one queue. */
export type TaskMetrics = {
  readonly [Name in keyof typeof perTask]: (typeof perTask)[Name] extends MetricKey.MetricKey<infer Type> ? Metric.Metric<
      Type,
      MetricKeyType.MetricKeyType.InType<Type>,
      MetricKeyType.MetricKeyType.OutType<Type>
    >
    : never
}

/** Distinct (task key, queue) tag pairs a process reports; beyond them, pairs share `other`. */
export const maxTaggedPairs = 500

/**
 * The tags are part of each metric's key: a metric tagged with `Metric.tagged` builds and hashes a
 * new key on every update (about 10 µs), one made from a tagged key finds its hook at once.
 */
const tagged = (key: string, queue: string): TaskMetrics => {
  const labels = [MetricLabel.make("task_key", key), MetricLabel.make("queue", queue)]
  return Object.fromEntries(
    Object.entries(perTask).map((
      [name, metricKey]
    ) => [name, Metric.fromMetricKey(MetricKey.taggedWithLabels(metricKey as MetricKey.MetricKey.Untyped, labels))])
  ) as unknown as TaskMetrics
}

/**
 * Something made once per (task key, queue) pair and kept, for at most `maxTaggedPairs` pairs;
 * past them `beyond` answers. Task keys and queues come from definitions, so this stays small.
 */
export const perTaskPair = <A>(make: (key: string, queue: string) => A, beyond: (key: string, queue: string) => A) => {
  const made = new Map<string, A>()
  return (key: string, queue: string): A => {
    const pair = `${key}\u0000${queue}`
    const found = made.get(pair)
    if (found !== undefined) return found
    if (made.size >= maxTaggedPairs) return beyond(key, queue)
    const value = make(key, queue)
    made.set(pair, value)
    return value
  }
}

const other = tagged("other", "other")

/**
 * The metrics of tasks of `key` in `queue`, tagged once and kept (tagging builds a metric key). Tag
 * values stay bounded: past `maxTaggedPairs` pairs the rest are counted under `other`, so a
 * mistake cannot flood a metrics backend.
 */
export const forTask: (key: string, queue: string) => TaskMetrics = perTaskPair(tagged, () => other)

/** Tasks claimed by this process. */
export const tasksClaimed = counter("effect_tasks_claimed_total", "tasks claimed")

/** How long each claim round's statement took, and how many tasks it claimed. */
export const claimRound = Metric.histogram("effect_tasks_claim_round_ms", millis, "milliseconds per claim statement")
export const claimSize = Metric.histogram(
  "effect_tasks_claim_size",
  MetricBoundaries.exponential({ start: 1, factor: 2, count: 12 }),
  "tasks claimed per claim statement"
)

/** Claims this node found taken away at a heartbeat (its attempt was then stopped). */
export const lostClaims = counter("effect_tasks_lost_claims_total", "running attempts stopped because their claim was taken away")

/** Tasks the last check found waiting or running abnormally long. */
export const stuckTasks = Metric.gauge("effect_tasks_stuck")

/** Finished tasks the cleaner deleted after their retention. */
export const cleanedTasks = counter("effect_tasks_cleaned_total", "finished tasks deleted after their retention")

/** Per queue (the `queue` tag), set by the maintenance leader. */
export const queueGauges = {
  waiting: Metric.gauge("effect_tasks_waiting", { description: "tasks waiting to run (due or not), per queue" }),
  running: Metric.gauge("effect_tasks_running", { description: "tasks running, per queue" }),
  oldestWaiting: Metric.gauge("effect_tasks_oldest_waiting_seconds", {
    description: "seconds the oldest due task of a queue has been waiting (0 when none)"
  })
}
