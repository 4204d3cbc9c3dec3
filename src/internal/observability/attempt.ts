import { type Cause, Duration, Effect, Option, type Tracer } from "effect"
import * as TaskStatus from "../../TaskStatus.js"
import type { Entry } from "../../TaskRegistry.js"
import type { ClaimedTask } from "../store/taskRow.js"
import type { Outcome } from "../worker/outcome.js"
import { attemptSpanPlacement, messaging } from "./trace.js"

/** How an attempt ended, in words of the spans (`effect_tasks.task.outcome`, the settle span's operation name). */
export const outcomeName = {
  Succeeded: "succeed",
  Retry: "retry",
  Failed: "fail",
  Released: "release",
  Snoozed: "snooze"
} as const satisfies Record<Outcome["_tag"], string>

/** The counter an ended attempt adds to: an operator's stop request, when honoured, decides it. */
export const counterOf = (
  ended: Outcome,
  status: TaskStatus.TaskStatus
): "canceled" | "paused" | "succeeded" | "retried" | "failed" | "released" | "snoozed" =>
  status === TaskStatus.canceled
    ? "canceled"
    : status === TaskStatus.paused && ended._tag !== "Succeeded"
    ? "paused"
    : ({ Succeeded: "succeeded", Retry: "retried", Failed: "failed", Released: "released", Snoozed: "snoozed" } as const)[ended._tag]

/**
 * The `process <queue>` span of an attempt: a root linked to the span that enqueued the task, or
 * its child, as the definition's `trace` says.
 */
export const processSpan = (claim: ClaimedTask, entry: Option.Option<Entry>, nodeId: string): Tracer.SpanOptions => ({
  kind: "consumer",
  captureStackTrace: false,
  ...attemptSpanPlacement(claim.traceparent, Option.match(entry, { onNone: () => "link", onSome: ({ task }) => task.trace })),
  attributes: {
    ...messaging("process", claim.queue),
    "messaging.message.id": claim.id,
    "effect_tasks.task.key": claim.key,
    "effect_tasks.task.attempt": claim.attempt,
    "effect_tasks.node.id": nodeId
  }
})

/** The `settle <queue>` span of the write of an attempt's end, under its `process` span. */
export const settleSpan = (claim: ClaimedTask, ended: Outcome, parent: Tracer.AnySpan): Tracer.SpanOptions => ({
  kind: "client",
  parent,
  captureStackTrace: false,
  attributes: { ...messaging("settle", claim.queue, outcomeName[ended._tag]), "messaging.message.id": claim.id }
})

/** The one line a failed attempt logs, with its Cause: a warning when it will be retried, an error when the task has failed. */
export const logFailure = (claim: ClaimedTask, ended: Outcome, cause: Cause.Cause<unknown>): Effect.Effect<void> =>
  ended._tag === "Retry"
    ? Effect.logWarning(`attempt ${claim.attempt}/${claim.maxAttempts} failed; retrying in ${Duration.format(ended.delay)}`, cause)
    : Effect.logError(`attempt ${claim.attempt}/${claim.maxAttempts} failed; the task has failed`, cause)

/** The annotations of every log line of an attempt, its handler's included. */
export const logAnnotations = (claim: ClaimedTask, nodeId: string) => ({
  module: "TaskManager",
  fiber: "executor",
  taskId: claim.id,
  taskKey: claim.key,
  queue: claim.queue,
  attempt: claim.attempt,
  nodeId
})
