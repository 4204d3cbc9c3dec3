import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Ref, Schema } from "effect"
import { Task, TaskAdmin, Tasks, TaskStatus, TaskStore } from "../src/index.js"
import { databaseUrl, freshSchema, inSchema, PgTest } from "./support/database.js"
import { Sleepy } from "./support/sleepy.js"
import { migratedSchema, sleepyTaskInAProcess, spawnWorkerProcess, startWorker, storeOf, waitForStatus } from "./support/worker.js"
import { waitFor } from "./support/waitFor.js"

const Job = Task.make("operate-job", { args: Schema.Struct({ n: Schema.Number }) })

/** The `test_events` table the test worker process records its handler's start and finalizer in. */
const eventsTable = (schema: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE SCHEMA IF NOT EXISTS ${sql(schema)}`
    yield* sql`CREATE TABLE ${sql(`${schema}.test_events`)} (task_id bigint, event text, at timestamptz DEFAULT clock_timestamp())`
    return (id: string) =>
      Effect.map(
        sql<{ event: string }>`SELECT event FROM ${sql(`${schema}.test_events`)} WHERE task_id = ${id}::bigint ORDER BY at`,
        (rows) => rows.map((row) => row.event)
      )
  })

layer(PgTest, { excludeTestServices: true })("operating on tasks", (it) => {
  it.scoped("a task paused while running on process A is interrupted, kept paused, and after a resume runs on process B", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const events = yield* eventsTable(schema)
      const { child, id } = yield* sleepyTaskInAProcess(databaseUrl(), schema)
      yield* waitFor("the handler to start on A", events(id), (seen) => seen.includes("started"))
      const admin = Effect.provide(TaskStore.layer({ schema }))
      expect(yield* TaskAdmin.pause([id]).pipe(admin)).toEqual([id])
      const [paused] = yield* waitForStatus(schema, [id], [TaskStatus.paused])
      expect(paused).toMatchObject({ attempt: 0, claimedBy: null })
      expect(yield* events(id)).toEqual(["started", "finalized"])
      yield* child.kill("SIGKILL")
      yield* spawnWorkerProcess(databaseUrl(), schema)
      expect(yield* TaskAdmin.resume([id]).pipe(admin)).toEqual([id])
      // It resumes from the checkpoint the attempt on A stored.
      yield* waitFor("the handler to start on B", events(id), (seen) => seen.length === 4)
      expect(yield* events(id)).toEqual(["started", "finalized", "from step 1", "started"])
      // The attempt on B stores its own next step.
      const [running] = yield* waitFor("B's checkpoint", (yield* storeOf(schema)).getMany([id]), ([row]) =>
        (row?.checkpoint as { step?: number } | null)?.step === 2)
      expect(running).toMatchObject({ status: TaskStatus.running, attempt: 1 })
    }), { timeout: 30_000 })

  it.scoped("a task whose worker process is killed is rescued and resumes from its checkpoint on another process", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const events = yield* eventsTable(schema)
      const store = yield* storeOf(schema)
      yield* store.migrate
      const id = yield* Tasks.run(Sleepy, {}).pipe(inSchema(schema))
      const a = yield* spawnWorkerProcess(databaseUrl(), schema, "workerProcess.ts", ["fast"])
      yield* waitFor("the checkpoint on A", store.getMany([id]), ([row]) => row?.checkpoint !== null)
      yield* a.kill("SIGKILL")
      yield* spawnWorkerProcess(databaseUrl(), schema, "workerProcess.ts", ["fast"])
      yield* waitFor("the rescued task to start on B", events(id), (seen) => seen.includes("from step 1"))
      const [row] = yield* waitFor("B's checkpoint", store.getMany([id]), ([found]) =>
        (found?.checkpoint as { step?: number } | null)?.step === 2)
      expect(row).toMatchObject({ status: TaskStatus.running, lostCount: 1 })
      expect(row?.lastError).toContain("worker lost")
    }), { timeout: 30_000 })

  it.scoped("rerun runs failed tasks again; move brings a delayed task forward; delete removes a waiting one", () =>
    Effect.gen(function*() {
      const { schema } = yield* migratedSchema
      const runs = yield* Ref.make<ReadonlyArray<number>>([])
      const fails = yield* Ref.make(true)
      yield* startWorker(
        Job.handler(({ n }) =>
          Effect.zipRight(
            Ref.update(runs, (all) => [...all, n]),
            Effect.flatMap(Ref.get(fails), (failing) => failing && n === 1 ? Effect.fail("first time") : Effect.void)
          )
        ),
        { schema }
      )
      const admin = Effect.provide(TaskStore.layer({ schema }))
      const failing = yield* Tasks.run(Job, { n: 1 }).pipe(inSchema(schema))
      yield* waitForStatus(schema, [failing], [TaskStatus.failed])
      yield* Ref.set(fails, false)
      expect(yield* TaskAdmin.rerun([failing]).pipe(admin)).toEqual([failing])
      const [rerun] = yield* waitForStatus(schema, [failing], [TaskStatus.succeeded])
      expect(rerun?.attempt).toBe(1)
      const [later, gone] = yield* Tasks.runMany(Job, [{ n: 2 }, { n: 3 }], { delay: "1 hour" }).pipe(inSchema(schema))
      expect(yield* TaskAdmin.remove([gone!]).pipe(admin)).toEqual([gone])
      expect(yield* TaskAdmin.move([later!], { runAt: new Date() }).pipe(admin)).toEqual([later])
      yield* waitForStatus(schema, [later!], [TaskStatus.succeeded])
      expect(yield* Ref.get(runs)).toEqual([1, 1, 2])
      expect(yield* (yield* TaskStore.make({ schema })).getMany([gone!])).toEqual([])
    }))

  it.scoped("by filter: rerun what failed, cancel what waits, each among the tasks in a state it applies to", () =>
    Effect.gen(function*() {
      const { schema, store } = yield* migratedSchema
      const sql = yield* SqlClient.SqlClient
      const admin = Effect.provide(TaskStore.layer({ schema }))
      const ids = yield* Tasks.runMany(Job, [1, 2, 3, 4, 5].map((n) => ({ n }))).pipe(inSchema(schema))
      const tasks = sql(`${schema}.tasks`)
      yield* sql`UPDATE ${tasks} SET status = 'failed', finished_at = now() - interval '8 hours' WHERE id IN (${ids[0]!}::bigint, ${ids[1]!}::bigint)`
      yield* sql`UPDATE ${tasks} SET status = 'failed', finished_at = now() - interval '3 days' WHERE id = ${ids[2]!}::bigint`
      const lastNight = new Date(Date.now() - 24 * 3_600_000)
      expect(yield* TaskAdmin.rerun({ status: "failed", finishedAfter: lastNight }).pipe(admin)).toEqual([ids[0], ids[1]])
      // A filter naming statuses a change does not apply to changes nothing of them.
      expect(yield* TaskAdmin.rerun({ status: "initialized" }).pipe(admin)).toEqual([])
      expect(yield* TaskAdmin.cancel({ key: Job.key }).pipe(admin)).toEqual([ids[0], ids[1], ids[3], ids[4]])
      expect((yield* store.getMany(ids)).map((row) => row.status)).toEqual(["canceled", "canceled", "failed", "canceled", "canceled"])
    }))

  it.scoped("illegal requests are typed errors naming each task's state, and change nothing", () =>
    Effect.gen(function*() {
      const { schema, store } = yield* migratedSchema
      const admin = Effect.provide(TaskStore.layer({ schema }))
      const [waiting, other] = yield* Tasks.runMany(Job, [{ n: 1 }, { n: 2 }]).pipe(inSchema(schema))
      const rerun = yield* TaskAdmin.rerun([waiting!, "424242"]).pipe(admin, Effect.flip)
      expect(rerun).toMatchObject({
        _tag: "TaskStateConflict",
        action: "rerun",
        tasks: [{ id: waiting, status: "initialized" }, { id: "424242", status: null }]
      })
      expect(rerun.message).toBe(`cannot rerun: task ${waiting} is initialized, task 424242 does not exist`)
      const moved = yield* TaskAdmin.move([waiting!], { priority: 1.5 }).pipe(admin, Effect.flip)
      expect(moved).toMatchObject({ _tag: "InvalidTaskOptions", option: "priority" })
      expect(yield* TaskAdmin.delete([waiting!, other!]).pipe(admin)).toEqual([waiting, other])
      const again = yield* TaskAdmin.delete([waiting!]).pipe(admin, Effect.flip)
      expect(again).toMatchObject({ _tag: "TaskStateConflict", tasks: [{ id: waiting, status: null }] })
      expect(yield* store.getMany([waiting!, other!])).toEqual([])
      const malformed = yield* TaskAdmin.cancel(["not-an-id"]).pipe(admin, Effect.flip)
      expect(malformed._tag).toBe("InvalidTaskId")
    }))
})
