/**
 * What every store behind `Tasks.run` must do, written once and run against each implementation:
 * PostgreSQL (test/store/enqueue.test.ts) and the test kit's memory. A new store (another SQL
 * dialect) passes the same suite.
 */
import { SqlClient } from "@effect/sql"
import { expect } from "@effect/vitest"
import { type Context, Effect, Schema, type Scope } from "effect"
import { Task, Tasks } from "../../src/index.js"

/** A task as stored, read back by the store's own means. */
export interface Stored {
  readonly id: string
  readonly key: string
  readonly status: string
  readonly args: unknown
  readonly uniqueKey: string | null
}

/** A fresh, empty store: the services `Tasks.run` writes through, and a reader of what it holds. */
export interface Store {
  readonly context: Context.Context<SqlClient.SqlClient>
  readonly stored: Effect.Effect<ReadonlyArray<Stored>>
}

/** The `it` of @effect/vitest, or of one of its `layer(...)` blocks. */
interface Methods {
  readonly scoped: (name: string, self: () => Effect.Effect<void, unknown, any>) => void
}

const Note = Task.make("note", { args: Schema.Struct({ text: Schema.String }) })

export const enqueueSuite = <R>(it: Methods, fresh: Effect.Effect<Store, never, Scope.Scope | R>) => {
  /** Runs `body` against a fresh store. */
  const scoped = (name: string, body: (store: Store) => Effect.Effect<void, unknown, SqlClient.SqlClient>) =>
    it.scoped(name, () => Effect.flatMap(fresh, (store) => Effect.provide(body(store), store.context)))

  scoped("runMany stores every task in input order, with its encoded arguments, and returns their ids in that order", (store) =>
    Effect.gen(function*() {
      const ids = yield* Tasks.runMany(Note, [{ text: "a" }, { text: "b" }, { text: "c" }])
      const one = yield* Tasks.run(Note, { text: "d" })
      const stored = yield* store.stored
      expect(stored.map((task) => task.id)).toEqual([...ids, one])
      expect(stored.map((task) => [task.key, task.status, task.args])).toEqual([
        ["note", "initialized", { text: "a" }],
        ["note", "initialized", { text: "b" }],
        ["note", "initialized", { text: "c" }],
        ["note", "initialized", { text: "d" }]
      ])
    }))

  scoped("a unique key an unfinished task holds gives that task's id and stores nothing more", (store) =>
    Effect.gen(function*() {
      const first = yield* Tasks.run(Note, { text: "first" }, { uniqueKey: "k" })
      expect(yield* Tasks.run(Note, { text: "second" }, { uniqueKey: "k" })).toBe(first)
      const other = yield* Tasks.run(Note, { text: "other" }, { uniqueKey: "other-k" })
      expect(other).not.toBe(first)
      expect((yield* store.stored).map((task) => [task.uniqueKey, task.args])).toEqual([
        ["k", { text: "first" }],
        ["other-k", { text: "other" }]
      ])
    }))

  scoped("a task exists only if the caller's transaction commits; a rolled-back savepoint drops only its own", (store) =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql.withTransaction(Effect.zipRight(Tasks.run(Note, { text: "rolled back" }), Effect.fail("no"))).pipe(
        Effect.ignore
      )
      yield* sql.withTransaction(Effect.gen(function*() {
        yield* Tasks.run(Note, { text: "kept" })
        yield* sql.withTransaction(Effect.zipRight(Tasks.run(Note, { text: "savepoint" }), Effect.fail("no"))).pipe(
          Effect.ignore
        )
      }))
      expect((yield* store.stored).map((task) => task.args)).toEqual([{ text: "kept" }])
    }))

  scoped("a task enqueued paused is stored paused", (store) =>
    Effect.gen(function*() {
      yield* Tasks.run(Note, { text: "later" }, { paused: true })
      expect((yield* store.stored).map((task) => task.status)).toEqual(["paused"])
    }))
}
