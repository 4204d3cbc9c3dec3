import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Context, Effect, Either, ParseResult, Ref, Schema } from "effect"
import { Task, TaskAdmin, TaskError, TaskRegistry, Tasks, TaskStatus } from "../src/index.js"
import { freshSchema, inSchema, PgTest } from "./support/database.js"
import { RequestId } from "./support/traced.js"
import { asAdmin, migratedSchema, startWorker, storeOf, waitForStatus } from "./support/worker.js"

const SendReceipt = Task.make("send-receipt", { args: Schema.Struct({ orderId: Schema.Number }) })

class Rollback extends Schema.TaggedError<Rollback>()("Rollback", {}) {}

/** A handler that records every order id it saw. */
const recordingHandler = Effect.gen(function*() {
  const seen = yield* Ref.make<ReadonlyArray<number>>([])
  const live = SendReceipt.handler(({ orderId }) => Ref.update(seen, (ids) => [...ids, orderId]))
  return { seen, live }
})

layer(PgTest, { excludeTestServices: true })("Tasks.run", (it) => {
  it.scoped("a task enqueued in a committed transaction runs exactly once and ends succeeded", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const schema = yield* freshSchema
      const { live, seen } = yield* recordingHandler
      yield* startWorker(live, { schema, scanInterval: "200 millis" })
      const id = yield* sql.withTransaction(Tasks.run(SendReceipt, { orderId: 7 })).pipe(
        inSchema(schema)
      )
      const [row] = yield* waitForStatus(schema, [id], [TaskStatus.succeeded])
      expect(row?.attempt).toBe(1)
      expect(row?.finishedAt).toBeInstanceOf(Date)
      expect(yield* Ref.get(seen)).toEqual([7])
    }))

  it.scoped("a task enqueued in a rolled-back transaction never exists and never runs", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const schema = yield* freshSchema
      const { live, seen } = yield* recordingHandler
      yield* startWorker(live, { schema, scanInterval: "200 millis" })
      const enqueue = (orderId: number) => Tasks.run(SendReceipt, { orderId })
      const rolledBack = yield* sql.withTransaction(
        Effect.zipRight(enqueue(1), Effect.fail(new Rollback()))
      ).pipe(Effect.either, inSchema(schema))
      expect(Either.isLeft(rolledBack)).toBe(true)
      // A later committed task runs; by then the rolled-back one would have run too, had it existed.
      const committed = yield* sql.withTransaction(enqueue(2)).pipe(inSchema(schema))
      yield* waitForStatus(schema, [committed], [TaskStatus.succeeded])
      const rows = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql(`${schema}.tasks`)}`
      expect(rows[0]?.n).toBe(1)
      expect(yield* Ref.get(seen)).toEqual([2])
    }))

  it.scoped("enqueue outside a transaction works, and several enqueues share one transaction", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const schema = yield* freshSchema
      const { live, seen } = yield* recordingHandler
      yield* startWorker(live, { schema, scanInterval: "200 millis" })
      const alone = yield* Tasks.run(SendReceipt, { orderId: 10 }).pipe(inSchema(schema))
      const together = yield* sql.withTransaction(Effect.all([
        Tasks.run(SendReceipt, { orderId: 11 }),
        Tasks.run(SendReceipt, { orderId: 12 })
      ])).pipe(inSchema(schema))
      const batch = yield* Tasks.runMany(SendReceipt, [{ orderId: 13 }, { orderId: 14 }, { orderId: 15 }]).pipe(inSchema(schema))
      expect(batch.map(Number)).toEqual([...batch.map(Number)].sort((a, b) => a - b))
      yield* waitForStatus(schema, [alone, ...together, ...batch], [TaskStatus.succeeded])
      expect([...(yield* Ref.get(seen))].sort()).toEqual([10, 11, 12, 13, 14, 15])
      const rows = yield* (yield* storeOf(schema)).getMany(batch)
      expect(rows.map((row) => row.args)).toEqual([{ orderId: 13 }, { orderId: 14 }, { orderId: 15 }])
    }))

  describe("bad input", () => {
    it.scoped("a wrong argument type fails with InvalidTaskArgs and writes nothing", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const schema = yield* freshSchema
        yield* (yield* storeOf(schema)).migrate
        const error = yield* Tasks.run("send-receipt", { orderId: "seven" }).pipe(
          Effect.provide(TaskRegistry.layer([SendReceipt])),
          inSchema(schema),
          Effect.flip
        )
        expect(error._tag).toBe("InvalidTaskArgs")
        expect(error.message).toContain(`invalid arguments for task "send-receipt"`)
        expect(error.message).toContain(`["orderId"]`)
        expect(error.message).toContain(`Expected number, actual "seven"`)
        const rows = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql(`${schema}.tasks`)}`
        expect(rows[0]?.n).toBe(0)
      }))

    it.effect("a string PostgreSQL cannot store (a NUL character) fails with InvalidTaskArgs", () =>
      Effect.gen(function*() {
        const Note = Task.make("note", { args: Schema.Struct({ text: Schema.String }) })
        const error = yield* Effect.flip(Tasks.run(Note, { text: "a\u0000b" }))
        expect(error._tag).toBe("InvalidTaskArgs")
        expect(error.message).toContain("NUL character")
      }))

    it.effect("an unknown key fails with TaskNotFound, with or without a registry", () =>
      Effect.gen(function*() {
        const withoutRegistry = yield* Effect.flip(Tasks.run("no-such-task", {}))
        expect(withoutRegistry).toBeInstanceOf(TaskError.TaskNotFound)
        expect(withoutRegistry.message).toContain(`"no-such-task"`)
        const withRegistry = yield* Tasks.run("no-such-task", {}).pipe(
          Effect.provide(TaskRegistry.layer([SendReceipt])),
          Effect.flip
        )
        expect(withRegistry).toBeInstanceOf(TaskError.TaskNotFound)
      }))

    it.effect("a key is found through the registry, and enqueues like the definition", () =>
      Effect.gen(function*() {
        const { schema, store } = yield* migratedSchema
        const id = yield* Tasks.run("send-receipt", { orderId: 3 }).pipe(
          Effect.provide(TaskRegistry.layer([SendReceipt])),
          inSchema(schema)
        )
        const [row] = yield* store.getMany([id])
        expect(row).toMatchObject({ key: "send-receipt", status: "initialized", args: { orderId: 3 }, attempt: 0 })
      }).pipe(Effect.scoped))

    it.effect("an empty key or an invalid option is a typed definition error at definition time", () =>
      Effect.sync(() => {
        const attempt = (make: () => unknown) => {
          try {
            make()
          } catch (error) {
            return error
          }
          return undefined
        }
        const args = Schema.Struct({})
        const cases = [
          [() => Task.make("", { args }), "the key is empty"],
          [() => Task.make("  padded ", { args }), "white space"],
          [() => Task.make("x", { args, retry: { times: -1 } }), "retry.times"],
          [() => Task.make("x", { args, retry: { times: 1.5 } }), "retry.times"],
          [() => Task.make("x", { args, timeout: 0 }), "timeout"],
          [() => Task.make("x", { args, timeout: "soon" as never }), "timeout"],
          [() => Task.make("x", { args, priority: 0.5 }), "priority"],
          [() => Task.make("x", { args, queue: "" }), "queue"],
          [() => Task.make("stop:now", { args }), "the library's notifications"],
          [() => Task.make("x", { args, keep: { failed: 0 } }), "keep.failed"],
          [() => Task.make("x", { args, keep: { canceled: "100000000 days" } }), "keep.canceled"],
          [() => Task.make("x", { args, keep: { succeeded: "sometimes" as never } }), "keep.succeeded"],
          [() => Task.make("x", { args, success: "not a schema" as never }), "options.success"],
          [() => Task.make("x", { args, trace: "sideways" as never }), "trace"],
          [() => Task.make("x", { args, context: { reference: "nope", schema: Schema.String } as never }), "options.context"],
          [() => Task.make("x", { args, context: { reference: RequestId, schema: "nope" } as never }), "options.context"]
        ] as const
        for (const [make, reason] of cases) {
          const error = attempt(make)
          expect(error).toBeInstanceOf(TaskError.InvalidTaskDefinition)
          expect(TaskError.isTaskError(error)).toBe(true)
          expect((error as TaskError.InvalidTaskDefinition).message).toContain(reason)
        }
      }))

    it.scoped("a propagated context that does not encode is InvalidTaskArgs naming it, and nothing is written", () =>
      Effect.gen(function*() {
        class Tenant extends Context.Reference<Tenant>()("test/Tenant", { defaultValue: () => -1 }) {}
        const Billed = Task.make("billed", { args: Schema.Struct({}), context: { reference: Tenant, schema: Schema.NonNegativeInt } })
        const { schema, store } = yield* migratedSchema
        const error = yield* Tasks.run(Billed, {}).pipe(inSchema(schema), Effect.flip)
        expect(error).toBeInstanceOf(TaskError.InvalidTaskArgs)
        expect(error.message).toContain("its propagated context")
        expect(yield* store.count({})).toBe(0)
        // With a value that encodes, it is stored with the task.
        const id = yield* Tasks.run(Billed, {}).pipe(Effect.provideService(Tenant, 7), inSchema(schema))
        const sql = yield* SqlClient.SqlClient
        const [row] = yield* sql<{ context: unknown }>`SELECT context FROM ${sql(`${schema}.tasks`)} WHERE id = ${id}::bigint`
        expect(row?.context).toBe(7)
      }))

    it.scoped("a registry refuses a second handler or a second definition for one key", () =>
      Effect.gen(function*() {
        const other = Task.make("send-receipt", { args: Schema.Struct({ orderId: Schema.String }) })
        const registry = yield* TaskRegistry.make
        yield* registry.register(SendReceipt, () => Effect.void)
        const twice = yield* Effect.flip(registry.register(SendReceipt, () => Effect.void))
        expect(twice.reason).toContain("already registered")
        const clash = yield* Effect.flip(registry.define(other))
        expect(clash.reason).toContain("another definition")
      }))
  })

  it.scoped("enqueuing (or administering) before anything migrated the schema fails with SchemaNotMigrated and writes nothing", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const schema = yield* freshSchema
      const one = yield* sql.withTransaction(Tasks.run(SendReceipt, { orderId: 1 })).pipe(inSchema(schema), Effect.flip)
      expect(one).toBeInstanceOf(TaskError.SchemaNotMigrated)
      expect(one).toMatchObject({ schema })
      expect(one.message).toContain("start a worker")
      expect(one.message).toContain("TaskStore.migrate")
      const many = yield* Tasks.runMany(SendReceipt, [{ orderId: 2 }, { orderId: 3 }]).pipe(inSchema(schema), Effect.flip)
      expect(many).toBeInstanceOf(TaskError.SchemaNotMigrated)
      const defined = yield* TaskAdmin.defineQueue({ name: "email", maxSize: 10 }).pipe(asAdmin(schema), Effect.flip)
      expect(defined).toBeInstanceOf(TaskError.SchemaNotMigrated)
      const read = yield* TaskAdmin.getMany(["1"]).pipe(asAdmin(schema), Effect.flip)
      expect(read).toBeInstanceOf(TaskError.SchemaNotMigrated)
      const schemas = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = ${schema}`
      expect(schemas[0]?.n).toBe(0)
    }))

  it.scoped("arguments whose Schema encodes asynchronously are stored in input order, and a refused one writes nothing", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const schema = yield* freshSchema
      yield* (yield* storeOf(schema)).migrate
      // Names starting with "slow" take an asynchronous step to encode; "bad" is refused by the encoding.
      const Name = Schema.transformOrFail(Schema.String, Schema.String, {
        strict: true,
        decode: (name) => ParseResult.succeed(name),
        encode: (name, _, ast) =>
          name === "bad"
            ? ParseResult.fail(new ParseResult.Type(ast, name, "not a name"))
            : name.startsWith("slow")
            ? Effect.as(Effect.sleep("1 millis"), name)
            : ParseResult.succeed(name)
      })
      const Greet = Task.make("greet", { args: Schema.Struct({ name: Name }) })
      const names = ["a", "slow-b", "c", "slow-d", "e"]
      const ids = yield* Tasks.runMany(Greet, names.map((name) => ({ name }))).pipe(inSchema(schema))
      const rows = yield* sql<{ id: string; name: string }>`
        SELECT id::text AS id, args->>'name' AS name FROM ${sql(`${schema}.tasks`)} ORDER BY id`
      expect(rows.map((row) => row.name)).toEqual(names)
      expect(rows.map((row) => row.id)).toEqual(ids)
      const refused = yield* Tasks.runMany(Greet, [{ name: "slow-f" }, { name: "bad" }]).pipe(inSchema(schema), Effect.flip)
      expect(refused).toMatchObject({ _tag: "InvalidTaskArgs", key: "greet", issue: expect.stringContaining("not a name") })
      const one = yield* Tasks.run(Greet, { name: "slow-g" }).pipe(inSchema(schema))
      const after = yield* sql<{ name: string }>`
        SELECT args->>'name' AS name FROM ${sql(`${schema}.tasks`)} WHERE id > ${Number(ids[4])} ORDER BY id`
      expect(after.map((row) => row.name)).toEqual(["slow-g"])
      expect(one).toBe(String(Number(ids[4]) + 1))
    }))

  it.scoped("enqueuing into a schema migrated by an older version (no enqueue function yet) fails with SchemaNotMigrated and writes nothing", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const schema = yield* freshSchema
      yield* (yield* storeOf(schema)).migrate
      // What version 10 of the schema looked like: the tables, without the functions of migrations 11 and 16.
      const functions = yield* sql<{ signature: string }>`
        SELECT oid::regprocedure::text AS signature FROM pg_proc
        WHERE proname = 'enqueue' AND pronamespace = ${schema}::regnamespace`.withoutTransform
      expect(functions).toHaveLength(2)
      for (const { signature } of functions) yield* sql.unsafe(`DROP FUNCTION ${signature}`)
      const one = yield* Tasks.run(SendReceipt, { orderId: 1 }).pipe(inSchema(schema), Effect.flip)
      expect(one).toBeInstanceOf(TaskError.SchemaNotMigrated)
      expect(one.message).toContain("TaskStore.migrate")
      const rows = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql(`${schema}.tasks`)}`
      expect(rows[0]?.n).toBe(0)
    }))
})
