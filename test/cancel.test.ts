import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Ref, Schema } from "effect"
import { Task, TaskAdmin, Tasks, TaskStatus, TaskStore } from "../src/index.js"
import { databaseUrl, freshSchema, inSchema, PgTest } from "./support/database.js"
import { Sleepy } from "./support/sleepy.js"
import { migratedSchema, sleepyTaskInAProcess, startWorker, waitForListener, waitForStatus } from "./support/worker.js"
import { waitFor } from "./support/waitFor.js"

const Quick = Task.make("quick", { args: Schema.Struct({ n: Schema.Number }) })

layer(PgTest, { excludeTestServices: true })("cancel", (it) => {
  it.scoped("a task running on another worker process is interrupted within a second: its finalizer ran, it ends canceled and never runs again", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const schema = yield* freshSchema
      yield* sql`CREATE SCHEMA IF NOT EXISTS ${sql(schema)}`
      yield* sql`CREATE TABLE ${sql(`${schema}.test_events`)} (task_id bigint, event text, at timestamptz DEFAULT clock_timestamp())`
      const events = (id: string) =>
        Effect.map(
          sql<{ event: string }>`SELECT event FROM ${sql(`${schema}.test_events`)} WHERE task_id = ${id}::bigint ORDER BY at`,
          (rows) => rows.map((row) => row.event)
        )
      const { id } = yield* sleepyTaskInAProcess(databaseUrl(), schema)
      yield* waitFor("the handler to start", events(id), (seen) => seen.includes("started"))
      // The stop request is a notification: the worker must be listening for it (on a busy machine
      // its LISTEN may come after its first claim).
      yield* waitForListener(schema)
      const admin = Effect.provide(TaskStore.layer({ schema }))
      const askedAt = Date.now()
      expect(yield* TaskAdmin.cancel([id]).pipe(admin)).toEqual([id])
      const [row] = yield* waitForStatus(schema, [id], [TaskStatus.canceled])
      const took = Date.now() - askedAt
      yield* Effect.log(`canceled ${took} ms after the call`)
      expect(took).toBeLessThan(1000)
      expect(row).toMatchObject({ status: TaskStatus.canceled, claimToken: null, claimedBy: null })
      expect(row?.finishedAt).toBeInstanceOf(Date)
      expect(yield* events(id)).toEqual(["started", "finalized"])
      // The worker goes on: it starts the next task, and the canceled one never again.
      const next = yield* Tasks.run(Sleepy, {}).pipe(inSchema(schema))
      yield* waitFor("the next task to start", events(next), (seen) => seen.includes("started"))
      expect(yield* events(id)).toEqual(["started", "finalized"])
      // A canceled task is finished: canceling it again is refused, naming its status.
      const refused = yield* TaskAdmin.cancel([id]).pipe(admin, Effect.flip)
      expect(refused).toMatchObject({ _tag: "TaskStateConflict", action: "cancel", tasks: [{ id, status: "canceled" }] })
    }), { timeout: 30_000 })

  it.scoped("a queued task is canceled at once and no worker ever runs it", () =>
    Effect.gen(function*() {
      const { schema } = yield* migratedSchema
      const [canceled, kept] = yield* Tasks.runMany(Quick, [{ n: 1 }, { n: 2 }]).pipe(inSchema(schema))
      expect(yield* TaskAdmin.cancel([canceled!]).pipe(Effect.provide(TaskStore.layer({ schema })))).toEqual([canceled])
      const runs = yield* Ref.make<ReadonlyArray<number>>([])
      yield* startWorker(Quick.handler(({ n }) => Ref.update(runs, (all) => [...all, n])), { schema })
      yield* waitForStatus(schema, [kept!], [TaskStatus.succeeded])
      expect(yield* Ref.get(runs)).toEqual([2])
      const [row] = yield* (yield* TaskStore.make({ schema })).getMany([canceled!])
      expect(row?.status).toBe(TaskStatus.canceled)
    }))

  it.scoped("a cancel racing the task's own end leaves exactly one outcome: succeeded (only after the handler succeeded) or canceled", () =>
    Effect.gen(function*() {
      const { schema } = yield* migratedSchema
      const succeeded = yield* Ref.make(new Set<number>())
      yield* startWorker(
        Quick.handler(({ n }) =>
          // Odd tasks outlast any poll (surely canceled); even ones end within a few milliseconds,
          // racing the cancel.
          Effect.zipRight(Effect.sleep(n % 2 === 1 ? "300 millis" : `${n % 7} millis`), Ref.update(succeeded, (all) => new Set(all).add(n)))),
        { schema, poolSize: 8 }
      )
      const ids = yield* Tasks.runMany(Quick, Array.from({ length: 60 }, (_, n) => ({ n }))).pipe(inSchema(schema))
      // Cancel each task once it has started (or ended), in waves, while the others run.
      const admin = Effect.provide(TaskStore.layer({ schema }))
      const store = yield* TaskStore.make({ schema })
      const left = new Set(ids)
      while (left.size > 0) {
        const rows = yield* store.getMany([...left])
        const started = rows.filter((row) => row.status !== TaskStatus.initialized).map((row) => row.id)
        for (const id of started) left.delete(id)
        const cancelable = rows.filter((row) => row.status === TaskStatus.running).map((row) => row.id)
        if (cancelable.length > 0) yield* TaskAdmin.cancel(cancelable).pipe(admin, Effect.ignore)
        yield* Effect.sleep("1 millis")
      }
      const ended = yield* waitForStatus(schema, ids, [TaskStatus.succeeded, TaskStatus.canceled])
      const handlerSucceeded = yield* Ref.get(succeeded)
      for (const row of ended) {
        const n = ids.indexOf(row.id)
        // Succeeded only once the handler had succeeded; either way the task has ended, once.
        if (row.status === TaskStatus.succeeded) expect(handlerSucceeded.has(n)).toBe(true)
        expect(row.finishedAt).toBeInstanceOf(Date)
      }
      // Both outcomes happened: the race was run.
      expect(ended.filter((row) => row.status === TaskStatus.canceled).length).toBeGreaterThan(0)
      expect(ended.filter((row) => row.status === TaskStatus.succeeded).length).toBeGreaterThan(0)
    }), { timeout: 30_000 })
})
