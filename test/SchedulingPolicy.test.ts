import { expect, layer } from "@effect/vitest"
import { Effect, Ref, Schema } from "effect"
import { SchedulingPolicy, Task, TaskAdmin, Tasks, TaskStatus } from "../src/index.js"
import { freshSchema, inSchema, PgTest } from "./support/database.js"
import { asAdmin, claimRequest, migratedSchema, startWorker, storeOf, waitForStatus } from "./support/worker.js"
import type { Store } from "../src/internal/store/store.js"

const Job = Task.make("job", { args: Schema.Struct({ group: Schema.String }) })

/**
 * Enqueues `count` tasks for each group (in that order, all before the worker starts), runs them
 * one at a time (every claim takes a single task) and returns the groups in the order they ran.
 */
const runOrder = (
  policy: SchedulingPolicy.SchedulingPolicy,
  groups: ReadonlyArray<{ readonly group: string; readonly count: number; readonly queue?: string; readonly owner?: string; readonly priority?: number }>
) =>
  Effect.gen(function*() {
    const schema = yield* freshSchema
    yield* (yield* storeOf(schema)).migrate
    const ids: Array<string> = []
    for (const { count, group, ...options } of groups) {
      ids.push(...yield* Tasks.runMany(Job, Array.from({ length: count }, () => ({ group })), options).pipe(inSchema(schema)))
    }
    const order = yield* Ref.make<ReadonlyArray<string>>([])
    yield* startWorker(Job.handler(({ group }) => Ref.update(order, (all) => [...all, group])), {
      schema,
      poolSize: 1,
      scanInterval: "100 millis",
      scheduling: policy
    })
    yield* waitForStatus(schema, ids, [TaskStatus.succeeded])
    return (yield* Ref.get(order)).join("")
  })

/** One claim as a node would make it, with no executor behind it; returns the claimed tasks' groups. */
const claimGroups = (store: Store, policy: SchedulingPolicy.SchedulingPolicy, limit: number) =>
  Effect.map(
    Effect.flatMap(
      store.claim(claimRequest("claimer", [Job.key], limit, policy)),
      (claimed) => store.getMany(claimed.map((task) => task.id))
    ),
    (rows) => rows.map((row) => (row.args as { group: string }).group)
  )

layer(PgTest, { excludeTestServices: true })("scheduling policies", (it) => {
  it.scoped("the fair policy alternates owners even when every claim takes one task", () =>
    Effect.gen(function*() {
      const order = yield* runOrder(SchedulingPolicy.fair(), [
        { group: "A", count: 4, owner: "a" },
        { group: "B", count: 4, owner: "b" }
      ])
      expect(order).toBe("ABABABAB")
    }))

  it.scoped("strict priority serves one line across owners and queues: priority, then enqueue order", () =>
    Effect.gen(function*() {
      const order = yield* runOrder(SchedulingPolicy.strictPriority, [
        { group: "A", count: 4, owner: "a" },
        { group: "B", count: 4, owner: "b", queue: "other" },
        { group: "C", count: 2, owner: "c", priority: 5 }
      ])
      expect(order).toBe("CCAAAABBBB")
    }))

  it.scoped("weights: a queue of weight 3 gets three starts for each one of a queue of weight 1", () =>
    Effect.gen(function*() {
      const order = yield* runOrder(SchedulingPolicy.fair({ weights: { critical: 3 } }), [
        { group: "n", count: 12, queue: "normal" },
        { group: "C", count: 12, queue: "critical" }
      ])
      // Enqueued after the normal ones, critical tasks still take three of every four starts.
      expect(order.slice(0, 16)).toBe("CCnCCCnCCCnCCCnC")
    }))

  it.scoped("a limited queue with many waiting groups does not crowd other queues out of a claim", () =>
    Effect.gen(function*() {
      const { schema, store } = yield* migratedSchema
      yield* TaskAdmin.defineQueue({ name: "narrow", concurrency: 2 }).pipe(asAdmin(schema))
      for (let owner = 0; owner < 50; owner++) {
        yield* Tasks.run(Job, { group: "narrow" }, { queue: "narrow", owner: `o${owner}` }).pipe(inSchema(schema))
      }
      yield* Tasks.runMany(Job, Array.from({ length: 100 }, () => ({ group: "wide" })), { queue: "wide" }).pipe(inSchema(schema))
      for (const policy of [SchedulingPolicy.fair(), SchedulingPolicy.strictPriority]) {
        const groups = yield* claimGroups(store, policy, 10)
        expect(groups.length).toBe(10)
        expect(groups.filter((group) => group === "narrow").length).toBeLessThanOrEqual(2)
      }
    }))

  it.scoped("with hundreds of groups waiting, a newcomer is served next, not after every older backlog", () =>
    Effect.gen(function*() {
      const { schema, store } = yield* migratedSchema
      for (let owner = 0; owner < 300; owner++) {
        yield* Tasks.runMany(Job, Array.from({ length: 5 }, () => ({ group: "old" })), { owner: `o${owner}` }).pipe(
          inSchema(schema)
        )
      }
      // 400 starts: more than the 200 a fixed window would remember, fewer than the groups' tasks.
      for (let claim = 0; claim < 40; claim++) expect((yield* claimGroups(store, SchedulingPolicy.fair(), 10)).length).toBe(10)
      yield* Tasks.run(Job, { group: "new" }, { owner: "newcomer" }).pipe(inSchema(schema))
      expect(yield* claimGroups(store, SchedulingPolicy.fair(), 1)).toEqual(["new"])
    }), { timeout: 30_000 })

  it.scoped("weights hold over hundreds of starts: weight 20 gets twenty starts for each one of weight 1", () =>
    Effect.gen(function*() {
      const { schema, store } = yield* migratedSchema
      yield* Tasks.runMany(Job, Array.from({ length: 500 }, () => ({ group: "light" })), { queue: "light" }).pipe(inSchema(schema))
      yield* Tasks.runMany(Job, Array.from({ length: 500 }, () => ({ group: "heavy" })), { queue: "heavy" }).pipe(inSchema(schema))
      const policy = SchedulingPolicy.fair({ weights: { heavy: 20 } })
      const groups: Array<string> = []
      for (let claim = 0; claim < 420; claim++) groups.push(...yield* claimGroups(store, policy, 1))
      const light = groups.filter((group) => group === "light").length
      expect(groups.length).toBe(420)
      expect(light).toBeGreaterThanOrEqual(18)
      expect(light).toBeLessThanOrEqual(22)
    }), { timeout: 30_000 })
})
