import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Option, Ref, Schema } from "effect"
import { Task, Tasks, TaskStatus } from "../src/index.js"
import { freshSchema, inSchema, PgTest } from "./support/database.js"
import { waitFor } from "./support/waitFor.js"
import { migratedSchema, startWorker, storeOf, twoClaimRoundsLater, waitForLockWait, waitForStatus } from "./support/worker.js"

const Parent = Task.make("parent", { args: Schema.Struct({ children: Schema.Array(Schema.String) }), retry: { times: 1 } })
const Child = Task.make("child", { args: Schema.Struct({ name: Schema.String, spawn: Schema.Array(Schema.String) }) })

interface Run {
  readonly name: string
  readonly start: number
  readonly end: number
}

const recorder = Effect.map(Ref.make<ReadonlyArray<Run>>([]), (runs) => ({
  runs,
  ChildLive: Child.handler(({ name, spawn }) =>
    Effect.gen(function*() {
      const start = Date.now()
      for (const grandchild of spawn) yield* Tasks.run(Child, { name: grandchild, spawn: [] })
      yield* Effect.sleep("30 millis")
      yield* Ref.update(runs, (all) => [...all, { name, start, end: Date.now() }])
    }))
}))

const childRows = (schema: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ id: string; name: string; parentId: string; rootId: string; status: string }>`
      SELECT id::text, args->>'name' AS name, parent_id::text AS "parentId", root_id::text AS "rootId", status
      FROM ${sql(`${schema}.tasks`)} WHERE key = 'child' ORDER BY id`.withoutTransform)

layer(PgTest, { excludeTestServices: true })("child tasks", (it) => {
  it.scoped("children submitted by one handler run in order, each after the previous ended", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const { ChildLive, runs } = yield* recorder
      const ParentLive = Parent.handler(({ children }) =>
        Effect.forEach(children, (name) => Tasks.run(Child, { name, spawn: [] }), { discard: true })
      )
      yield* startWorker(Layer.merge(ParentLive, ChildLive), { schema, poolSize: 4, scanInterval: "200 millis" })
      const parent = yield* Tasks.run(Parent, { children: ["A", "B", "C"] }).pipe(inSchema(schema))
      yield* waitFor("three children to run", Ref.get(runs), (all) => all.length === 3)
      const all = yield* Ref.get(runs)
      expect(all.map((run) => run.name)).toEqual(["A", "B", "C"])
      expect(all[1]!.start).toBeGreaterThanOrEqual(all[0]!.end)
      expect(all[2]!.start).toBeGreaterThanOrEqual(all[1]!.end)
      const rows = yield* childRows(schema)
      expect(rows.map((row) => [row.name, row.parentId, row.rootId])).toEqual([
        ["A", parent, parent],
        ["B", parent, parent],
        ["C", parent, parent]
      ])
    }))

  it.scoped("waiting for children: a last child starts after its earlier siblings ended, failed ones included, and sees how they went", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const Step = Task.make("step", { args: Schema.Struct({ fails: Schema.Boolean }) })
      const Report = Task.make("report", { args: Schema.Struct({ steps: Schema.Number }) })
      const seen = yield* Ref.make<ReadonlyArray<string>>([])
      const StepLive = Step.handler(({ fails }) => fails ? Effect.fail("step failed") : Effect.sleep("50 millis"))
      const ReportLive = Report.handler(() =>
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const current = yield* Task.CurrentTask
          const siblings = yield* sql<{ status: string }>`
            SELECT status FROM ${sql(`${schema}.tasks`)}
            WHERE parent_id = (SELECT parent_id FROM ${sql(`${schema}.tasks`)} WHERE id = ${Option.getOrThrow(current).id}::bigint)
              AND key = 'step' ORDER BY id`
          yield* Ref.set(seen, siblings.map((row) => row.status))
        }))
      const ParentLive = Parent.handler(() =>
        Effect.gen(function*() {
          yield* Tasks.run(Step, { fails: true })
          yield* Tasks.run(Step, { fails: false })
          yield* Tasks.run(Report, { steps: 2 })
        }))
      yield* startWorker(Layer.mergeAll(ParentLive, StepLive, ReportLive), { schema, poolSize: 4, scanInterval: "200 millis" })
      yield* Tasks.run(Parent, { children: [] }).pipe(inSchema(schema))
      yield* waitFor("the report to run", Ref.get(seen), (statuses) => statuses.length > 0)
      expect(yield* Ref.get(seen)).toEqual([TaskStatus.failed, TaskStatus.succeeded])
    }))

  it.scoped("a parent attempt that fails leaves no children; the attempt that succeeds keeps its own", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const { ChildLive, runs } = yield* recorder
      const ParentLive = Parent.handler(({ children }) =>
        Effect.gen(function*() {
          const current = Option.getOrThrow(yield* Task.CurrentTask)
          yield* Tasks.run(Child, { name: `${children[0]}-attempt-${current.attempt}`, spawn: [] })
          if (current.attempt === 1) return yield* Effect.fail("parent failed after submitting")
        })
      )
      yield* startWorker(Layer.merge(ParentLive, ChildLive), { schema, scanInterval: "200 millis" })
      const parent = yield* Tasks.run(Parent, { children: ["X"] }).pipe(inSchema(schema))
      yield* waitForStatus(schema, [parent], [TaskStatus.succeeded])
      yield* waitFor("the surviving child to run", Ref.get(runs), (all) => all.length === 1)
      expect((yield* Ref.get(runs)).map((run) => run.name)).toEqual(["X-attempt-2"])
      expect((yield* childRows(schema)).map((row) => row.name)).toEqual(["X-attempt-2"])
    }))

  it.scoped("independent: true inside a handler enqueues a task that is not a child: not held, kept when the attempt fails, deduplicated by its unique key", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const { ChildLive, runs } = yield* recorder
      const independentRan = yield* Deferred.make<void>()
      const enqueued = yield* Ref.make<ReadonlyArray<readonly [string, string]>>([])
      const ParentLive = Parent.handler(() =>
        Effect.gen(function*() {
          const current = Option.getOrThrow(yield* Task.CurrentTask)
          yield* Tasks.run(Child, { name: `held-${current.attempt}`, spawn: [] })
          const free = { independent: true, uniqueKey: `audit-${current.attempt}` }
          const first = yield* Tasks.run(Child, { name: `free-${current.attempt}`, spawn: [] }, free)
          // The same unique key while that task is unfinished (it sleeps 30 ms): the same task.
          const again = yield* Tasks.run(Child, { name: `again-${current.attempt}`, spawn: [] }, free)
          yield* Ref.update(enqueued, (all) => [...all, [first, again] as const])
          if (current.attempt === 1) {
            // Not held back by this attempt, which has not ended: the independent task runs meanwhile.
            yield* waitFor("the independent task to run", Ref.get(runs), (all) => all.some((run) => run.name === "free-1"))
            yield* Deferred.succeed(independentRan, undefined)
            return yield* Effect.fail("parent failed after submitting")
          }
        })
      )
      yield* startWorker(Layer.merge(ParentLive, ChildLive), { schema, poolSize: 4, scanInterval: "200 millis" })
      const parent = yield* Tasks.run(Parent, { children: [] }).pipe(inSchema(schema))
      yield* Deferred.await(independentRan)
      yield* waitForStatus(schema, [parent], [TaskStatus.succeeded])
      yield* waitFor("the second attempt's tasks to run", Ref.get(runs), (all) => all.length === 3)
      expect((yield* Ref.get(runs)).map((run) => run.name).sort()).toEqual(["free-1", "free-2", "held-2"])
      const pairs = yield* Ref.get(enqueued)
      expect(pairs.length).toBe(2)
      for (const [first, again] of pairs) expect(again).toBe(first)
      const rows = yield* childRows(schema)
      expect(rows.map((row) => [row.name, row.parentId])).toEqual([
        ["free-1", null],
        ["held-2", parent],
        ["free-2", null]
      ])
      const refused = yield* Tasks.run(Child, { name: "x", spawn: [] }, { independent: "yes" as never }).pipe(
        inSchema(schema),
        Effect.flip
      )
      expect(refused).toMatchObject({ _tag: "InvalidTaskOptions", option: "independent" })
    }))

  it.scoped("grandchildren keep their order within their parent, and the tree is visible", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const { ChildLive, runs } = yield* recorder
      const ParentLive = Parent.handler(() =>
        Effect.zipRight(
          Tasks.run(Child, { name: "A", spawn: ["A1", "A2", "A3"] }),
          Tasks.run(Child, { name: "B", spawn: [] })
        )
      )
      yield* startWorker(Layer.merge(ParentLive, ChildLive), { schema, poolSize: 4, scanInterval: "200 millis" })
      const root = yield* Tasks.run(Parent, { children: [] }).pipe(inSchema(schema))
      yield* waitFor("five descendants to run", Ref.get(runs), (all) => all.length === 5)
      const names = (yield* Ref.get(runs)).map((run) => run.name)
      const position = (name: string) => names.indexOf(name)
      expect(position("A1")).toBeLessThan(position("A2"))
      expect(position("A2")).toBeLessThan(position("A3"))
      expect(position("A")).toBeLessThan(position("B"))
      expect(position("A")).toBeLessThan(position("A1"))
      const rows = yield* childRows(schema)
      const byName = new Map(rows.map((row) => [row.name, row]))
      expect(byName.get("A1")?.parentId).toBe(byName.get("A")?.id)
      expect(rows.every((row) => row.rootId === root)).toBe(true)
      const store = yield* storeOf(schema)
      const [rootRow] = yield* store.getMany([root])
      expect(rootRow?.parentId).toBeNull()
    }))

  it.scoped("children submitted concurrently by one handler still run one at a time, in id order", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const { ChildLive, runs } = yield* recorder
      const ParentLive = Parent.handler(({ children }) =>
        Effect.forEach(children, (name) => Tasks.run(Child, { name, spawn: [] }), { concurrency: "unbounded", discard: true })
      )
      yield* startWorker(Layer.merge(ParentLive, ChildLive), { schema, poolSize: 4, scanInterval: "200 millis" })
      yield* Tasks.run(Parent, { children: ["P", "Q", "R", "S"] }).pipe(inSchema(schema))
      yield* waitFor("four children to run", Ref.get(runs), (all) => all.length === 4)
      const byName = new Map((yield* Ref.get(runs)).map((run) => [run.name, run]))
      const inIdOrder = (yield* childRows(schema)).map((row) => byName.get(row.name)!)
      for (let i = 1; i < inIdOrder.length; i++) {
        expect(inIdOrder[i]!.start).toBeGreaterThanOrEqual(inIdOrder[i - 1]!.end)
      }
    }))

  it.scoped("a parent that snoozes keeps the children it submitted", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const { ChildLive, runs } = yield* recorder
      const rounds = yield* Ref.make(0)
      const ParentLive = Parent.handler(() =>
        Effect.gen(function*() {
          const round = yield* Ref.updateAndGet(rounds, (n) => n + 1)
          yield* Tasks.run(Child, { name: `round-${round}`, spawn: [] })
          if (round === 1) return yield* Task.snooze("100 millis")
        })
      )
      yield* startWorker(Layer.merge(ParentLive, ChildLive), { schema, scanInterval: "200 millis" })
      const parent = yield* Tasks.run(Parent, { children: [] }).pipe(inSchema(schema))
      yield* waitForStatus(schema, [parent], [TaskStatus.succeeded])
      yield* waitFor("both children to run", Ref.get(runs), (all) => all.length === 2)
      expect((yield* Ref.get(runs)).map((run) => run.name)).toEqual(["round-1", "round-2"])
    }))

  it.scoped("children left behind by an ended attempt are settled: kept ones released, void ones deleted", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const { schema, store } = yield* migratedSchema
      const tasks = sql(`${schema}.tasks`)
      const parent = yield* Tasks.run(Parent, { children: [] }).pipe(inSchema(schema))
      const [kept, voided] = yield* Tasks.runMany(Child, [{ name: "kept", spawn: [] }, { name: "void", spawn: [] }]).pipe(
        inSchema(schema)
      )
      // The parent succeeded with attempt token K; one straggler was submitted under K, one under a lost attempt's token.
      yield* sql`UPDATE ${tasks} SET status = 'succeeded', finished_at = now(),
        kept_token = '00000000-0000-0000-0000-00000000000a' WHERE id = ${parent}::bigint`
      yield* sql`UPDATE ${tasks} SET parent_id = ${parent}::bigint, held_by = '00000000-0000-0000-0000-00000000000a'
        WHERE id = ${kept!}::bigint`
      yield* sql`UPDATE ${tasks} SET parent_id = ${parent}::bigint, held_by = '00000000-0000-0000-0000-00000000000b'
        WHERE id = ${voided!}::bigint`
      // The kept straggler was chained after a sibling that has ended since: released, it waits no more.
      const [ended] = yield* Tasks.runMany(Child, [{ name: "ended", spawn: [] }]).pipe(inSchema(schema))
      yield* sql`UPDATE ${tasks} SET status = 'succeeded', finished_at = now() WHERE id = ${ended!}::bigint`
      yield* sql`UPDATE ${tasks} SET after_id = ${ended!}::bigint, waiting_for = ${ended!}::bigint WHERE id = ${kept!}::bigint`
      expect(yield* store.settleOrphanChildren(100)).toEqual({ released: 1, dropped: 1 })
      const rows = yield* store.getMany([kept!, voided!])
      expect(rows.map((row) => row.id)).toEqual([kept])
      const [waiting] = yield* sql<{ waitingFor: string | null; heldBy: string | null }>`
        SELECT waiting_for::text AS "waitingFor", held_by::text AS "heldBy" FROM ${tasks} WHERE id = ${kept!}::bigint`
        .withoutTransform
      expect(waiting).toEqual({ waitingFor: null, heldBy: null })
      expect(yield* store.settleOrphanChildren(100)).toEqual({ released: 0, dropped: 0 })
    }))

  it.scoped("a child left waiting for a sibling that is gone is freed by the maintenance check, and runs", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const schema = yield* freshSchema
      const { ChildLive, runs } = yield* recorder
      const Blocker = Task.make("blocker", { args: Schema.Struct({}) }) // no node runs it
      const ParentLive = Parent.handler(() =>
        Effect.zipRight(Tasks.run(Blocker, {}), Tasks.run(Child, { name: "after-blocker", spawn: [] }))
      )
      const { manager } = yield* startWorker(Layer.merge(ParentLive, ChildLive), {
        schema,
        scanInterval: "200 millis",
        checkInterval: "200 millis"
      })
      yield* Tasks.run(Parent, { children: [] }).pipe(inSchema(schema))
      const [blocker] = yield* waitFor(
        "the blocker to be released",
        sql<{ id: string }>`SELECT id::text AS id FROM ${sql(`${schema}.tasks`)} WHERE key = 'blocker' AND held_by IS NULL`,
        (rows) => rows.length === 1
      )
      // Asserting an absence: two claim rounds later the child still waits for its sibling, unclaimed.
      yield* twoClaimRoundsLater(manager)
      expect((yield* childRows(schema)).map((row) => [row.name, row.status])).toEqual([["after-blocker", "initialized"]])
      expect(yield* Ref.get(runs)).toEqual([])
      // Deleted by hand: nothing ends it, so only the check's safety net frees the child.
      yield* sql`DELETE FROM ${sql(`${schema}.tasks`)} WHERE id = ${blocker!.id}::bigint`
      yield* waitFor("the child to run", Ref.get(runs), (all) => all.length === 1, "10 seconds")
    }))

  it.scoped("a straggler chained after a sibling whose finish is in flight is settled only once that sibling has ended", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const { schema, store } = yield* migratedSchema
      const tasks = sql(`${schema}.tasks`)
      const kept = "00000000-0000-0000-0000-00000000000a"
      const claim = "00000000-0000-0000-0000-0000000000cc"
      // Parent P succeeded with attempt token `kept`; X, its released child, runs under `claim`.
      const [p] = yield* sql<{ id: string }>`INSERT INTO ${tasks} (key, args, max_attempts, status, finished_at, kept_token)
        VALUES ('parent', '{}', 1, 'succeeded', now(), ${kept}::uuid) RETURNING id::text AS id`.withoutTransform
      const [x] = yield* sql<{ id: string }>`
        INSERT INTO ${tasks} (key, args, max_attempts, status, claim_token, parent_id, started_at, lease_expires_at)
        VALUES ('child', '{}', 1, 'running', ${claim}::uuid, ${p!.id}::bigint, now(), now() + interval '1 hour')
        RETURNING id::text AS id`.withoutTransform
      // Something (a heartbeat, say) holds X's row for a moment; X's finish takes its snapshot and waits.
      const locked = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(sql.withTransaction(Effect.gen(function*() {
        yield* sql`SELECT 1 FROM ${tasks} WHERE id = ${x!.id}::bigint FOR UPDATE`
        yield* Deferred.succeed(locked, undefined)
        yield* Deferred.await(release)
      })))
      yield* Deferred.await(locked)
      const finish = yield* Effect.fork(store.finishIfClaimed([{
        id: x!.id,
        claimToken: claim,
        status: TaskStatus.succeeded,
        delayMillis: 0,
        error: null,
        countsAsAttempt: true,
        keepsChildren: true, result: null
      }]))
      yield* waitForLockWait(schema) // the finish is waiting on the row lock
      // A straggler C of the kept attempt commits, chained after X, which the finish cannot see.
      const [c] = yield* sql<{ id: string }>`
        INSERT INTO ${tasks} (key, args, max_attempts, parent_id, held_by, after_id, waiting_for)
        VALUES ('child', '{}', 1, ${p!.id}::bigint, ${kept}::uuid, ${x!.id}::bigint, ${x!.id}::bigint)
        RETURNING id::text AS id`.withoutTransform
      expect(yield* store.settleOrphanChildren(100)).toEqual({ released: 0, dropped: 0 }) // X still runs
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
      expect(yield* Fiber.join(finish)).toEqual([{ id: x!.id, status: TaskStatus.succeeded }])
      expect(yield* store.settleOrphanChildren(100)).toEqual({ released: 1, dropped: 0 })
      const [row] = yield* sql<{ waitingFor: string | null; heldBy: string | null }>`
        SELECT waiting_for::text AS "waitingFor", held_by::text AS "heldBy" FROM ${tasks} WHERE id = ${c!.id}::bigint`
        .withoutTransform
      expect(row).toEqual({ waitingFor: null, heldBy: null })
    }))
})
