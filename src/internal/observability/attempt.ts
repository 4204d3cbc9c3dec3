import { type Cause, Duration, Effect, HashMap, Option, type Tracer } from "effect"
import * as TaskStatus from "../../TaskStatus.js"
import type { Entry } from "../../TaskRegistry.js"
import type { ClaimedTask } from "../store/taskRow.js"
import type { Outcome } from "../worker/outcome.js"
import { perTaskPair } from "./metrics.js"
import type { SpanMaker, SpanStart } from "./spans.js"
import { makeAttemptSpanPlacement, messaging } from "./trace.js"

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
 * Starts the `process <queue>` span of an attempt on the node `nodeId`: a root linked to the span
 * that enqueued the task, or its child, as the definition's `trace` says. The attributes every
 * attempt of one task key and queue shares are made once; the attempt's own
 * (`messaging.message.id`, `effect_tasks.task.attempt`) are added to the span.
 */
export const makeProcessSpans = (spans: SpanMaker, nodeId: string) => {
  // Per task key and queue: the span's name, and how a root of its own starts (an attempt of a
  // task enqueued where no span was current).
  const startOf = (key: string, queue: string) => {
    const attributes = Object.freeze({ ...messaging("process", queue), "effect_tasks.task.key": key, "effect_tasks.node.id": nodeId })
    const root: SpanStart = Object.freeze({ root: true, kind: "consumer", attributes })
    return { name: `process ${queue}`, root }
  }
  const made = perTaskPair(startOf, startOf)
  const placementOf = makeAttemptSpanPlacement()
  return (claim: ClaimedTask, entry: Option.Option<Entry>): Tracer.Span => {
    const { name, root } = made(claim.key, claim.queue)
    const span = spans.start(
      name,
      claim.traceparent === null ? root : {
        ...placementOf(claim.traceparent, Option.match(entry, { onNone: () => "link", onSome: ({ task }) => task.trace })),
        kind: "consumer",
        attributes: root.attributes
      }
    )
    span.attribute("messaging.message.id", claim.id)
    span.attribute("effect_tasks.task.attempt", claim.attempt)
    return span
  }
}

/**
 * A `settle` span of one write of attempts' ends (`settle <queue>` when they share a queue): the
 * child of the attempt's `process` span when the statement writes one end; when it writes several,
 * a root linked to each attempt's (a batch, as the messaging conventions have it), one per
 * `share` of them when the statement is split over several spans. Its operation name is the end
 * written when all are the same (`succeed`, ...), else `settle`.
 */
export const settleSpan = (
  share: ReadonlyArray<Settled>,
  isBatch: boolean
): { readonly name: string; readonly start: SpanStart } => {
  const first = share[0]!
  const queue = share.every((one) => one.queue === first.queue) ? first.queue : undefined
  const end = share.every((one) => one.end === first.end) ? first.end : "settle"
  const attributes = {
    ...messaging("settle", queue, end),
    ...(isBatch ? { "messaging.batch.message_count": share.length } : { "messaging.message.id": first.id })
  }
  return {
    name: queue === undefined ? "settle" : `settle ${queue}`,
    start: isBatch
      ? { root: true, links: share.map((one) => ({ _tag: "SpanLink", span: one.span, attributes: {} })), kind: "client", attributes }
      : { parent: first.span, kind: "client", attributes }
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
