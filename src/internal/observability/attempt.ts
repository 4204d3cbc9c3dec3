import { type Cause, Duration, Effect, HashMap, Option, type Tracer } from "effect"
import * as TaskStatus from "../../TaskStatus.js"
import type { Entry } from "../../TaskRegistry.js"
import type { ClaimedTask } from "../store/taskRow.js"
import type { Outcome } from "../worker/outcome.js"
import { perTaskPair } from "./metrics.js"
import { attemptSpanPlacement, messaging } from "./trace.js"

/** The counter an ended attempt adds to: an operator's stop request, when honoured, decides it. */
export type Counter = "canceled" | "paused" | "succeeded" | "retried" | "failed" | "released" | "snoozed"

export const counterOf = (ended: Outcome, status: TaskStatus.TaskStatus): Counter =>
  status === TaskStatus.canceled
    ? "canceled"
    : status === TaskStatus.paused && ended._tag !== "Succeeded"
    ? "paused"
    : ({ Succeeded: "succeeded", Retry: "retried", Failed: "failed", Released: "released", Snoozed: "snoozed" } as const)[ended._tag]

/** How an attempt ended as recorded, in words of the spans (`effect_tasks.task.outcome`). */
export const outcomeName = {
  succeeded: "succeed",
  retried: "retry",
  failed: "fail",
  released: "release",
  snoozed: "snooze",
  canceled: "cancel",
  paused: "pause"
} as const satisfies Record<Counter, string>

/** The settle span's operation name: the end the worker writes. */
export const settleName = {
  Succeeded: "succeed",
  Retry: "retry",
  Failed: "fail",
  Released: "release",
  Snoozed: "snooze"
} as const satisfies Record<Outcome["_tag"], string>

/** What the `settle` span of a write needs of each attempt whose end it writes. */
export interface Settled {
  /** The attempt's `process` span. */
  readonly span: Tracer.AnySpan
  readonly id: string
  readonly queue: string
  /** The end written (`settleName`). */
  readonly end: string
}

/**
 * The `process <queue>` span of an attempt on the node `nodeId`: a root linked to the span that
 * enqueued the task, or its child, as the definition's `trace` says. The attributes every attempt
 * of one task key and queue shares are made once; the attempt's own (`messaging.message.id`,
 * `effect_tasks.task.attempt`) are set on the span once made (`attemptAttributes`).
 */
export const makeProcessSpan = (nodeId: string) => {
  const attributesOf = (key: string, queue: string): Record<string, unknown> =>
    Object.freeze({ ...messaging("process", queue), "effect_tasks.task.key": key, "effect_tasks.node.id": nodeId })
  const shared = perTaskPair(attributesOf, attributesOf)
  return (claim: ClaimedTask, entry: Option.Option<Entry>): Tracer.SpanOptions => ({
    kind: "consumer",
    captureStackTrace: false,
    ...attemptSpanPlacement(claim.traceparent, Option.match(entry, { onNone: () => "link", onSome: ({ task }) => task.trace })),
    attributes: shared(claim.key, claim.queue)
  })
}

/** Sets the attributes of one attempt on its `process` span. */
export const attemptAttributes = (span: Tracer.Span, claim: ClaimedTask): void => {
  span.attribute("messaging.message.id", claim.id)
  span.attribute("effect_tasks.task.attempt", claim.attempt)
}

/**
 * The `settle` span of one write of attempts' ends (`settle <queue>` when they share a queue): the
 * child of the attempt's `process` span when it writes one end, else a root linked to each
 * attempt's (a batch, as the messaging conventions have it). Its operation name is the end
 * written when all are the same (`succeed`, ...), else `settle`.
 */
export const settleSpan = (settled: ReadonlyArray<Settled>): { readonly name: string; readonly options: Tracer.SpanOptions } => {
  const first = settled[0]!
  const queue = settled.every((one) => one.queue === first.queue) ? first.queue : undefined
  const end = settled.every((one) => one.end === first.end) ? first.end : "settle"
  const attributes = {
    ...messaging("settle", queue, end),
    ...(settled.length === 1 ? { "messaging.message.id": first.id } : { "messaging.batch.message_count": settled.length })
  }
  const placement: Tracer.SpanOptions = settled.length === 1
    ? { parent: first.span }
    : { root: true, links: settled.map((one) => ({ _tag: "SpanLink", span: one.span, attributes: {} })) }
  return {
    name: queue === undefined ? "settle" : `settle ${queue}`,
    options: { ...placement, kind: "client", captureStackTrace: false, attributes }
  }
}

/** The library's own lines about an attempt (its handler's lines carry only the attempt's annotations). */
export const ownLine = Effect.annotateLogs({ module: "TaskManager", fiber: "executor" })

/** The one line a failed attempt logs, with its Cause: a warning when it will be retried, an error when the task has failed. */
export const logFailure = (claim: ClaimedTask, ended: Outcome, cause: Cause.Cause<unknown>): Effect.Effect<void> =>
  ownLine(
    ended._tag === "Retry"
      ? Effect.logWarning(`attempt ${claim.attempt}/${claim.maxAttempts} failed; retrying in ${Duration.format(ended.delay)}`, cause)
      : Effect.logError(`attempt ${claim.attempt}/${claim.maxAttempts} failed; the task has failed`, cause)
  )

/** The annotations of every log line of an attempt, its handler's included (exactly these). */
export const logAnnotations = (claim: ClaimedTask, nodeId: string): HashMap.HashMap<string, unknown> =>
  HashMap.make(
    ["taskId", claim.id],
    ["taskKey", claim.key],
    ["queue", claim.queue],
    ["attempt", claim.attempt],
    ["nodeId", nodeId]
  )
