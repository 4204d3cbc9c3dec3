import { Metric } from "effect"

/** A counter that only goes up, described for exporters. */
const counter = (name: string, description: string) => Metric.counter(name, { description, incremental: true })

/** Attempts ended, tagged by outcome (Succeeded, Retry, Failed, Released). */
export const attemptsEnded = counter("effect_tasks_attempts_total", "claimed attempts that ended, by outcome")

/** `attemptsEnded` tagged with each outcome, made once (tagging builds a new metric key). */
export const attemptsEndedBy = {
  Succeeded: Metric.tagged(attemptsEnded, "outcome", "Succeeded"),
  Retry: Metric.tagged(attemptsEnded, "outcome", "Retry"),
  Failed: Metric.tagged(attemptsEnded, "outcome", "Failed"),
  Released: Metric.tagged(attemptsEnded, "outcome", "Released"),
  Snoozed: Metric.tagged(attemptsEnded, "outcome", "Snoozed")
} as const

/** Writes refused because the claim was no longer ours: the fence doing its job. */
export const staleWrites = counter("effect_tasks_stale_writes_total", "attempt results discarded because the task's claim had changed")

/** Tasks claimed by this process. */
export const tasksClaimed = counter("effect_tasks_claimed_total", "tasks claimed")

/** Claims this node found taken away at a heartbeat (its attempt was then stopped). */
export const lostClaims = counter("effect_tasks_lost_claims_total", "running attempts stopped because their claim was taken away")

/** Tasks taken back from lost workers, by the status they went to. */
export const rescuedTasks = counter("effect_tasks_rescued_total", "running tasks whose lease or deadline passed, taken back")

/** Tasks the last check found waiting or running abnormally long. */
export const stuckTasks = Metric.gauge("effect_tasks_stuck")

/** Finished tasks the cleaner deleted after their retention. */
export const cleanedTasks = counter("effect_tasks_cleaned_total", "finished tasks deleted after their retention")
