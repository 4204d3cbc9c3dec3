import { Effect, Option } from "effect"
import type { InvalidTaskId, SchemaNotMigrated, TaskStoreError } from "../../TaskError.js"
import * as TaskStatus from "../../TaskStatus.js"
import type { Facts } from "../store/explain.js"
import type { TaskStore } from "../store/service.js"
import { checkIds, withStore } from "./context.js"

/**
 * One reason a task is where it is: why it does not run now, or what it is doing.
 * @since 0.1.0
 * @category models
 */
export type Reason =
  | { readonly _tag: "NotDue"; readonly until: Date }
  | { readonly _tag: "Paused" }
  | { readonly _tag: "HeldByParent"; readonly parentId: string; readonly parentStatus: TaskStatus.TaskStatus | null }
  | { readonly _tag: "WaitingForSibling"; readonly siblingId: string; readonly siblingStatus: TaskStatus.TaskStatus | null }
  | {
    readonly _tag: "QueueAtLimit"
    readonly queue: string
    /** `all nodes`: the queue's `concurrency`; `each node`: its `concurrencyPerNode` on every node that runs the key. */
    readonly scope: "all nodes" | "each node"
    readonly running: number
    readonly limit: number
    readonly nodes: ReadonlyArray<string>
  }
  | { readonly _tag: "NoHandler"; readonly key: string }
  | { readonly _tag: "BehindInGroup"; readonly ahead: number; readonly queue: string }
  | { readonly _tag: "Runnable" }
  | {
    readonly _tag: "Running"
    readonly node: string
    readonly since: Date | null
    readonly leaseUntil: Date | null
    readonly stopRequest: "cancel" | "pause" | null
  }
  | { readonly _tag: "Ended"; readonly status: TaskStatus.TaskStatus; readonly finishedAt: Date | null; readonly lastError: string | null }

/**
 * Why a task is where it is, as data (`reasons`) and in words (`text`).
 * @since 0.1.0
 * @category models
 */
export interface Explanation {
  readonly id: string
  readonly status: TaskStatus.TaskStatus
  readonly reasons: ReadonlyArray<Reason>
  readonly text: string
}

/** The reasons the facts give, most binding first. */
export const reasonsOf = (facts: Facts): ReadonlyArray<Reason> => {
  if (TaskStatus.isTerminal(facts.status)) {
    return [{ _tag: "Ended", status: facts.status, finishedAt: facts.finishedAt, lastError: facts.lastError }]
  }
  if (facts.status === TaskStatus.running) {
    return [{
      _tag: "Running",
      node: facts.claimedBy ?? "",
      since: facts.startedAt,
      leaseUntil: facts.leaseExpiresAt,
      stopRequest: facts.stopRequest
    }]
  }
  const reasons: Array<Reason> = []
  if (facts.status === TaskStatus.paused) reasons.push({ _tag: "Paused" })
  if (facts.notDue) reasons.push({ _tag: "NotDue", until: facts.runAt })
  if (facts.heldBy !== null && facts.parentId !== null) {
    reasons.push({ _tag: "HeldByParent", parentId: facts.parentId, parentStatus: facts.parentStatus })
  }
  if (facts.waitingFor !== null) {
    reasons.push({ _tag: "WaitingForSibling", siblingId: facts.waitingFor, siblingStatus: facts.siblingStatus })
  }
  const runningInQueue = facts.nodesRunningQueue.reduce((sum, each) => sum + each.running, 0)
  if (facts.concurrency !== null && runningInQueue >= facts.concurrency) {
    reasons.push({
      _tag: "QueueAtLimit",
      queue: facts.queue,
      scope: "all nodes",
      running: runningInQueue,
      limit: facts.concurrency,
      nodes: facts.nodesRunningQueue.map((each) => each.node)
    })
  } else if (facts.nodeConcurrency !== null && facts.liveHandlers.length > 0) {
    const full = facts.liveHandlers.filter((node) =>
      (facts.nodesRunningQueue.find((each) => each.node === node)?.running ?? 0) >= facts.nodeConcurrency!
    )
    if (full.length === facts.liveHandlers.length) {
      reasons.push({
        _tag: "QueueAtLimit",
        queue: facts.queue,
        scope: "each node",
        running: runningInQueue,
        limit: facts.nodeConcurrency,
        nodes: full
      })
    }
  }
  if (facts.liveHandlers.length === 0) reasons.push({ _tag: "NoHandler", key: facts.key })
  if (facts.status === TaskStatus.initialized && reasons.length === 0) {
    reasons.push(facts.aheadInGroup > 0 ? { _tag: "BehindInGroup", ahead: facts.aheadInGroup, queue: facts.queue } : { _tag: "Runnable" })
  }
  return reasons
}

const at = (date: Date | null) => date === null ? "an unknown time" : date.toISOString()

/** One reason in words. */
export const describe = (reason: Reason): string => {
  switch (reason._tag) {
    case "NotDue":
      return `not due until ${at(reason.until)}`
    case "Paused":
      return "paused: no node claims it until it is resumed"
    case "HeldByParent":
      return `held by its parent ${reason.parentId}'s running attempt (parent ${reason.parentStatus ?? "gone"}): it runs once that attempt succeeds`
    case "WaitingForSibling":
      return `waiting for sibling ${reason.siblingId} (${reason.siblingStatus ?? "gone"}) to end`
    case "QueueAtLimit":
      return `queue "${reason.queue}" is at its concurrency limit on ${reason.scope} (${reason.running} running, limit ${reason.limit}; on ${
        reason.nodes.join(", ") || "no node"
      })`
    case "NoHandler":
      return `no live node has a handler for "${reason.key}"`
    case "BehindInGroup":
      return `behind ${reason.ahead > 10_000 ? "more than 10,000" : reason.ahead} task(s) of its group in queue "${reason.queue}"`
    case "Runnable":
      return "due and first in its group: the next claim of a node that runs its key takes it"
    case "Running":
      return `running on node ${reason.node} since ${at(reason.since)} (lease until ${at(reason.leaseUntil)})${
        reason.stopRequest === null ? "" : `; asked to ${reason.stopRequest}`
      }`
    case "Ended":
      return `${reason.status} at ${at(reason.finishedAt)}${reason.lastError === null ? "" : `; last error: ${reason.lastError}`}`
  }
}

/**
 * Why a task is not running now (not due until a time, paused, waiting for a sibling, held by its
 * parent's attempt, its queue at its concurrency limit, behind other tasks of its group, no live
 * node with a handler for its key) or what it is doing (running on a node since a time, ended),
 * as data and in words. `None` for an id no task has. One statement of indexed look-ups.
 * @since 0.1.0
 * @category combinators
 */
export const explain = (
  id: string
): Effect.Effect<Option.Option<Explanation>, InvalidTaskId | SchemaNotMigrated | TaskStoreError, TaskStore> =>
  Effect.flatMap(checkIds([id]), () =>
    Effect.map(withStore((store) => store.explain(id)), (facts) =>
      Option.map(facts, (found) => {
        const reasons = reasonsOf(found)
        return { id: found.id, status: found.status, reasons, text: reasons.map(describe).join("; ") }
      })))
