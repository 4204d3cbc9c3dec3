import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Exit, Layer, Schema } from "effect"
import { Task, TaskManager, TaskRegistry, Tasks, TaskStore } from "../../src/index.js"
import { PgTest } from "../support/database.js"
import { migratedSchema } from "../support/worker.js"

const Ping = Task.make("seam-ping", { args: Schema.Struct({ n: Schema.Number }) })

layer(PgTest, { excludeTestServices: true })("the TaskStore in context is the one seam", (it) => {
  it.scoped("Tasks.run writes through the TaskStore in context, in its schema, with no DatabaseSchema set", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const { schema } = yield* migratedSchema
      const id = yield* Tasks.run(Ping, { n: 1 }).pipe(Effect.provide(TaskStore.layer({ schema })))
      const rows = yield* sql<{ id: string; key: string }>`SELECT id::text AS id, key FROM ${sql(`${schema}.tasks`)}`
      expect(rows).toEqual([{ id, key: "seam-ping" }])
    }))

  it.scoped("a TaskStore made by hand cannot stand in for the store's protocol: Tasks.run dies saying so", () =>
    Effect.gen(function*() {
      const { store } = yield* migratedSchema
      const stub: TaskStore.TaskStore["Type"] = { ...store, schema: store.schema }
      delete (stub as Record<PropertyKey, unknown>)[Object.getOwnPropertySymbols(store)[0]!]
      const exit = yield* Tasks.run(Ping, { n: 1 }).pipe(Effect.provideService(TaskStore.TaskStore, stub), Effect.exit)
      expect(Exit.isFailure(exit) && String(exit.cause)).toContain("not made by TaskStore.make or TaskStore.layer")
    }))

  it.scoped("a worker refuses a TaskStore in context for another schema than its own, with a typed error", () =>
    Effect.gen(function*() {
      const { schema } = yield* migratedSchema
      const error = yield* TaskManager.make({ schema: "another_schema" }).pipe(
        Effect.provide(Layer.merge(TaskStore.layer({ schema }), Layer.effect(TaskRegistry.TaskRegistry, TaskRegistry.make))),
        Effect.flip
      )
      expect(error._tag).toBe("InvalidTaskOptions")
      expect(error).toMatchObject({ option: "schema" })
    }))
})
