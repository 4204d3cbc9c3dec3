import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Task, TaskAdmin, TaskRegistry, Tasks, TaskStore } from "../src/index.js"
import { inSchema, PgTest } from "./support/database.js"
import { migratedSchema } from "./support/worker.js"

// What is deployed now, and what is about to be.
const ShipBefore = Task.make("verify-ship", { args: Schema.Struct({ orderId: Schema.Number }) })
const ShipAfter = Task.make("verify-ship", { args: Schema.Struct({ orderId: Schema.String }) })
const ImportBefore = Task.make("verify-import", { args: Schema.Struct({}), checkpoint: Schema.Struct({ line: Schema.Number }) })
const ImportAfter = Task.make("verify-import", { args: Schema.Struct({}), checkpoint: Schema.Struct({ offset: Schema.Number }) })
const Retired = Task.make("verify-retired", { args: Schema.Struct({}) })

layer(PgTest, { excludeTestServices: true })("TaskAdmin.verify", (it) => {
  it.scoped("reports the unfinished tasks the next definitions cannot decode, by key with examples, and keys they do not define", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const { schema } = yield* migratedSchema
      const enqueue = inSchema(schema)
      const ships = yield* Tasks.runMany(ShipBefore, [1, 2, 3, 4].map((orderId) => ({ orderId }))).pipe(enqueue)
      const imported = yield* Tasks.run(ImportBefore, {}).pipe(enqueue)
      yield* Tasks.runMany(Retired, [{}, {}]).pipe(enqueue)
      const tasks = sql(`${schema}.tasks`)
      yield* sql`UPDATE ${tasks} SET checkpoint = '{"line": 10}'::jsonb WHERE id = ${imported}::bigint`
      // A finished task is not checked: it will not run again.
      yield* sql`UPDATE ${tasks} SET status = 'succeeded', finished_at = now() WHERE id = ${ships[0]!}::bigint`
      const admin = Effect.provide(TaskStore.layer({ schema }))
      const report = yield* TaskAdmin.verify([ShipAfter, ImportAfter]).pipe(admin)
      expect(report.checked).toBe(6)
      expect(report.unknownKeys).toEqual([{ key: "verify-retired", count: 2 }])
      expect(report.undecodable.map(({ count, examples, key }) => ({ key, count, ids: examples.map((example) => example.id) })))
        .toEqual([
          { key: "verify-import", count: 1, ids: [imported] },
          { key: "verify-ship", count: 3, ids: ships.slice(1) }
        ])
      expect(report.undecodable[0]?.examples[0]?.issue).toContain("checkpoint")
      expect(report.undecodable[1]?.examples[0]?.issue).toContain("arguments")
      // The definitions deployed now decode everything; a registry serves as well as a list.
      const registry = yield* TaskRegistry.make
      for (const task of [ShipBefore, ImportBefore, Retired]) yield* registry.define(task)
      expect(yield* TaskAdmin.verify(registry).pipe(admin)).toEqual({ checked: 6, undecodable: [], unknownKeys: [] })
    }))
})
