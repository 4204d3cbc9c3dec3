/**
 * One round of the claimer on its own (`runOnce`), against a real store: what it claims, how much,
 * and that each claim becomes an executor in the running map.
 */
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Duration, Effect, FiberMap, Option, Queue, Ref, Schema } from "effect"
import { makeClaimer } from "../../src/internal/worker/claimer.js"
import { makeDueSoon } from "../../src/internal/worker/dueSoon.js"
import { makeHandlerPace } from "../../src/internal/worker/pace.js"
import { makePhases } from "../../src/internal/worker/running.js"
import { makeClaimSlots } from "../../src/internal/worker/slots.js"
import { makeHealthBoard } from "../../src/internal/worker/supervisor.js"
import { SchedulingPolicy, Task, TaskRegistry, Tasks } from "../../src/index.js"
import { inSchema, PgTest } from "../support/database.js"
import { migratedSchema } from "../support/worker.js"
import type { ClaimedTask } from "../../src/internal/store/taskRow.js"

const Job = Task.make("job", { args: Schema.Struct({ n: Schema.Number }) })
const Other = Task.make("other", { args: Schema.Struct({ n: Schema.Number }) })

/** A claimer over a fresh schema holding `jobs` Jobs and 2 Others; only Job has a handler here. */
const setup = (jobs: number, slots: number) =>
  Effect.gen(function*() {
    const { schema, store } = yield* migratedSchema
    yield* Tasks.runMany(Job, Array.from({ length: jobs }, (_, n) => ({ n }))).pipe(inSchema(schema))
    yield* Tasks.runMany(Other, [{ n: 0 }, { n: 1 }]).pipe(inSchema(schema))
    const registry = yield* TaskRegistry.make
    yield* registry.register(Job, () => Effect.void)
    const node = yield* store.register({ nodeId: "claimer-test", host: "test", pid: 1, nodeTimeout: Duration.seconds(10) })
    const registration = yield* Ref.make(node)
    const executed = yield* Ref.make<ReadonlyArray<ClaimedTask>>([])
    const claimSlots = yield* makeClaimSlots(slots)
    const running = yield* FiberMap.make<string, void, never>()
    const forkAttempt = yield* FiberMap.runtime(running)<never>()
    const claimer = yield* makeClaimer({
      store,
      registry,
      claimSlots,
      phases: yield* makePhases,
      maxEndsPending: 100,
      poolSize: slots,
      claimAhead: 0,
      isClaimAheadAdaptive: false,
      pace: yield* makeHandlerPace,
      claimBatchSize: 100,
      nodeId: "claimer-test",
      registration,
      leaseDuration: Duration.seconds(8),
      defaultTimeout: Duration.minutes(1),
      deadlineGrace: Duration.seconds(10),
      scanInterval: Duration.seconds(5),
      policy: SchedulingPolicy.strictPriority,
      start: (claim) => forkAttempt(claim.claimToken, Ref.update(executed, (all) => [...all, claim])),
      wakeups: yield* Queue.sliding<void>(1),
      dueSoon: yield* makeDueSoon(Duration.zero),
      board: yield* makeHealthBoard
    })
    // The loop takes a slot before each round; a round alone needs the same.
    const round = Effect.zipRight(claimSlots.take(1), claimer.runOnce)
    const statuses = Effect.flatMap(SqlClient.SqlClient, (sql) =>
      sql<{ key: string; status: string; claimedBy: string | null }>`
        SELECT key, status, claimed_by AS "claimedBy" FROM ${sql(`${schema}.tasks`)} ORDER BY id`.withoutTransform)
    return { round, executed, claimSlots, registration, statuses, running }
  })

layer(PgTest, { excludeTestServices: true })("claimer round", (it) => {
  it.scoped("claims as many tasks of its handlers' keys as it has free slots, in one statement, and starts each", () =>
    Effect.gen(function*() {
      const { claimSlots, executed, round, running, statuses } = yield* setup(5, 3)
      expect(yield* round).toEqual({ claimed: 3, limit: 3, limitsChanged: false })
      yield* FiberMap.awaitEmpty(running)
      expect((yield* Ref.get(executed)).map((claim) => claim.key)).toEqual(["job", "job", "job"])
      expect(yield* claimSlots.free).toBe(0) // each claim holds its slot until its executor gives it back
      const rows = yield* statuses
      expect(rows.filter((row) => row.status === "running").map((row) => [row.key, row.claimedBy])).toEqual([
        ["job", "claimer-test"],
        ["job", "claimer-test"],
        ["job", "claimer-test"]
      ])
      // A key without a handler here is never claimed.
      expect(rows.filter((row) => row.key === "other").map((row) => row.status)).toEqual(["initialized", "initialized"])
    }))

  it.scoped("claims nothing, and gives its slot back, when nothing is runnable or the node's id was taken", () =>
    Effect.gen(function*() {
      const { claimSlots, executed, registration, round } = yield* setup(2, 4)
      const node = yield* Ref.get(registration)
      yield* Ref.set(registration, Option.none()) // another live process holds this node id
      expect((yield* round).claimed).toBe(0)
      expect(yield* claimSlots.free).toBe(4)
      expect(yield* Ref.get(executed)).toEqual([])
      yield* Ref.set(registration, node)
      expect((yield* round).claimed).toBe(2)
      // Both Jobs are claimed and the Others have no handler here: nothing is runnable.
      expect(yield* round).toEqual({ claimed: 0, limit: 2, limitsChanged: false })
      expect(yield* claimSlots.free).toBe(2)
    }))
})
