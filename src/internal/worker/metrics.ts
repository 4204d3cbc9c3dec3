import { Metric } from "effect"

/** Attempts ended, tagged by outcome (Succeeded, Retry, Failed, Released). */
export const attemptsEnded = Metric.counter("effect_tasks_attempts_total", {
  description: "claimed attempts that ended, by outcome",
  incremental: true
})

/** `attemptsEnded` tagged with each outcome, made once (tagging builds a new metric key). */
export const attemptsEndedBy = {
  Succeeded: Metric.tagged(attemptsEnded, "outcome", "Succeeded"),
  Retry: Metric.tagged(attemptsEnded, "outcome", "Retry"),
  Failed: Metric.tagged(attemptsEnded, "outcome", "Failed"),
  Released: Metric.tagged(attemptsEnded, "outcome", "Released"),
  Snoozed: Metric.tagged(attemptsEnded, "outcome", "Snoozed")
} as const

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

/** Claims this node found taken away at a heartbeat (its attempt was then stopped). */
export const lostClaims = Metric.counter("effect_tasks_lost_claims_total", {
  description: "running attempts stopped because their claim was taken away",
  incremental: true
})

/** Tasks taken back from lost workers, by the status they went to. */
export const rescuedTasks = Metric.counter("effect_tasks_rescued_total", {
  description: "running tasks whose lease or deadline passed, taken back",
  incremental: true
})

/** Tasks the last check found waiting or running abnormally long. */
export const stuckTasks = Metric.gauge("effect_tasks_stuck")
