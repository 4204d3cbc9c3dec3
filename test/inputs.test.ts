/**
 * Input PostgreSQL cannot hold, or that would not decode when run: each is a typed error at once,
 * writes nothing, leaves the caller's transaction usable, and never loops.
 */
import { SqlClient } from "@effect/sql"
import * as Statement from "@effect/sql/Statement"
import { describe, expect, it, layer } from "@effect/vitest"
import { Duration, Effect, Either, Layer, Ref, Schema } from "effect"
import * as insertOps from "../src/internal/store/insert.js"
import { currentTables } from "../src/internal/store/tables.js"
import { SchedulingPolicy, Task, TaskAdmin, TaskError, Tasks, TaskStatus } from "../src/index.js"
import { freshSchema, inSchema, PgTest } from "./support/database.js"
import { asAdmin, startWorker, storeOf, waitForStatus } from "./support/worker.js"

const halfEmoji = "🙂".slice(0, 1)
const otherHalf = "🙂".slice(1)
const earliestRunAt = Date.UTC(-4712, 0, 1) // 4713 BC
const latestDate = 8.64e15 // 275760 AD, the latest a JS Date holds

const Note = Task.make("note", { args: Schema.Struct({ text: Schema.String }) })
const Labels = Task.make("labels", { args: Schema.Record({ key: Schema.String, value: Schema.String }) })
const Canary = Task.make("canary", { args: Schema.Struct({ n: Schema.Number }) })
const Measure = Task.make("measure", { args: Schema.Struct({ value: Schema.Number }) })
const Stamp = Task.make("stamp", { args: Schema.Struct({ at: Schema.DateFromSelf }) })
const Meeting = Task.make("meeting", { args: Schema.Struct({ at: Schema.Date, note: Schema.optional(Schema.String) }) })
const Readings = Task.make("readings", {
  args: Schema.Struct({ values: Schema.Array(Schema.UndefinedOr(Schema.Number)) })
})
const Totals = Task.make("totals", {
  args: Schema.Struct({ byName: Schema.ReadonlyMapFromSelf({ key: Schema.String, value: Schema.Number }) })
})
const Emoji = Task.make("emoji-📬", { args: Schema.Struct({ text: Schema.String }), queue: "queue-📬" })

/**
 * A migrated schema with a worker that runs every task above and records the arguments it saw.
 * `refuses` runs an enqueue inside a transaction that then enqueues a canary and commits: the
 * enqueue must fail as expected within two seconds, write nothing and leave the transaction usable,
 * and the canary must run.
 */
const setup = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const schema = yield* freshSchema
  yield* (yield* storeOf(schema)).migrate
  const seen = yield* Ref.make<ReadonlyArray<unknown>>([])
  const record = (args: unknown) => Ref.update(seen, (all) => [...all, args])
  const tasks: ReadonlyArray<Task.Any> = [Labels, Canary, Measure, Stamp, Meeting, Readings, Totals, Emoji]
  yield* startWorker(Layer.mergeAll(Note.handler(record), ...tasks.map((task) => task.handler(record))), {
    schema,
    scanInterval: "200 millis"
  })
  const countTasks = Effect.map(
    sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql(`${schema}.tasks`)}`,
    (rows) => rows[0]!.n
  )
  const refuses = <A, E>(enqueue: Effect.Effect<A, E, SqlClient.SqlClient>, expected: Record<string, unknown>) =>
    Effect.gen(function*() {
      const before = yield* countTasks
      const [elapsed, [result, canary]] = yield* Effect.timed(
        sql.withTransaction(Effect.all([
          Effect.either(Effect.timeout(enqueue, "5 seconds")),
          Tasks.run(Canary, { n: before })
        ])).pipe(inSchema(schema))
      )
      expect(Duration.toMillis(elapsed)).toBeLessThan(2000)
      expect(Either.isLeft(result) && result.left).toMatchObject(expected)
      expect(yield* countTasks).toBe(before + 1) // the canary alone
      yield* waitForStatus(schema, [canary], [TaskStatus.succeeded], "10 seconds")
    })
  /** Enqueues, waits until the task succeeded, and returns its row. */
  const runs = <E>(enqueue: Effect.Effect<string, E, SqlClient.SqlClient>) =>
    Effect.flatMap(
      inSchema(schema)(enqueue),
      (id) => Effect.map(waitForStatus(schema, [id], [TaskStatus.succeeded], "10 seconds"), (rows) => rows[0]!)
    )
  return { schema, seen, refuses, runs }
})

/** A plain note task enqueued with these options. */
const note = (options: Tasks.RunOptions) => Tasks.run(Note, { text: "x" }, options)

const invalidArgs = (issue: string) => ({ _tag: "InvalidTaskArgs", issue: expect.stringContaining(issue) })
const invalidOption = (option: string, reason = "") => ({
  _tag: "InvalidTaskOptions",
  option,
  reason: expect.stringContaining(reason)
})

describe("task definitions", () => {
  it("a key or queue PostgreSQL cannot store is refused by Task.make", () => {
    const args = Schema.Struct({})
    const cases: ReadonlyArray<readonly [() => unknown, string]> = [
      [() => Task.make("a\u0000b", { args }), "the key contains the NUL character"],
      [() => Task.make(`cut-${halfEmoji}`, { args }), "the key contains a lone UTF-16 surrogate"],
      [() => Task.make(`${otherHalf}-cut`, { args }), "the key contains a lone UTF-16 surrogate"],
      [() => Task.make("x", { args, queue: "q\u0000" }), "queue contains the NUL character"],
      [() => Task.make("x", { args, queue: `q${halfEmoji}` }), "queue contains a lone UTF-16 surrogate"]
    ]
    for (const [make, reason] of cases) {
      expect(make).toThrow(TaskError.InvalidTaskDefinition)
      expect(make).toThrow(reason)
    }
    expect(Task.make("whole-🙂", { args, queue: "🙂" }).key).toBe("whole-🙂")
  })

  it.effect("a fair policy's weight for a queue name PostgreSQL cannot store is refused", () =>
    Effect.gen(function*() {
      for (const queue of ["q\u0000", `q${halfEmoji}`, ""]) {
        const error = yield* Effect.flip(SchedulingPolicy.validate(SchedulingPolicy.fair({ weights: { [queue]: 2 } })))
        expect(error).toMatchObject({ _tag: "InvalidTaskOptions", option: "scheduling" })
      }
      yield* SchedulingPolicy.validate(SchedulingPolicy.fair({ weights: { "🙂": 2 } }))
    }))
})

layer(PgTest, { excludeTestServices: true })("bad input", (it) => {
  it.scoped("a unique key PostgreSQL cannot store is refused before any statement, and the insert never loops", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const { refuses, schema } = yield* setup
      const statements = yield* Ref.make(0)
      const counted = <A, E, R>(self: Effect.Effect<A, E, R>) =>
        Statement.withTransformer(self, (statement) => Effect.as(Ref.update(statements, (n) => n + 1), statement))
      yield* refuses(counted(note({ uniqueKey: `order-${halfEmoji}` })), invalidOption("uniqueKey", "surrogate"))
      yield* refuses(counted(note({ uniqueKey: "order\u0000" })), invalidOption("uniqueKey", "NUL"))
      expect(yield* Ref.get(statements)).toBe(0)

      // Below the check, a key the database stores otherwise (as U+FFFD) is never matched: after one
      // more round the insert fails instead of trying forever.
      const tables = yield* currentTables.pipe(inSchema(schema))
      const unmatched: insertOps.NewTask = {
        key: Note.key,
        queue: "default",
        priority: 0,
        args: `{"text":"x"}`,
        maxAttempts: 1,
        runAt: null,
        delayMillis: 0,
        uniqueKey: `order-${halfEmoji}`,
        owner: null,
        parentId: null,
        rootId: null,
        heldBy: null,
        paused: false
      }
      const [elapsed, result] = yield* sql.withTransaction(insertOps.insertMany(tables, [unmatched])).pipe(
        counted,
        Effect.timeout("5 seconds"),
        Effect.either,
        Effect.timed
      )
      expect(Either.isLeft(result) && result.left._tag).toBe("SqlError")
      expect(Duration.toMillis(elapsed)).toBeLessThan(2000)
      // queue limits, insert, look-up, insert again, look-up again
      expect(yield* Ref.get(statements)).toBeLessThanOrEqual(5)
      const left = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql(`${schema}.tasks`)} WHERE key = ${Note.key}`
      expect(left[0]?.n).toBe(0)
    }))

  it.scoped("arguments that pass validation but would not decode when run are InvalidTaskArgs", () =>
    Effect.gen(function*() {
      const { refuses, runs, seen } = yield* setup
      for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
        yield* refuses(Tasks.run(Measure, { value }), invalidArgs(`the number ${value} at "value" is stored as null`))
      }
      yield* refuses(Tasks.runMany(Measure, [{ value: 1 }, { value: Number.NaN }]), invalidArgs("is stored as null"))
      yield* refuses(Tasks.run(Stamp, { at: new Date() }), invalidArgs(`a Date at "at" is stored as what its toJSON()`))
      yield* refuses(Tasks.run(Readings, { values: [1, undefined] }), invalidArgs("a value of type undefined"))
      yield* refuses(Tasks.run(Totals, { byName: new Map([["a", 1]]) }), invalidArgs(`a Map at "byName" is stored as a plain`))

      // What survives the trip is stored and runs: a Date encoded as a string, an undefined optional field.
      const at = new Date("2030-01-02T03:04:05.678Z")
      yield* runs(Tasks.run(Meeting, { at, note: undefined }))
      yield* runs(Tasks.run(Measure, { value: -0 }))
      expect(yield* Ref.get(seen)).toContainEqual({ at })
      expect(yield* Ref.get(seen)).toContainEqual({ value: 0 })
    }))

  it.scoped("text PostgreSQL cannot store, in arguments or options, is a typed error, not a database error", () =>
    Effect.gen(function*() {
      const { refuses, runs, schema, seen } = yield* setup
      yield* refuses(Tasks.run(Note, { text: `cut ${halfEmoji}` }), invalidArgs(`a string at "text" contains a lone UTF-16`))
      yield* refuses(Tasks.run(Note, { text: `${otherHalf} cut` }), invalidArgs("lone UTF-16 surrogate"))
      yield* refuses(Tasks.run(Labels, { "a\u0000b": "x" }), invalidArgs(`the object key "a\\u0000b" contains the NUL`))
      yield* refuses(Tasks.run(Labels, { [`k${halfEmoji}`]: "x" }), invalidArgs("lone UTF-16 surrogate"))
      for (const option of ["queue", "owner", "uniqueKey"] as const) {
        yield* refuses(note({ [option]: `${option}\u0000` }), invalidOption(option, "NUL"))
        yield* refuses(note({ [option]: `${option}-${halfEmoji}` }), invalidOption(option, "surrogate"))
      }
      yield* refuses(Tasks.runMany(Note, [{ text: "x" }], { owner: halfEmoji }), invalidOption("owner"))
      // Longer than their indexes take whole (PostgreSQL would refuse the index entry, SQLSTATE 54000).
      for (const [option, max] of [["queue", 128], ["owner", 512], ["uniqueKey", 512]] as const) {
        yield* refuses(note({ [option]: "x".repeat(max + 1) }), invalidOption(option, `at most ${max} characters`))
      }
      // The longest, in three-byte characters, are stored and run.
      const longest = yield* runs(note({ queue: "€".repeat(128), owner: "€".repeat(512), uniqueKey: "€".repeat(512) }))
      expect(longest.owner).toBe("€".repeat(512))

      // Whole characters outside the BMP are stored as given, in a key, a queue, arguments and options.
      const row = yield* runs(Tasks.run(Emoji, { text: "🙂 📬" }, { owner: "owner-🙂", uniqueKey: "🙂" }))
      expect(row).toMatchObject({ key: "emoji-📬", queue: "queue-📬", owner: "owner-🙂", args: { text: "🙂 📬" } })
      expect(yield* Ref.get(seen)).toContainEqual({ text: "🙂 📬" })

      const admin = asAdmin(schema)
      for (const name of ["q\u0000", `q${halfEmoji}`]) {
        const error = yield* Effect.flip(admin(TaskAdmin.defineQueue({ name, maxSize: 10 })))
        expect(error).toMatchObject({ _tag: "InvalidTaskOptions", option: "name" })
      }
      expect(yield* admin(TaskAdmin.queues)).toEqual([])
    }))

  it.scoped("a due time PostgreSQL or a JS Date cannot hold, or a negative delay, is InvalidTaskOptions", () =>
    Effect.gen(function*() {
      const { refuses, runs, schema } = yield* setup
      yield* refuses(note({ runAt: new Date(-latestDate) }), invalidOption("runAt", "4713 BC"))
      yield* refuses(note({ runAt: new Date(earliestRunAt - 1) }), invalidOption("runAt", "4713 BC"))
      for (const delay of [-1, "-5 seconds", Duration.weeks(1e9), Number.NaN] as const) {
        yield* refuses(note({ delay }), invalidOption("delay"))
      }

      // Both ends of the range are stored as given; the earliest is long due and runs.
      const earliest = yield* runs(Tasks.run(Note, { text: "early" }, { runAt: new Date(earliestRunAt) }))
      expect(earliest.runAt.getTime()).toBe(earliestRunAt)
      yield* runs(Tasks.run(Note, { text: "now" }, { delay: 0 }))
      const store = yield* storeOf(schema)
      const latest = yield* note({ runAt: new Date(latestDate) }).pipe(inSchema(schema))
      const farDelay = yield* note({ delay: Duration.days(365 * 200_000) }).pipe(inSchema(schema))
      const [latestRow] = yield* store.getMany([latest])
      const [farRow] = yield* store.getMany([farDelay])
      expect(latestRow).toMatchObject({ status: TaskStatus.initialized, runAt: new Date(latestDate) })
      expect(farRow?.status).toBe(TaskStatus.initialized)
      expect(farRow!.runAt.getUTCFullYear()).toBeGreaterThan(200_000)
    }))
})
