import { expect, layer } from "@effect/vitest"
import { Duration, Effect, Option, Schema } from "effect"
import { SchedulingPolicy, Task, TaskAdmin, Tasks, TaskStore } from "../src/index.js"
import type { ClaimedTask } from "../src/internal/store/taskRow.js"
import type { Store } from "../src/internal/store/store.js"
import { inSchema, PgTest } from "./support/database.js"
import { migratedSchema } from "./support/worker.js"
import { childOf } from "./store/TaskStoreSuite.js"

const Job = Task.make("explain-job", { args: Schema.Struct({ n: Schema.Number }) })
const Orphan = Task.make("explain-orphan", { args: Schema.Struct({}) })

/** A live node that runs `Job`: registered, and its heartbeat has said which keys it runs. */
const liveNode = (store: Store, nodeId: string) =>
  Effect.gen(function*() {
    const node = Option.getOrThrow(yield* store.register({ nodeId, host: "test", pid: 1, nodeTimeout: Duration.minutes(1) }))
    yield* store.heartbeat({ ...node, claimTokens: [], keys: [Job.key], leaseDuration: Duration.minutes(1), freshFor: Duration.zero })
  })

const claimOne = (store: Store, nodeId: string) =>
  Effect.map(
    store.claim({
      keys: [Job.key],
      timeouts: [Duration.minutes(1)],
      deadlineGrace: Duration.seconds(1),
      limit: 1,
      nodeId,
      leaseDuration: Duration.minutes(1),
      policy: SchedulingPolicy.strictPriority
    }),
    (claims): ClaimedTask => claims[0]!
  )

const setup = Effect.gen(function*() {
  const { schema, store } = yield* migratedSchema
  yield* liveNode(store, "node-a")
  const admin = Effect.provide(TaskStore.layer({ schema }))
  const explain = (id: string) =>
    Effect.map(TaskAdmin.explain(id).pipe(admin), (found) => Option.getOrThrow(found))
  const tags = (id: string) => Effect.map(explain(id), (found) => found.reasons.map((reason) => reason._tag))
  return { schema, store, explain, tags, enqueue: inSchema(schema), admin }
})

layer(PgTest, { excludeTestServices: true })("TaskAdmin.explain", (it) => {
  it.scoped("runnable, behind its group, not due, paused, no live handler, running and ended", () =>
    Effect.gen(function*() {
      const { enqueue, explain, store, tags } = yield* setup
      const [first, second, third] = yield* Tasks.runMany(Job, [{ n: 1 }, { n: 2 }, { n: 3 }]).pipe(enqueue)
      expect(yield* tags(first!)).toEqual(["Runnable"])
      const behind = yield* explain(third!)
      expect(behind.reasons).toEqual([{ _tag: "BehindInGroup", ahead: 2, queue: "default" }])
      expect(behind.text).toBe(`behind 2 task(s) of its group in queue "default"`)
      const later = yield* Tasks.run(Job, { n: 4 }, { delay: "1 hour" }).pipe(enqueue)
      const notDue = yield* explain(later)
      expect(notDue.reasons[0]?._tag).toBe("NotDue")
      expect(notDue.text).toMatch(/^not due until \d{4}-/)
      const paused = yield* Tasks.run(Job, { n: 5 }, { paused: true }).pipe(enqueue)
      expect(yield* tags(paused)).toEqual(["Paused"])
      const orphan = yield* Tasks.run(Orphan, {}).pipe(enqueue)
      expect((yield* explain(orphan)).text).toBe(`no live node has a handler for "explain-orphan"`)
      const claim = yield* claimOne(store, "node-a")
      expect(claim.id).toBe(first)
      const running = yield* explain(first!)
      expect(running.reasons[0]).toMatchObject({ _tag: "Running", node: "node-a", stopRequest: null })
      expect(yield* tags(second!)).toEqual(["Runnable"])
      yield* store.finishIfClaimed([{
        id: claim.id,
        claimToken: claim.claimToken,
        status: "failed",
        delayMillis: 0,
        error: "attempt 1/1: boom",
        countsAsAttempt: true,
        keepsChildren: false, result: null
      }])
      const ended = yield* explain(first!)
      expect(ended.reasons[0]).toMatchObject({ _tag: "Ended", status: "failed", lastError: "attempt 1/1: boom" })
      expect(ended.text).toContain("last error: attempt 1/1: boom")
      expect(yield* TaskAdmin.explain("999999").pipe(Effect.provide(TaskStore.layer({ schema: store.schema })))).toEqual(Option.none())
    }))

  it.scoped("held by its parent's attempt, then waiting for its sibling", () =>
    Effect.gen(function*() {
      const { enqueue, explain, store } = yield* setup
      yield* Tasks.run(Job, { n: 0 }).pipe(enqueue)
      const parent = yield* claimOne(store, "node-a")
      const [a, b] = yield* store.insertChildren(parent.claimToken, [childOf(parent, 1, Job.key), childOf(parent, 2, Job.key)])
      expect((yield* explain(a!)).reasons).toEqual([{ _tag: "HeldByParent", parentId: parent.id, parentStatus: "running" }])
      yield* store.finishIfClaimed([{
        id: parent.id, claimToken: parent.claimToken, status: "succeeded", delayMillis: 0, error: null, countsAsAttempt: true, keepsChildren: true, result: null
      }])
      expect((yield* explain(b!)).reasons).toEqual([{ _tag: "WaitingForSibling", siblingId: a, siblingStatus: "initialized" }])
    }))

  it.scoped("its queue at its concurrency limit, across all nodes or on each node that runs it", () =>
    Effect.gen(function*() {
      const { admin, enqueue, explain, store } = yield* setup
      yield* TaskAdmin.defineQueue({ name: "narrow", concurrency: 1 }).pipe(admin)
      const [, waiting] = yield* Tasks.runMany(Job, [{ n: 1 }, { n: 2 }], { queue: "narrow" }).pipe(enqueue)
      yield* claimOne(store, "node-a")
      expect((yield* explain(waiting!)).reasons).toEqual([
        { _tag: "QueueAtLimit", queue: "narrow", scope: "all nodes", running: 1, limit: 1, nodes: ["node-a"] }
      ])
      yield* TaskAdmin.defineQueue({ name: "narrow", concurrencyPerNode: 1 }).pipe(admin)
      const perNode = yield* explain(waiting!)
      expect(perNode.reasons).toEqual([
        { _tag: "QueueAtLimit", queue: "narrow", scope: "each node", running: 1, limit: 1, nodes: ["node-a"] }
      ])
      expect(perNode.text).toBe(`queue "narrow" is at its concurrency limit on each node (1 running, limit 1; on node-a)`)
    }))
})
