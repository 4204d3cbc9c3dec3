/**
 * The library's metrics, as Effect `Metric`s in Effect's registry: exported by whatever the
 * application wires (`@effect/opentelemetry`'s metric reader, or `prometheus` below), read in tests
 * with `Metric.value`. Nothing is exported by default.
 *
 * Per task key and queue (tags `task_key`, `queue`; at most 500 pairs per process, the rest
 * counted under `other`): `effect_tasks_enqueued_total`, `_started_total`, `_succeeded_total`,
 * `_failed_total`, `_retried_total`, `_snoozed_total`, `_released_total`, `_canceled_total`,
 * `_paused_total`, `_rescued_total`, `_stale_writes_total`, and the histograms `effect_tasks_wait_ms`
 * (due to claimed) and `effect_tasks_run_ms` (handler run time). Per queue (tag `queue`, set by the
 * maintenance leader every `gaugeInterval`): `effect_tasks_waiting`, `effect_tasks_running`,
 * `effect_tasks_oldest_waiting_seconds`. Per process: `effect_tasks_claimed_total`,
 * `effect_tasks_claim_round_ms`, `effect_tasks_claim_size`, `effect_tasks_lost_claims_total`,
 * `effect_tasks_cleaned_total`, `effect_tasks_stuck`.
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import * as metrics from "./internal/observability/metrics.js"
import * as prometheusText from "./internal/observability/prometheus.js"

/**
 * The metrics of one task key in one queue, tagged (`task_key`, `queue`).
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { TaskMetrics } from "effect-tasks"
 *
 * const failedReceipts = Metric.value(TaskMetrics.forTask("send-receipt", "default").failed)
 * ```
 * @since 0.1.0
 * @category metrics
 */
export const forTask: (key: string, queue: string) => metrics.TaskMetrics = metrics.forTask

/**
 * The metrics of one task key in one queue.
 * @since 0.1.0
 * @category models
 */
export type TaskMetrics = metrics.TaskMetrics

/**
 * Per-queue gauges (tag `queue`), set by the maintenance leader: `waiting`, `running`,
 * `oldestWaiting` (seconds the oldest due task has waited).
 * @since 0.1.0
 * @category metrics
 */
export const queues = metrics.queueGauges

/**
 * Tasks claimed by this process.
 * @since 0.1.0
 * @category metrics
 */
export const claimed = metrics.tasksClaimed

/**
 * Milliseconds per claim statement (a histogram).
 * @since 0.1.0
 * @category metrics
 */
export const claimRound = metrics.claimRound

/**
 * Tasks claimed per claim statement (a histogram).
 * @since 0.1.0
 * @category metrics
 */
export const claimSize = metrics.claimSize

/**
 * Every metric in Effect's registry (this library's and the application's) as Prometheus text
 * (exposition format 0.0.4), for a `/metrics` route: see the README's Observability section.
 * @since 0.1.0
 * @category exporting
 */
export const prometheus: Effect.Effect<string> = prometheusText.render

/**
 * The `Content-Type` of `prometheus`' text.
 * @since 0.1.0
 * @category exporting
 */
export const prometheusContentType: string = prometheusText.contentType
