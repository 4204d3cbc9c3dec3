import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Deferred, Effect, Layer, Option, Ref, Schema } from "effect"
import { Task, TaskAdmin, TaskManager, Tasks, TaskStatus } from "../src/index.js"
import { freshSchema, inSchema, PgTest } from "./support/database.js"
import { asAdmin, startWorker, storeOf, twoClaimRoundsLater, waitForListener, waitForStatus } from "./support/worker.js"

const Job = Task.make("job", { args: Schema.Struct({ n: Schema.Number }) })

layer(PgTest, { excludeTestServices: true })("TaskAdmin", (it) => {
  it.scoped("a worker program administers its tasks with TaskManager.layer alone: it provides the TaskStore", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const done = yield* Deferred.make<number>()
      const worker = yield* Layer.build(
        Job.handler(({ n }) => Deferred.succeed(done, n)).pipe(Layer.provideMerge(TaskManager.layer({ schema })))
      )
      const id = yield* Tasks.run(Job, { n: 5 }).pipe(Effect.provide(worker))
      expect(yield* Deferred.await(done)).toBe(5)
      const [row] = yield* waitForStatus(schema, [id], [TaskStatus.succeeded])
      const seen = yield* TaskAdmin.get(id).pipe(Effect.provide(worker))
      expect(Option.map(seen, (task) => [task.id, task.status, task.attempt])).toEqual(
        Option.some([id, TaskStatus.succeeded, row!.attempt])
      )
    }))

  it.scoped("a task enqueued paused is never claimed until resumed, and then runs at once", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const runs = yield* Ref.make<ReadonlyArray<number>>([])
      // A 30 s scan: every pickup here is a NOTIFY's (the enqueue of the second task, the resume).
      const { manager } = yield* startWorker(Job.handler(({ n }) => Ref.update(runs, (all) => [...all, n])), {
        schema,
        scanInterval: "30 seconds"
      })
      yield* waitForListener(schema)
      const paused = yield* Tasks.run(Job, { n: 1 }, { paused: true }).pipe(inSchema(schema))
      const ready = yield* Tasks.run(Job, { n: 2 }).pipe(inSchema(schema))
      yield* waitForStatus(schema, [ready], [TaskStatus.succeeded])
      // The claim that took the second task saw the paused one too, and so do two more.
      yield* twoClaimRoundsLater(manager)
      const waiting = yield* TaskAdmin.get(paused).pipe(asAdmin(schema))
      expect(Option.map(waiting, (row) => [row.status, row.attempt])).toEqual(Option.some([TaskStatus.paused, 0]))
      expect(yield* Ref.get(runs)).toEqual([2])

      expect(yield* TaskAdmin.resume([paused, ready]).pipe(asAdmin(schema))).toEqual([paused])
      const [row] = yield* waitForStatus(schema, [paused], [TaskStatus.succeeded], "5 seconds")
      expect(row!.attempt).toBe(1)
      expect(yield* Ref.get(runs)).toEqual([2, 1])
    }))

  it.scoped("a paused task keeps its unique key and its place in its queue's size", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      yield* (yield* storeOf(schema)).migrate
      yield* TaskAdmin.defineQueue({ name: "small", maxSize: 1 }).pipe(asAdmin(schema))
      const first = yield* Tasks.run(Job, { n: 1 }, { paused: true, uniqueKey: "k", queue: "small" }).pipe(
        inSchema(schema)
      )
      expect(yield* Tasks.run(Job, { n: 2 }, { uniqueKey: "k", queue: "small" }).pipe(inSchema(schema))).toBe(first)
      const full = yield* Effect.flip(Tasks.run(Job, { n: 3 }, { queue: "small" }).pipe(inSchema(schema)))
      expect(full._tag).toBe("QueueFull")
    }))

  it.scoped("pause takes only waiting tasks; resume only paused ones; both are guarded by status", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const schema = yield* freshSchema
      yield* (yield* storeOf(schema)).migrate
      const [waiting, done] = yield* Tasks.runMany(Job, [{ n: 1 }, { n: 2 }]).pipe(inSchema(schema))
      yield* sql`UPDATE ${sql(`${schema}.tasks`)} SET status = 'succeeded', finished_at = now() WHERE id = ${done!}::bigint`
      expect(yield* TaskAdmin.pause([waiting!, done!]).pipe(asAdmin(schema))).toEqual([waiting])
      expect(yield* TaskAdmin.pause([waiting!]).pipe(asAdmin(schema))).toEqual([])
      expect(yield* TaskAdmin.resume([done!]).pipe(asAdmin(schema))).toEqual([])
      const rows = yield* TaskAdmin.getMany([waiting!, done!, "999999"]).pipe(asAdmin(schema))
      expect(rows.map((row) => row.status)).toEqual([TaskStatus.paused, TaskStatus.succeeded])
      expect(yield* TaskAdmin.resume([waiting!]).pipe(asAdmin(schema))).toEqual([waiting])
    }))

  it.effect("a malformed task id is a typed error, and nothing runs", () =>
    Effect.gen(function*() {
      for (const id of ["abc", "", "-1", "1.5", "99999999999999999999", "9999999999999999999"]) {
        const error = yield* Effect.flip(TaskAdmin.resume([id]).pipe(asAdmin("never_created")))
        expect(error).toMatchObject({ _tag: "InvalidTaskId", id })
        expect(error.message).toContain("is not a task id")
      }
    }))
})
