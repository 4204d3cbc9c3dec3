import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Ref, Schema } from "effect"
import { Task, Tasks, TaskStatus } from "../src/index.js"
import { databaseUrl, freshSchema, inSchema, PgTest } from "./support/database.js"
import { waitFor } from "./support/waitFor.js"
import { spawnWorkerProcess, startWorker, storeOf, twoClaimRoundsLater, twoRoundsLater, waitForStatus } from "./support/worker.js"

layer(PgTest, { excludeTestServices: true })("transactional handlers", (it) => {
  it.scoped("a handler that writes and then fails leaves neither its row nor a success", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const schema = yield* freshSchema
      const Ship = Task.make("ship", { args: Schema.Struct({ order: Schema.Number }), transactional: true })
      const shipments = sql(`${schema}.shipments`)
      const live = Ship.handler(({ order }) =>
        Effect.zipRight(sql`INSERT INTO ${shipments} (order_id) VALUES (${order})`, Effect.fail("carrier refused"))
      )
      yield* startWorker(live, { schema, scanInterval: "100 millis" })
      yield* sql`CREATE TABLE ${shipments} (order_id int PRIMARY KEY)`
      const id = yield* Tasks.run(Ship, { order: 1 }).pipe(inSchema(schema))
      const [row] = yield* waitForStatus(schema, [id], [TaskStatus.failed])
      expect(row?.lastError).toContain("carrier refused")
      const rows = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM ${shipments}`
      expect(rows[0]?.n).toBe(0)
    }))

  it.scoped("a handler past its timeout is interrupted: its row rolls back, the attempt fails with the timeout, and the retry commits", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const schema = yield* freshSchema
      const Ship = Task.make("ship", {
        args: Schema.Struct({ order: Schema.Number }),
        transactional: true,
        timeout: "300 millis",
        retry: { times: 1 }
      })
      const shipments = sql(`${schema}.shipments`)
      const attempts = yield* Ref.make(0)
      const live = Ship.handler(({ order }) =>
        Effect.gen(function*() {
          yield* sql`INSERT INTO ${shipments} (order_id) VALUES (${order})`
          // The first attempt hangs past its timeout after writing; the second returns at once.
          if ((yield* Ref.updateAndGet(attempts, (n) => n + 1)) === 1) yield* Effect.never
        })
      )
      yield* startWorker(live, { schema, scanInterval: "100 millis" })
      yield* sql`CREATE TABLE ${shipments} (order_id int PRIMARY KEY)`
      const id = yield* Tasks.run(Ship, { order: 3 }).pipe(inSchema(schema))
      const [row] = yield* waitForStatus(schema, [id], [TaskStatus.succeeded])
      expect(row).toMatchObject({ attempt: 2 })
      expect(row?.lastError).toContain("timed out after 300 ms")
      const rows = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM ${shipments}`
      expect(rows[0]?.n).toBe(1)
    }))

  it.scoped("one that succeeds commits its row and its success together, once", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const schema = yield* freshSchema
      const Ship = Task.make("ship", { args: Schema.Struct({ order: Schema.Number }), transactional: true })
      const shipments = sql(`${schema}.shipments`)
      yield* startWorker(Ship.handler(({ order }) => sql`INSERT INTO ${shipments} (order_id) VALUES (${order})`), {
        schema,
        scanInterval: "100 millis"
      })
      yield* sql`CREATE TABLE ${shipments} (order_id int PRIMARY KEY)`
      const id = yield* Tasks.run(Ship, { order: 2 }).pipe(inSchema(schema))
      yield* waitForStatus(schema, [id], [TaskStatus.succeeded])
      // Written by the same transaction: a kill after its commit cannot separate them, nor run it again.
      const [same] = yield* sql<{ shipment: string; task: string; n: number }>`
        SELECT (SELECT xmin::text FROM ${shipments} WHERE order_id = 2) AS shipment,
               (SELECT xmin::text FROM ${sql(`${schema}.tasks`)} WHERE id = ${id}::bigint) AS task,
               (SELECT count(*)::int FROM ${shipments}) AS n`
      expect(same?.n).toBe(1)
      expect(same?.shipment).toBe(same?.task)
    }))

  const Ship = Task.make("ship", { args: Schema.Struct({ order: Schema.Number }), transactional: true })

  /** Order 1's "ship" task, enqueued, and a worker process to run it (`transactionalWorkerProcess.ts`). */
  const shipInAProcess = (handler: "commits" | "hangs") =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const schema = yield* freshSchema
      yield* (yield* storeOf(schema)).migrate
      const shipments = sql(`${schema}.shipments`)
      yield* sql`CREATE TABLE ${shipments} (order_id int PRIMARY KEY)`
      const id = yield* Tasks.run(Ship, { order: 1 }).pipe(inSchema(schema))
      const child = yield* spawnWorkerProcess(databaseUrl(), schema, "transactionalWorkerProcess.ts", [handler])
      const shipped = Effect.map(sql<{ n: number }>`SELECT count(*)::int AS n FROM ${shipments}`, (rows) => rows[0]?.n)
      // An insert takes this lock and its transaction keeps it until it commits or aborts.
      const insertLocks = Effect.map(
        sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_locks
          WHERE relation = ${`${schema}.shipments`}::regclass AND mode = 'RowExclusiveLock'`,
        (rows) => rows[0]?.n
      )
      return { schema, id, child, shipped, insertLocks }
    })

  /** A second worker, in this process, for the same key: it counts its runs and ships too. */
  const survivor = (schema: string) =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const runs = yield* Ref.make(0)
      const live = Ship.handler(({ order }) =>
        Effect.zipRight(
          Ref.update(runs, (n) => n + 1),
          sql`INSERT INTO ${sql(`${schema}.shipments`)} (order_id) VALUES (${order})`
        )
      )
      const { manager } = yield* startWorker(live, {
        schema,
        heartbeatInterval: "250 millis",
        nodeTimeout: "2 seconds",
        rescueInterval: "100 millis",
        scanInterval: "200 millis"
      })
      return { runs, nodeId: manager.nodeId, manager }
    })

  it.scoped("a transactional success survives a kill -9 right after its commit: its row stays, once, and it never runs again", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const { child, id, schema, shipped } = yield* shipInAProcess("commits")
      // The shipment and the task's status read in one snapshot: the row is never seen without the success.
      const [seen] = yield* waitFor(
        "the shipment to commit",
        sql<{ shipped: number; status: string }>`
          SELECT (SELECT count(*)::int FROM ${sql(`${schema}.shipments`)}) AS shipped,
                 (SELECT status FROM ${sql(`${schema}.tasks`)} WHERE id = ${id}::bigint) AS status`,
        (rows) => rows[0]?.shipped === 1
      )
      yield* child.kill("SIGKILL")
      expect(seen?.status).toBe(TaskStatus.succeeded)
      const { manager, nodeId, runs } = yield* survivor(schema)
      // Asserting an absence: once the dead node is past nodeTimeout (2 s) on the database's clock,
      // two rescue rounds and two claim rounds of the survivor leave the task alone.
      yield* waitFor(
        "the killed node to be past nodeTimeout",
        sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql(`${schema}.nodes`)}
          WHERE id <> ${nodeId} AND heartbeat_at > now() - interval '2 seconds'`,
        (rows) => rows[0]?.n === 0,
        "10 seconds"
      )
      yield* twoRoundsLater(manager, "rescuer")
      yield* twoClaimRoundsLater(manager)
      const [row] = yield* (yield* storeOf(schema)).getMany([id])
      expect(row).toMatchObject({ status: "succeeded", attempt: 1, lostCount: 0, lastError: null })
      expect(yield* shipped).toBe(1)
      expect(yield* Ref.get(runs)).toBe(0)
      // Not vacuous: the survivor leads maintenance, so it has been rescuing lapsed claims.
      const [lease] = yield* sql<{ holder: string }>`
        SELECT holder FROM ${sql(`${schema}.leases`)} WHERE name = 'maintenance'`
      expect(lease?.holder).toBe(nodeId)
    }))

  it.scoped("a transactional handler killed before its commit leaves no row, and its task runs again once", () =>
    Effect.gen(function*() {
      const { child, id, insertLocks, schema, shipped } = yield* shipInAProcess("hangs")
      yield* waitFor("the handler's insert", insertLocks, (n) => n === 1)
      yield* child.kill("SIGKILL")
      yield* waitFor("the killed process's transaction to end", insertLocks, (n) => n === 0)
      expect(yield* shipped).toBe(0)
      const { runs } = yield* survivor(schema)
      const [row] = yield* waitForStatus(schema, [id], [TaskStatus.succeeded])
      expect(row).toMatchObject({ attempt: 2, lostCount: 0 })
      expect(row?.lastError).toContain("attempt 1/1: worker lost (lease expired")
      expect(yield* shipped).toBe(1)
      expect(yield* Ref.get(runs)).toBe(1)
    }))
})
