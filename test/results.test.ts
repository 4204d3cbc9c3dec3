import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Option, Schema } from "effect"
import { Task, TaskAdmin, Tasks, TaskStatus, TaskStore } from "../src/index.js"
import { inSchema, PgTest } from "./support/database.js"
import { migratedSchema, startWorker, waitForStatus } from "./support/worker.js"

const Price = Task.make("results-price", {
  args: Schema.Struct({ item: Schema.String, cents: Schema.Number }),
  success: Schema.Struct({ item: Schema.String, withTax: Schema.Number })
})
const Total = Task.make("results-total", {
  args: Schema.Struct({ prices: Schema.Array(Schema.String) }),
  success: Schema.Number
})
const Order = Task.make("results-order", { args: Schema.Struct({ items: Schema.Array(Schema.String) }) })

const PriceLive = Price.handler(({ cents, item }) => Effect.succeed({ item, withTax: Math.round(cents * 1.2) }))
// The last child reads its siblings' results: fan-in.
const TotalLive = Total.handler(({ prices }) =>
  Effect.map(
    TaskAdmin.results(Price, prices).pipe(Effect.orDie),
    (found) => found.reduce((sum, { result }) => sum + Option.match(result, { onNone: () => 0, onSome: (price) => price.withTax }), 0)
  )
)
const OrderLive = Order.handler(({ items }) =>
  Effect.gen(function*() {
    const prices = yield* Tasks.runMany(Price, items.map((item, i) => ({ item, cents: 100 * (i + 1) })))
    yield* Tasks.run(Total, { prices })
  }))

layer(PgTest, { excludeTestServices: true })("results", (it) => {
  it.scoped("a handler's value is stored with its success Schema; the last child reads its siblings' results", () =>
    Effect.gen(function*() {
      const { schema } = yield* migratedSchema
      yield* startWorker(Layer.mergeAll(PriceLive, TotalLive, OrderLive), { schema })
      const order = yield* Tasks.run(Order, { items: ["a", "b", "c"] }).pipe(inSchema(schema))
      yield* waitForStatus(schema, [order], [TaskStatus.succeeded])
      const admin = Effect.provide(TaskStore.layer({ schema }))
      const { tasks } = yield* TaskAdmin.list({ parentId: order }, { order: "oldest" }).pipe(admin)
      yield* waitForStatus(schema, tasks.map((task) => task.id), [TaskStatus.succeeded])
      const total = tasks[3]!
      expect(yield* TaskAdmin.results(Total, [total.id]).pipe(admin)).toEqual([
        { id: total.id, status: TaskStatus.succeeded, result: Option.some(120 + 240 + 360) }
      ])
      const prices = yield* TaskAdmin.results(Price, tasks.map((task) => task.id)).pipe(admin)
      expect(prices.map((price) => price.result)).toEqual([
        Option.some({ item: "a", withTax: 120 }),
        Option.some({ item: "b", withTax: 240 }),
        Option.some({ item: "c", withTax: 360 })
      ])
      const [row] = yield* TaskAdmin.getMany([total.id]).pipe(admin)
      expect(row?.result).toBe(720)
    }))
})
