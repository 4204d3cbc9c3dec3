import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Clock, Deferred, Duration, Effect, Fiber, Layer, Metric, Option, Ref, Schema } from "effect"
import { forTask } from "../src/internal/observability/metrics.js"
import { Task, Tasks, TaskStatus, type TaskStore } from "../src/index.js"
import { databaseUrl, freshSchema, inSchema, pgClient, PgTest } from "./support/database.js"
import { Sleepy } from "./support/sleepy.js"
import { waitFor } from "./support/waitFor.js"
import { claimRequest, migratedSchema, sleepyTaskInAProcess, startWorker, storeOf, waitForStatus } from "./support/worker.js"
import type { Store } from "../src/internal/store/store.js"

const Job = Task.make("job", { args: Schema.Struct({}), retry: { times: 10 } })

/** Settings that make multi-node tests take seconds, not minutes. */
const fast = { heartbeatInterval: "200 millis", nodeTimeout: "1 second", rescueInterval: "100 millis" } as const

const expireLease = (schema: string, id: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`UPDATE ${sql(`${schema}.tasks`)} SET lease_expires_at = now() - interval '1 second' WHERE id = ${id}::bigint`)

/** Claims one Job as `nodeId` would, with no executor behind it (a node about to die or hang). */
const claimOne = (store: Store, nodeId: string, leaseDuration: Duration.Duration) =>
  store.claim({ ...claimRequest(nodeId, [Job.key], 1), deadlineGrace: Duration.seconds(10), leaseDuration })

layer(PgTest, { excludeTestServices: true })("many nodes", (it) => {
  it.scoped("the heartbeat renews the lease of a long attempt: it is never taken back", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const runs = yield* Ref.make(0)
      // The attempt outlasts its lease (nodeTimeout - heartbeatInterval = 1.75 s) by far; heartbeats
      // of 250 ms leave a busy machine (a browser test beside it) room for a slow one.
      yield* startWorker(Job.handler(() => Effect.zipRight(Ref.update(runs, (n) => n + 1), Effect.sleep("3500 millis"))), {
        schema,
        ...fast,
        heartbeatInterval: "250 millis",
        nodeTimeout: "2 seconds"
      })
      const id = yield* Tasks.run(Job, {}).pipe(inSchema(schema))
      const [row] = yield* waitForStatus(schema, [id], [TaskStatus.succeeded])
      expect(row).toMatchObject({ attempt: 1, lostCount: 0, lastError: null })
      expect(yield* Ref.get(runs)).toBe(1)
    }))

  it.scoped("a heartbeat renews only leases that are due, never waits on a row being written, and still counts that claim as held", () =>
    Effect.gen(function*() {
      const { schema, store } = yield* migratedSchema
      const sql = yield* SqlClient.SqlClient
      const node = Option.getOrThrow(yield* store.register({ nodeId: "beating", host: "test", pid: 1, nodeTimeout: Duration.seconds(10) }))
      const id = yield* Tasks.run(Job, {}).pipe(inSchema(schema))
      const [claim] = yield* store.claim(claimRequest("beating", [Job.key], 1))
      const leaseOf = Effect.map(store.getMany([id]), ([row]) => row?.leaseExpiresAt?.getTime())
      /** A beat that leaves alone leases written less than `freshFor` ago. */
      const beat = (freshFor: Duration.DurationInput) =>
        store.heartbeat({ ...node, claimTokens: [claim!.claimToken], keys: [Job.key], leaseDuration: Duration.minutes(1), freshFor: Duration.decode(freshFor) })
      const claimed = yield* leaseOf
      // Claimed a moment ago: not written again.
      expect(yield* beat("1 minute")).toEqual({ isRegistered: true, held: new Set([claim!.claimToken]), stopRequested: [] })
      expect(yield* leaseOf).toBe(claimed)
      // Another transaction holds the row (an end being written): the beat neither waits nor renews it.
      const locked = yield* Deferred.make<void>()
      const unlock = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(sql.withTransaction(Effect.gen(function*() {
        yield* sql`SELECT id FROM ${sql(`${schema}.tasks`)} WHERE id = ${id}::bigint FOR UPDATE`
        yield* Deferred.succeed(locked, undefined)
        yield* Deferred.await(unlock)
      })))
      yield* Deferred.await(locked)
      const whileLocked = yield* beat(0).pipe(Effect.timeout("3 seconds"))
      expect(whileLocked.held).toEqual(new Set([claim!.claimToken]))
      expect(yield* leaseOf).toBe(claimed)
      yield* Deferred.succeed(unlock, undefined)
      yield* Fiber.join(holder)
      // Due and free: renewed.
      yield* beat(0)
      expect(yield* leaseOf).toBeGreaterThan(claimed!)
      // A token this node no longer holds is missing from the answer.
      yield* store.finishIfClaimed([{ id, claimToken: claim!.claimToken, status: TaskStatus.succeeded, delayMillis: 0, error: null, countsAsAttempt: true, keepsChildren: true, result: null }])
      expect((yield* beat(0)).held).toEqual(new Set())
    }))

  it.scoped("a completion after the task was rescued is a stale write: rejected, never applied", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const releaseFirst = yield* Deferred.make<void>()
      const firstRunning = yield* Deferred.make<void>()
      const live = Job.handler(() =>
        Effect.gen(function*() {
          const current = Option.getOrThrow(yield* Task.CurrentTask)
          if (current.attempt === 1) {
            yield* Deferred.succeed(firstRunning, undefined)
            yield* Deferred.await(releaseFirst)
          }
        })
      )
      // Heartbeats far apart: the stale attempt is not stopped before it completes.
      yield* startWorker(live, { schema, poolSize: 2, heartbeatInterval: "15 seconds", nodeTimeout: "60 seconds", rescueInterval: "100 millis" })
      const id = yield* Tasks.run(Job, {}).pipe(inSchema(schema))
      yield* Deferred.await(firstRunning)
      const staleWrites = forTask(Job.key, Job.queue).staleWrites
      const staleBefore = (yield* Metric.value(staleWrites)).count
      yield* expireLease(schema, id)
      // Rescued (lost attempt counted), claimed again and finished by attempt 2...
      const [second] = yield* waitForStatus(schema, [id], [TaskStatus.succeeded])
      expect(second).toMatchObject({ attempt: 2, lostCount: 0 })
      expect(second?.lastError).toContain("attempt 1/11: worker lost (lease expired")
      // ...then attempt 1 completes: its write presents the old token and matches nothing.
      yield* Deferred.succeed(releaseFirst, undefined)
      yield* waitFor("the stale write to be counted", Metric.value(staleWrites), (state) =>
        state.count === staleBefore + 1)
      const [after] = yield* (yield* storeOf(schema)).getMany([id])
      expect(after).toMatchObject({ status: "succeeded", attempt: 2 })
      expect(after?.updatedAt).toEqual(second?.updatedAt)
    }))

  it.scoped("an attempt whose claim was taken away is stopped by its node at the next heartbeat", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const schema = yield* freshSchema
      const interrupted = yield* Deferred.make<void>()
      const started = yield* Deferred.make<void>()
      const live = Job.handler(() =>
        Effect.zipRight(Deferred.succeed(started, undefined), Effect.never).pipe(
          Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
        )
      )
      yield* startWorker(live, { schema, ...fast, scanInterval: "30 seconds" })
      const id = yield* Tasks.run(Job, {}).pipe(inSchema(schema))
      yield* Deferred.await(started)
      // Another party takes the task back (as a rescuer or an operator would).
      yield* sql`UPDATE ${sql(`${schema}.tasks`)} SET status = 'failed', claim_token = NULL, claimed_by = NULL,
        finished_at = now() WHERE id = ${id}::bigint`
      yield* Deferred.await(interrupted).pipe(Effect.timeout("3 seconds"))
      const [row] = yield* (yield* storeOf(schema)).getMany([id])
      expect(row?.status).toBe("failed")
    }))

  it.scoped("a task that loses its worker maxWorkerLosses times in a row is failed as poison", () =>
    Effect.gen(function*() {
      const { schema, store } = yield* migratedSchema
      const id = yield* Tasks.run(Job, {}).pipe(inSchema(schema))
      const claimAsDoomedNode = claimOne(store, "doomed", Duration.seconds(10))
      const statuses: Array<string> = []
      for (let loss = 1; loss <= 3; loss++) {
        expect((yield* claimAsDoomedNode).length).toBe(1)
        yield* expireLease(schema, id)
        const rescued = yield* store.rescueExpired({ limit: 10, maxWorkerLosses: 3 })
        statuses.push(...rescued.map((task) => task.status))
      }
      expect(statuses).toEqual(["initialized", "initialized", "failed"])
      const [row] = yield* store.getMany([id])
      expect(row).toMatchObject({ status: "failed", attempt: 3, lostCount: 3 })
      expect(row?.lastError).toContain("failed as poison: lost its worker 3 times in a row")
      // Each lost attempt is in the attempts' errors, the last one the same as last_error.
      expect(row?.errors?.map((failed) => failed.attempt)).toEqual([1, 2, 3])
      expect(row?.errors?.every((failed) => failed.error.includes("worker lost (lease expired, node doomed)"))).toBe(true)
      expect(row?.errors?.[2]?.error).toBe(row?.lastError)
    }))

  it.scoped("a task taken back from a lost worker runs before the newer work of its group", () =>
    Effect.gen(function*() {
      const { schema, store } = yield* migratedSchema
      const Ordered = Task.make("ordered", { args: Schema.Struct({ n: Schema.Number }) })
      const lost = yield* Tasks.run(Ordered, { n: 0 }).pipe(inSchema(schema))
      yield* store.claim({ ...claimRequest("doomed", [Ordered.key], 1), leaseDuration: Duration.seconds(10) })
      const newer = yield* Tasks.runMany(Ordered, [{ n: 1 }, { n: 2 }, { n: 3 }]).pipe(inSchema(schema))
      yield* expireLease(schema, lost)
      expect(yield* store.rescueExpired({ limit: 10, maxWorkerLosses: 3 })).toHaveLength(1)
      const order = yield* Ref.make<ReadonlyArray<number>>([])
      yield* startWorker(Ordered.handler(({ n }) => Ref.update(order, (seen) => [...seen, n])), { schema, poolSize: 1, ...fast })
      yield* waitForStatus(schema, [lost, ...newer], [TaskStatus.succeeded])
      expect(yield* Ref.get(order)).toEqual([0, 1, 2, 3])
    }))

  it.scoped("an attempt past its deadline on a hung node is rescued", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const { schema, store } = yield* migratedSchema
      const id = yield* Tasks.run(Job, {}).pipe(inSchema(schema))
      yield* claimOne(store, "hung", Duration.minutes(5))
      // The hung node keeps renewing its lease, but the attempt's deadline has passed.
      yield* sql`UPDATE ${sql(`${schema}.tasks`)} SET deadline_at = now() - interval '1 second' WHERE id = ${id}::bigint`
      const rescued = yield* store.rescueExpired({ limit: 10, maxWorkerLosses: 3 })
      expect(rescued.map((task) => task.status)).toEqual(["initialized"])
      const [row] = yield* store.getMany([id])
      expect(row?.lastError).toContain("deadline passed, node hung")
    }))

  it.scoped("the checker hands stuck tasks to checkCallback (here: a key no node runs)", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const Orphan = Task.make("orphan", { args: Schema.Struct({}) })
      const reported = yield* Deferred.make<ReadonlyArray<TaskStore.TaskRow>>()
      yield* startWorker(Job.handler(() => Effect.void), {
        schema,
        ...fast,
        initializedTimeout: "300 millis",
        checkInterval: "100 millis",
        checkCallback: (tasks) => Deferred.succeed(reported, tasks).pipe(Effect.asVoid)
      })
      const id = yield* Tasks.run(Orphan, {}).pipe(inSchema(schema))
      const tasks = yield* Deferred.await(reported).pipe(Effect.timeout("5 seconds"))
      expect(tasks.map((task) => [task.id, task.key, task.status])).toEqual([[id, "orphan", "initialized"]])
    }))

  it.scoped("two nodes never both lead maintenance, and the survivor takes over when the leader stops", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      yield* (yield* storeOf(schema)).migrate
      const node = (nodeId: string) =>
        Effect.flatMap(Layer.build(pgClient({ maxConnections: 4 })), (client) =>
          startWorker(Job.handler(() => Effect.void), { schema, nodeId, ...fast }).pipe(Effect.provide(client)))
      const a = yield* node("a")
      const b = yield* node("b")
      const sql = yield* SqlClient.SqlClient
      const holder = Effect.map(
        sql<{ holder: string }>`SELECT holder FROM ${sql(`${schema}.leases`)} WHERE name = 'maintenance' AND expires_at > now()`,
        (rows) => rows[0]?.holder
      )
      // Sampled from the first election on: before it, nobody leads yet.
      yield* waitFor("a leader", Effect.zipWith(a.manager.isLeader, b.manager.isLeader, (x, y) => x || y), (led) => led)
      const samples: Array<readonly [boolean, boolean]> = []
      for (let i = 0; i < 100; i++) {
        const sample = [yield* a.manager.isLeader, yield* b.manager.isLeader] as const
        // A node that believes it leads holds the unexpired lease row (checked after the beliefs were read).
        const rowHolder = yield* holder
        if (sample[0]) expect(rowHolder).toBe("a")
        if (sample[1]) expect(rowHolder).toBe("b")
        samples.push(sample)
        yield* Effect.sleep("20 millis")
      }
      expect(samples.filter(([x, y]) => x && y)).toEqual([])
      // Someone leads nearly all the time (a round delayed on a busy machine can let a belief lapse briefly).
      expect(samples.filter(([x, y]) => x || y).length).toBeGreaterThan(80)
      const [leader, follower] = samples.at(-1)![0] ? [a, b] : [b, a]
      yield* leader.stop
      yield* waitFor("the follower to lead", follower.manager.isLeader, (isLeader) => isLeader, "3 seconds")
    }))

  it.scoped("a node id used by a live node is refused; once that node stops, it may be reused", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const first = yield* startWorker(Job.handler(() => Effect.void), { schema, nodeId: "twin", ...fast })
      const refused = yield* Effect.flip(startWorker(Job.handler(() => Effect.void), { schema, nodeId: "twin", ...fast }))
      expect(refused).toMatchObject({ _tag: "NodeIdInUse", nodeId: "twin" })
      yield* first.stop
      const again = yield* startWorker(Job.handler(() => Effect.void), { schema, nodeId: "twin", ...fast })
      expect(again.manager.nodeId).toBe("twin")
    }))

  it.scoped("a node whose id another process took stops its attempts and claims nothing, then registers again once the id is free", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const schema = yield* freshSchema
      const Blocking = Task.make("blocking", { args: Schema.Struct({}) })
      const started = yield* Deferred.make<void>()
      const interrupted = yield* Deferred.make<void>()
      const handlers = Layer.merge(
        Blocking.handler(() =>
          Effect.zipRight(Deferred.succeed(started, undefined), Effect.never).pipe(
            Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
          )
        ),
        Job.handler(() => Effect.void)
      )
      const { manager } = yield* startWorker(handlers, { schema, nodeId: "taken", scanInterval: "100 millis", ...fast })
      const nodes = sql(`${schema}.nodes`)
      const incarnation = Effect.map(
        sql<{ incarnation: string }>`SELECT incarnation::text AS incarnation FROM ${nodes} WHERE id = 'taken'`,
        (rows) => rows[0]?.incarnation
      )
      const first = yield* incarnation
      yield* Tasks.run(Blocking, {}).pipe(inSchema(schema))
      yield* Deferred.await(started)

      // Another process registers the id (a new incarnation) and keeps it alive.
      yield* sql`UPDATE ${nodes} SET incarnation = gen_random_uuid(), heartbeat_at = now() + interval '1 hour' WHERE id = 'taken'`
      yield* Deferred.await(interrupted).pipe(Effect.timeout("3 seconds"))
      const heartbeatError = Effect.map(manager.health, (fibers) =>
        Option.getOrElse(Option.flatMap(Option.fromNullable(fibers.find((fiber) => fiber.fiber === "heartbeat")), (fiber) =>
          fiber.lastError), () => ""))
      yield* waitFor("the heartbeat to find the id taken", heartbeatError, (error) => error.includes("NodeIdTaken"))
      const waiting = yield* Tasks.run(Job, {}).pipe(inSchema(schema))
      const enqueuedAt = yield* Clock.currentTimeMillis
      // Claimer rounds come and go (NOTIFY, scans every 100 ms), and claim nothing while the id is taken.
      const lastClaimRound = Effect.map(manager.health, (fibers) =>
        Option.getOrElse(Option.flatMap(Option.fromNullable(fibers.find((fiber) => fiber.fiber === "claimer")), (fiber) =>
          Option.map(fiber.lastSuccessAt, (at) => at.getTime())), () => 0))
      yield* waitFor("claimer rounds well after the enqueue", lastClaimRound, (at) => at > enqueuedAt + 300)
      const [stillWaiting] = yield* (yield* storeOf(schema)).getMany([waiting])
      expect(stillWaiting?.status).toBe(TaskStatus.initialized)

      // The other process goes silent: this one registers again, as a new incarnation, and works.
      yield* sql`UPDATE ${nodes} SET heartbeat_at = now() - interval '1 hour' WHERE id = 'taken'`
      yield* waitForStatus(schema, [waiting], [TaskStatus.succeeded])
      const again = yield* incarnation
      expect(again).not.toBe(first)
      expect(again).toBeDefined()
    }))

  it.scoped("a killed node's task runs elsewhere within 10 s, with default settings", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const { child, id } = yield* sleepyTaskInAProcess(databaseUrl(), schema)
      // The survivor runs with default heartbeat, node timeout, rescue and scan settings.
      yield* startWorker(Sleepy.handler(() => Effect.void), { schema })
      const killedAt = yield* Clock.currentTimeMillis
      yield* child.kill("SIGKILL")
      const [row] = yield* waitForStatus(schema, [id], [TaskStatus.succeeded], "15 seconds")
      const recovery = (row?.finishedAt?.getTime() ?? 0) - killedAt
      yield* Effect.log(`killed node's task finished elsewhere ${recovery} ms after the kill`)
      expect(recovery).toBeLessThan(10_000)
      expect(row).toMatchObject({ attempt: 2, lostCount: 0 })
      expect(row?.lastError).toContain("worker lost")
    }), { timeout: 60_000 })
})
