import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Clock, Deferred, Duration, Effect, Layer, Option, Ref, Schedule, Schema } from "effect"
import { Task, TaskManager, Tasks, TaskStatus } from "../src/index.js"
import { freshSchema, inSchema, pgClient, PgTest } from "./support/database.js"
import { waitFor } from "./support/waitFor.js"
import { migratedSchema, startWorker, storeOf, waitForListener, waitForStatus } from "./support/worker.js"

const Ping = Task.make("ping", { args: Schema.Struct({ n: Schema.Number }) })

layer(PgTest, { excludeTestServices: true })("TaskManager", (it) => {
  it.scoped("NOTIFY starts a committed task far sooner than the scan interval", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const schema = yield* freshSchema
      const startedAt = yield* Ref.make(new Map<number, number>())
      const live = Ping.handler(({ n }) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => Ref.update(startedAt, (map) => new Map(map).set(n, now)))
      )
      // A one-minute scan: only NOTIFY can explain a start within a second.
      yield* startWorker(live, { schema, scanInterval: "60 seconds" })
      yield* waitForListener(schema)
      const latencies: Array<number> = []
      for (let n = 0; n < 10; n++) {
        const id = yield* sql.withTransaction(Tasks.run(Ping, { n })).pipe(inSchema(schema))
        const committedAt = yield* Clock.currentTimeMillis
        yield* waitForStatus(schema, [id], [TaskStatus.succeeded], "5 seconds")
        latencies.push((yield* Ref.get(startedAt)).get(n)! - committedAt)
      }
      latencies.sort((a, b) => a - b)
      yield* Effect.log(`commit → handler start over NOTIFY: p50 ${latencies[4]} ms, max ${latencies[9]} ms`)
      expect(latencies[9]).toBeLessThan(1000)
    }))

  it.scoped("with NOTIFY lost (listener connection killed), the safety scan still runs the task", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const schema = yield* freshSchema
      const seen = yield* Ref.make(0)
      yield* startWorker(Ping.handler(() => Ref.update(seen, (n) => n + 1)), { schema, scanInterval: "300 millis" })
      yield* waitForListener(schema)
      const killed = yield* sql<{ pid: number }>`
        SELECT pg_terminate_backend(pid)::int AS pid FROM pg_stat_activity WHERE query = ${`LISTEN "${schema}_tasks"`}`
      expect(killed.length).toBe(1)
      const id = yield* Tasks.run(Ping, { n: 1 }).pipe(inSchema(schema))
      yield* waitForStatus(schema, [id], [TaskStatus.succeeded], "5 seconds")
      expect(yield* Ref.get(seen)).toBe(1)
    }))

  it.scoped("a listener whose connection died is noticed and replaced: NOTIFY pickup comes back", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const schema = yield* freshSchema
      const seen = yield* Ref.make(0)
      const listening = sql<{ pid: number }>`
        SELECT pid FROM pg_stat_activity WHERE query = ${`LISTEN "${schema}_tasks"`}`
      // A one-minute scan: only a working LISTEN explains a prompt start.
      yield* startWorker(Ping.handler(() => Ref.update(seen, (n) => n + 1)), {
        schema,
        scanInterval: "60 seconds",
        heartbeatInterval: "200 millis",
        nodeTimeout: "1 second"
      })
      yield* waitForListener(schema)
      const [before] = yield* listening
      yield* sql`SELECT pg_terminate_backend(${before!.pid})`
      yield* waitFor("a new LISTEN connection", listening, (rows) => rows.length === 1 && rows[0]!.pid !== before!.pid, "10 seconds")
      const id = yield* Tasks.run(Ping, { n: 1 }).pipe(inSchema(schema))
      yield* waitForStatus(schema, [id], [TaskStatus.succeeded], "2 seconds")
      expect(yield* Ref.get(seen)).toBe(1)
    }))

  it.scoped("a failed attempt is retried after the Schedule's delay, and the row tells the story", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const Flaky = Task.make("flaky", {
        args: Schema.Struct({}),
        retry: { times: 3, schedule: Schedule.spaced("400 millis") }
      })
      const starts = yield* Ref.make<ReadonlyArray<number>>([])
      const attempts = yield* Ref.make<ReadonlyArray<number>>([])
      const live = Flaky.handler(() =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const current = yield* Task.CurrentTask
          yield* Ref.update(attempts, (all) => [...all, Option.getOrThrow(current).attempt])
          const previous = yield* Ref.getAndUpdate(starts, (all) => [...all, now])
          if (previous.length < 2) return yield* Effect.fail(`failure number ${previous.length + 1}`)
        })
      )
      // The scan is far slower than the retry delay: the retry must not wait for it.
      yield* startWorker(live, { schema, scanInterval: "30 seconds" })
      yield* waitForListener(schema)
      const id = yield* Tasks.run(Flaky, {}).pipe(inSchema(schema))
      const [row] = yield* waitForStatus(schema, [id], [TaskStatus.succeeded])
      const times = yield* Ref.get(starts)
      expect(times.length).toBe(3)
      expect(yield* Ref.get(attempts)).toEqual([1, 2, 3])
      for (const [index, gap] of times.slice(1).map((time, i) => [i, time - times[i]!] as const)) {
        expect(gap, `gap before retry ${index + 1}`).toBeGreaterThanOrEqual(390)
        expect(gap, `gap before retry ${index + 1}`).toBeLessThan(1500)
      }
      expect(row).toMatchObject({ status: "succeeded", attempt: 3, maxAttempts: 4 })
      expect(row?.lastError).toContain("attempt 2/4")
      expect(row?.lastError).toContain("failure number 2")
    }))

  it.scoped("retries stop after `times`: the task ends failed with its attempts and last error", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const Doomed = Task.make("doomed", { args: Schema.Struct({}), retry: { times: 2, schedule: Schedule.spaced("50 millis") } })
      const runs = yield* Ref.make(0)
      const live = Doomed.handler(() =>
        Effect.flatMap(Ref.updateAndGet(runs, (n) => n + 1), (n) => Effect.fail(new Error(`smtp down (run ${n})`)))
      )
      yield* startWorker(live, { schema, scanInterval: "30 seconds" })
      yield* waitForListener(schema)
      const id = yield* Tasks.run(Doomed, {}).pipe(inSchema(schema))
      const [row] = yield* waitForStatus(schema, [id], [TaskStatus.failed])
      expect(row).toMatchObject({ status: "failed", attempt: 3, maxAttempts: 3, claimToken: null })
      expect(row?.lastError).toContain("attempt 3/3")
      expect(row?.lastError).toContain("smtp down (run 3)")
      expect(row?.finishedAt).toBeInstanceOf(Date)
      expect(yield* Ref.get(runs)).toBe(3)
    }))

  it.scoped("a declared error types the handler and retry.while: a failure it refuses fails the task at once", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      class Transient extends Schema.TaggedError<Transient>()("Transient", { run: Schema.Number }) {}
      class BadAddress extends Schema.TaggedError<BadAddress>()("BadAddress", { address: Schema.String }) {}
      const Mail = Task.make("mail", {
        args: Schema.Struct({ address: Schema.String }),
        error: Schema.Union(Transient, BadAddress),
        retry: { times: 5, schedule: Schedule.spaced("20 millis"), while: (error) => error._tag === "Transient" }
      })
      const runs = yield* Ref.make<ReadonlyArray<string>>([])
      const live = Mail.handler(({ address }) =>
        Effect.gen(function*() {
          const seen = yield* Ref.updateAndGet(runs, (all) => [...all, address])
          const mine = seen.filter((one) => one === address).length
          if (address.includes("@")) return mine < 3 ? yield* new Transient({ run: mine }) : undefined
          return yield* new BadAddress({ address })
        })
      )
      // The compiler holds the handler to the declared errors.
      // @ts-expect-error an error the definition does not declare
      Mail.handler(() => Effect.fail(new Error("undeclared")))
      yield* startWorker(live, { schema, scanInterval: "30 seconds" })
      const [good, bad] = yield* Tasks.runMany(Mail, [{ address: "a@example.com" }, { address: "nobody" }]).pipe(inSchema(schema))
      const rows = yield* waitForStatus(schema, [good!, bad!], [TaskStatus.succeeded, TaskStatus.failed])
      expect(rows.map((row) => [row.status, row.attempt])).toEqual([["succeeded", 3], ["failed", 1]])
      expect(rows[1]?.lastError).toContain("BadAddress")
    }))

  it.scoped("a handler's progress shows on its row while it runs; a retry resumes from its checkpoint", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const Export = Task.make("export", {
        args: Schema.Struct({}),
        checkpoint: Schema.Struct({ page: Schema.Number }),
        retry: { times: 1, schedule: Schedule.spaced("10 millis") }
      })
      const halfway = yield* Deferred.make<void>()
      const proceed = yield* Deferred.make<void>()
      const starts = yield* Ref.make<ReadonlyArray<number>>([])
      const live = Export.handler(() =>
        Effect.gen(function*() {
          const page = Option.match(yield* Export.lastCheckpoint, { onNone: () => 0, onSome: (last) => last.page })
          yield* Ref.update(starts, (all) => [...all, page])
          if (page > 0) return
          yield* Export.checkpoint({ page: 5 })
          yield* Task.progress("pages", 0.5)
          yield* Deferred.succeed(halfway, undefined)
          yield* Deferred.await(proceed)
          return yield* Effect.fail("connection reset")
        })
      )
      yield* startWorker(live, { schema })
      const id = yield* Tasks.run(Export, {}).pipe(inSchema(schema))
      yield* Deferred.await(halfway)
      const [running] = yield* (yield* storeOf(schema)).getMany([id])
      expect(running).toMatchObject({ status: TaskStatus.running, progress: { phase: "pages", fraction: 0.5 }, checkpoint: { page: 5 } })
      yield* Deferred.succeed(proceed, undefined)
      yield* waitForStatus(schema, [id], [TaskStatus.succeeded])
      expect(yield* Ref.get(starts)).toEqual([0, 5])
    }))

  it.scoped("a timeout interrupts the handler (its finalizer runs) and counts as a failed attempt", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const Slow = Task.make("slow", {
        args: Schema.Struct({}),
        timeout: "200 millis",
        retry: { times: 1, schedule: Schedule.spaced("50 millis") }
      })
      const finalized = yield* Ref.make(0)
      const live = Slow.handler(() => Effect.never.pipe(Effect.ensuring(Ref.update(finalized, (n) => n + 1))))
      yield* startWorker(live, { schema, scanInterval: "30 seconds" })
      yield* waitForListener(schema)
      const id = yield* Tasks.run(Slow, {}).pipe(inSchema(schema))
      const [row] = yield* waitForStatus(schema, [id], [TaskStatus.failed])
      expect(row).toMatchObject({ attempt: 2 })
      expect(row?.lastError).toContain("timed out after 200 ms")
      expect(yield* Ref.get(finalized)).toBe(2)
    }))

  it.scoped("never more than poolSize handlers run at once", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const current = yield* Ref.make(0)
      const highest = yield* Ref.make(0)
      const live = Ping.handler(() =>
        Effect.acquireUseRelease(
          Effect.flatMap(Ref.updateAndGet(current, (n) => n + 1), (n) => Ref.update(highest, (max) => Math.max(max, n))),
          () => Effect.sleep("30 millis"),
          () => Ref.update(current, (n) => n - 1)
        )
      )
      yield* startWorker(live, { schema, poolSize: 3, scanInterval: "200 millis" })
      const ids = yield* Tasks.runMany(Ping, Array.from({ length: 30 }, (_, n) => ({ n }))).pipe(inSchema(schema))
      yield* waitForStatus(schema, ids, [TaskStatus.succeeded])
      expect(yield* Ref.get(highest)).toBe(3)
    }))

  it.scoped("tasks claimed ahead wait for a handler slot, start in claim order, and a stop hands them back at once, uncounted", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const started = yield* Ref.make<ReadonlyArray<number>>([])
      const firstRunning = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const live = Ping.handler(({ n }) =>
        Effect.gen(function*() {
          yield* Ref.update(started, (all) => [...all, n])
          if (n === 0) {
            yield* Deferred.succeed(firstRunning, undefined)
            yield* Deferred.await(release)
          }
        })
      )
      const worker = yield* startWorker(live, { schema, poolSize: 1, claimAhead: 2, scanInterval: "200 millis" })
      const ids = yield* Tasks.runMany(Ping, [0, 1, 2, 3].map((n) => ({ n }))).pipe(inSchema(schema))
      yield* Deferred.await(firstRunning)
      // One handler runs; two more tasks are claimed for this node and wait; the fourth is left to others.
      const rows = yield* waitForStatus(schema, ids.slice(0, 3), [TaskStatus.running])
      expect(rows.map((row) => row.claimedBy)).toEqual(rows.map(() => worker.manager.nodeId))
      const [fourth] = yield* (yield* storeOf(schema)).getMany(ids.slice(3))
      expect(fourth?.status).toBe(TaskStatus.initialized)
      expect(yield* worker.manager.running).toBe(1)

      // The stop hands the two waiting tasks back at once, while the running handler may finish.
      const stopping = yield* Effect.fork(worker.stop)
      const handedBack = yield* waitForStatus(schema, ids.slice(1, 3), [TaskStatus.initialized])
      expect(handedBack.map((row) => [row.attempt, row.claimToken])).toEqual([[0, null], [0, null]])
      yield* Deferred.succeed(release, undefined)
      yield* stopping.await
      expect(yield* Ref.get(started)).toEqual([0])

      // Another worker runs the rest in claim order.
      yield* startWorker(live, { schema, poolSize: 1, claimAhead: 2, scanInterval: "200 millis" })
      const done = yield* waitForStatus(schema, ids, [TaskStatus.succeeded])
      expect(done.map((row) => row.attempt)).toEqual([1, 1, 1, 1])
      expect(yield* Ref.get(started)).toEqual([0, 1, 2, 3])
    }))

  it.scoped("a task claimed ahead that waits past half of nodeTimeout is handed back unstarted, then runs once", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const release = yield* Deferred.make<void>()
      const runs = yield* Ref.make<ReadonlyArray<number>>([])
      const live = Ping.handler(({ n }) =>
        Effect.zipRight(Ref.update(runs, (all) => [...all, n]), n === 0 ? Deferred.await(release) : Effect.void)
      )
      // Leases of 800 ms; a task claimed ahead may wait 500 ms for the one handler slot.
      yield* startWorker(live, {
        schema,
        poolSize: 1,
        claimAhead: 1,
        heartbeatInterval: "200 millis",
        nodeTimeout: "1 second",
        scanInterval: "100 millis"
      })
      const [first, second] = yield* Tasks.runMany(Ping, [{ n: 0 }, { n: 1 }]).pipe(inSchema(schema))
      const [, claimedAhead] = yield* waitForStatus(schema, [first!, second!], [TaskStatus.running])
      // The first handler holds the slot: the second is handed back without having run (uncounted),
      // and claimed again.
      const store = yield* storeOf(schema)
      const [again] = yield* waitFor("the second task handed back and claimed again", store.getMany([second!]), ([row]) =>
        row !== undefined && row.claimToken !== null && row.claimToken !== claimedAhead!.claimToken, "5 seconds")
      expect(again).toMatchObject({ attempt: 1, lostCount: 0, lastError: null })
      expect(yield* Ref.get(runs)).toEqual([0])
      yield* Deferred.succeed(release, undefined)
      const rows = yield* waitForStatus(schema, [first!, second!], [TaskStatus.succeeded])
      expect(rows.map((row) => row.attempt)).toEqual([1, 1])
      expect(yield* Ref.get(runs)).toEqual([0, 1])
    }))

  it.scoped("with claimAhead 0, a node claims only as many tasks as it has free handler slots", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const release = yield* Deferred.make<void>()
      yield* startWorker(Ping.handler(() => Deferred.await(release)), { schema, poolSize: 2, claimAhead: 0, scanInterval: "200 millis" })
      const ids = yield* Tasks.runMany(Ping, [0, 1, 2, 3].map((n) => ({ n }))).pipe(inSchema(schema))
      const store = yield* storeOf(schema)
      const counts = Effect.map(store.getMany(ids), (rows) => rows.filter((row) => row.status === TaskStatus.running).length)
      // One claim statement takes them, so the first sight of a running task shows the whole claim;
      // the claimer then waits for a free slot and claims nothing more.
      expect(yield* waitFor("a claim", counts, (n) => n > 0)).toBe(2)
      yield* Deferred.succeed(release, undefined)
      yield* waitForStatus(schema, ids, [TaskStatus.succeeded])
    }))

  it.scoped("with completionDelay, ends are held back and written together; a stop writes those still held, and nothing runs twice", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const runs = yield* Ref.make(0)
      const worker = yield* startWorker(Ping.handler(() => Ref.update(runs, (n) => n + 1)), {
        schema,
        poolSize: 4,
        completionDelay: "5 seconds",
        nodeTimeout: "20 seconds"
      })
      const ids = yield* Tasks.runMany(Ping, [0, 1, 2, 3, 4, 5].map((n) => ({ n }))).pipe(inSchema(schema))
      yield* waitFor("every handler to have run", Ref.get(runs), (n) => n === ids.length)
      const store = yield* storeOf(schema)
      // Their ends wait (for up to 5 s): the tasks still read running, and their handler slots are free.
      expect((yield* store.getMany(ids)).map((row) => row.status)).toEqual(ids.map(() => TaskStatus.running))
      expect(yield* worker.manager.running).toBe(0)
      const stopping = yield* Clock.currentTimeMillis
      yield* worker.stop
      // The stop wrote them (it waited for the held batch), well before a lease could lapse.
      const rows = yield* store.getMany(ids)
      expect(rows.map((row) => row.status)).toEqual(ids.map(() => TaskStatus.succeeded))
      expect(rows.map((row) => row.attempt)).toEqual(ids.map(() => 1))
      expect((yield* Clock.currentTimeMillis) - stopping).toBeLessThan(8_000)
      expect(yield* Ref.get(runs)).toBe(ids.length)
    }))

  it.scoped("a busy node claims several tasks per statement, not one each time a handler ends", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      // Handlers of uneven length end one at a time.
      yield* startWorker(Ping.handler(({ n }) => Effect.sleep(Duration.millis(8 + (n % 5)))), { schema, poolSize: 4 })
      const ids = yield* Tasks.runMany(Ping, Array.from({ length: 300 }, (_, n) => ({ n }))).pipe(inSchema(schema))
      yield* waitForStatus(schema, ids, [TaskStatus.succeeded])
      // A claim gives every task it takes its statement's start as started_at.
      const sql = yield* SqlClient.SqlClient
      const [claims] = yield* sql<{ statements: number }>`
        SELECT count(DISTINCT started_at)::int AS statements FROM ${sql(`${schema}.tasks`)}`.withoutTransform
      // poolSize 4 and claimAhead 4: while tasks claimed ahead wait, a claim waits for two free places.
      // (Claiming as each handler ends takes about 165 statements here; waiting for two, about 135.)
      expect(claims!.statements).toBeLessThanOrEqual(300 / 2)
    }))

  it.scoped("by default a node holds one task ahead of slow handlers, once it has seen how long they take", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const endedTasks = yield* Ref.make<ReadonlySet<number>>(new Set())
      const ended = Effect.map(Ref.get(endedTasks), (all) => all.size)
      yield* startWorker(
        Ping.handler(({ n }) =>
          Effect.zipRight(Effect.sleep("300 millis"), Ref.update(endedTasks, (all) => new Set(all).add(n)))
        ),
        { schema, poolSize: 2, scanInterval: "100 millis" }
      )
      const ids = yield* Tasks.runMany(Ping, Array.from({ length: 14 }, (_, n) => ({ n }))).pipe(inSchema(schema))
      const store = yield* storeOf(schema)
      // Held: claimed and not ended. A row stays running until its end is written, which on a busy
      // machine can lag behind the handler's end: those are not held any more.
      const held = Effect.zipWith(
        store.getMany(ids),
        Ref.get(endedTasks),
        (rows, done) => rows.filter((row) => row.status === TaskStatus.running && !done.has(ids.indexOf(row.id))).length
      )
      // Before any handler has ended it holds poolSize ahead: 4 in all.
      expect(yield* waitFor("a claim", held, (n) => n > 0)).toBeLessThanOrEqual(4)
      // Handlers of 300 ms start about one every 150 ms: what they start within 20 ms is one task.
      yield* waitFor("six handlers to end", ended, (n) => n >= 6)
      const seen: Array<number> = []
      for (let i = 0; i < 6; i++) {
        seen.push(yield* held)
        yield* Effect.sleep("50 millis")
      }
      expect(Math.max(...seen)).toBeLessThanOrEqual(3)
      yield* waitForStatus(schema, ids, [TaskStatus.succeeded])
    }))

  it.scoped("two managers on one database never run the same attempt (1,000 tasks)", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      yield* (yield* storeOf(schema)).migrate
      const runsByNode = yield* Ref.make<ReadonlyArray<readonly [string, number]>>([])
      const node = (name: string) =>
        Effect.gen(function*() {
          // Each manager has a pool of its own, as a separate process would.
          const client = yield* Layer.build(pgClient({ maxConnections: 8 }))
          const live = Ping.handler(({ n }) =>
            Effect.zipRight(Effect.sleep("1 millis"), Ref.update(runsByNode, (runs) => [...runs, [name, n] as const]))
          )
          yield* startWorker(live, { schema, poolSize: 5, scanInterval: "500 millis", nodeId: name }).pipe(
            Effect.provide(client)
          )
        })
      yield* node("a")
      yield* node("b")
      const ids = yield* Tasks.runMany(Ping, Array.from({ length: 1000 }, (_, n) => ({ n }))).pipe(inSchema(schema))
      yield* waitForStatus(schema, ids, [TaskStatus.succeeded], "60 seconds")
      const runs = yield* Ref.get(runsByNode)
      const counts = new Map<number, number>()
      for (const [, n] of runs) counts.set(n, (counts.get(n) ?? 0) + 1)
      expect(runs.length).toBe(1000)
      expect(counts.size).toBe(1000)
      expect([...counts.values()].every((count) => count === 1)).toBe(true)
      const byA = runs.filter(([name]) => name === "a").length
      yield* Effect.log(`node a ran ${byA}, node b ran ${1000 - byA}`)
      expect(byA).toBeGreaterThan(0)
      expect(byA).toBeLessThan(1000)
      const rows = yield* (yield* storeOf(schema)).getMany(ids)
      expect(rows.every((row) => row.attempt === 1)).toBe(true)
    }), { timeout: 120_000 })

  it.scoped("a row whose args no longer decode fails once with a typed reason; the worker goes on", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const { schema } = yield* migratedSchema
      const Retried = Task.make("ping", { args: Ping.args, retry: { times: 5 } })
      const [bad, good] = yield* Tasks.runMany(Retried, [{ n: 1 }, { n: 2 }]).pipe(inSchema(schema))
      yield* sql`UPDATE ${sql(`${schema}.tasks`)} SET args = '{"n":"one"}'::jsonb WHERE id = ${bad!}::bigint`
      const seen = yield* Ref.make<ReadonlyArray<number>>([])
      yield* startWorker(Retried.handler(({ n }) => Ref.update(seen, (all) => [...all, n])), {
        schema,
        scanInterval: "200 millis"
      })
      const [badRow, goodRow] = yield* waitForStatus(schema, [bad!, good!], [TaskStatus.succeeded, TaskStatus.failed])
      expect(badRow).toMatchObject({ status: "failed", attempt: 1 })
      expect(badRow?.lastError).toContain("UndecodableTask")
      expect(badRow?.lastError).toContain("no longer decode")
      expect(badRow?.lastError).toContain(`Expected number, actual "one"`)
      expect(goodRow?.status).toBe("succeeded")
      expect(yield* Ref.get(seen)).toEqual([2])
    }))

  it.scoped("a handler that interrupts itself fails its attempt: counted, retried, then failed", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const Quitter = Task.make("quitter", { args: Schema.Struct({}), retry: { times: 2, schedule: Schedule.spaced("50 millis") } })
      const runs = yield* Ref.make(0)
      yield* startWorker(Quitter.handler(() => Effect.zipRight(Ref.update(runs, (n) => n + 1), Effect.interrupt)), {
        schema,
        scanInterval: "200 millis"
      })
      const id = yield* Tasks.run(Quitter, {}).pipe(inSchema(schema))
      const [row] = yield* waitForStatus(schema, [id], [TaskStatus.failed])
      expect(row).toMatchObject({ attempt: 3, maxAttempts: 3 })
      expect(row?.lastError).toContain("attempt 3/3")
      expect(yield* Ref.get(runs)).toBe(3)
    }))

  it.scoped("an error message PostgreSQL cannot store (a NUL character) is recorded without it", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      yield* startWorker(Ping.handler(() => Effect.fail(new Error("bad\u0000byte"))), { schema, scanInterval: "200 millis" })
      const id = yield* Tasks.run(Ping, { n: 1 }).pipe(inSchema(schema))
      const [row] = yield* waitForStatus(schema, [id], [TaskStatus.failed])
      expect(row?.lastError).toContain("bad\\0byte")
    }))

  it.scoped("a manager that does not migrate refuses a schema that was never migrated", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const error = yield* Layer.build(TaskManager.layer({ schema, migrate: false })).pipe(Effect.flip)
      expect(error._tag).toBe("IncompatibleSchema")
      expect(error.message).toContain("run the migrations")
      yield* (yield* storeOf(schema)).migrate
      yield* Layer.build(TaskManager.layer({ schema, migrate: false }))
    }))
})
