import { expect, layer } from "@effect/vitest"
import { Effect, Ref, Schema } from "effect"
import { SchedulingPolicy, Task, Tasks, TaskStatus } from "../src/index.js"
import { freshSchema, inSchema, PgTest } from "./support/database.js"
import { startWorker, storeOf, waitForStatus } from "./support/worker.js"

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
})
