import { Metric } from "effect"

/** Attempts ended, tagged by outcome (Succeeded, Retry, Failed, Released). */
export const attemptsEnded = Metric.counter("effect_tasks_attempts_total", {
  description: "claimed attempts that ended, by outcome",
  incremental: true
})

/** Writes refused because the claim was no longer ours: the fence doing its job. */
export const staleWrites = Metric.counter("effect_tasks_stale_writes_total", {
  description: "attempt results discarded because the task's claim had changed",
  incremental: true
})

/** Tasks claimed by this process. */
export const tasksClaimed = Metric.counter("effect_tasks_claimed_total", {
  description: "tasks claimed",
  incremental: true
})
