/**
 * The main story, end to end, on a real PostgreSQL (embedded unless DATABASE_URL is set):
 *
 * - an order and its receipt task are committed together; another order's transaction rolls back,
 *   and its task never exists;
 * - a payment task fails twice and succeeds on its third attempt, waiting its retry Schedule;
 * - a report task runs past its timeout and is interrupted;
 * - a readable timeline, the final status table, and a graceful stop.
 *
 * Run it with `npm run demo`.
 */
import { SqlClient } from "@effect/sql"
import { NodeRuntime } from "@effect/platform-node"
import { Clock, Console, Effect, Layer, Option, Schedule, Schema } from "effect"
import { EmbeddedPostgres, Task, TaskManager, Tasks, TaskStatus, TaskStore } from "../src/index.js"

// --- Definitions: plain values, importable by producers and workers alike -----------------------

const SendReceipt = Task.make("send-receipt", {
  args: Schema.Struct({ orderId: Schema.Number, email: Schema.String })
})

const ChargeCard = Task.make("charge-card", {
  args: Schema.Struct({ orderId: Schema.Number, cents: Schema.Int }),
  retry: { times: 4, schedule: Schedule.exponential("200 millis") }
})

const BuildReport = Task.make("build-report", {
  args: Schema.Struct({ month: Schema.String }),
  timeout: "500 millis"
})

// --- A timeline printed as things happen ---------------------------------------------------------

const say = (line: string) =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => Console.log(`[${new Date(now).toISOString().slice(11, 23)}] ${line}`))

const attemptLabel = Effect.map(Task.CurrentTask, Option.match({
  onNone: () => "",
  onSome: (task) => `task ${task.id}, attempt ${task.attempt}/${task.maxAttempts}`
}))

// --- Handlers: Layers that register into the worker ----------------------------------------------

const HandlersLive = Layer.mergeAll(
  SendReceipt.handler(({ email, orderId }) =>
    Effect.gen(function*() {
      yield* say(`send-receipt  ${yield* attemptLabel}: mailing receipt for order ${orderId} to ${email}`)
    })
  ),
  ChargeCard.handler(({ cents, orderId }) =>
    Effect.gen(function*() {
      const current = yield* Task.CurrentTask
      const attempt = Option.map(current, (task) => task.attempt).pipe(Option.getOrElse(() => 1))
      yield* say(`charge-card   ${yield* attemptLabel}: charging ${cents} cents for order ${orderId}`)
      if (attempt < 3) {
        yield* say(`charge-card   payment provider busy (attempt ${attempt}): will retry`)
        return yield* Effect.fail(new Error("payment provider busy"))
      }
      yield* say(`charge-card   charged`)
    })
  ),
  BuildReport.handler(({ month }) =>
    Effect.gen(function*() {
      yield* say(`build-report  ${yield* attemptLabel}: building ${month} (this takes too long)`)
      yield* Effect.sleep("10 seconds")
    }).pipe(Effect.onInterrupt(() => say("build-report  interrupted by its 500 ms timeout; finalizer ran")))
  )
)

// --- The application's own transaction ----------------------------------------------------------

class OutOfStock extends Schema.TaggedError<OutOfStock>()("OutOfStock", { orderId: Schema.Number }) {}

const placeOrder = (orderId: number, email: string, inStock: boolean) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.withTransaction(Effect.gen(function*() {
      yield* sql`INSERT INTO orders ${sql.insert({ id: orderId, email })}`
      const receipt = yield* Tasks.run(SendReceipt, { orderId, email })
      const charge = yield* Tasks.run(ChargeCard, { orderId, cents: 4200 })
      yield* say(`order ${orderId}: inserted with tasks ${receipt} and ${charge}, inside the transaction`)
      if (!inStock) return yield* new OutOfStock({ orderId })
    }))
    yield* say(`order ${orderId}: committed`)
  }).pipe(
    Effect.catchTag("OutOfStock", () => say(`order ${orderId}: out of stock, transaction rolled back (its tasks with it)`))
  )

const statusTable = (rows: ReadonlyArray<TaskStore.TaskRow>) =>
  [
    "  id  key            status       attempts  last error",
    ...rows.map((row) =>
      `  ${row.id.padEnd(3)} ${row.key.padEnd(14)} ${row.status.padEnd(12)} ${`${row.attempt}/${row.maxAttempts}`.padEnd(9)} ${
        (row.lastError ?? "").split("\n")[0]
      }`
    )
  ].join("\n")

const main = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const store = yield* TaskStore.make()
  yield* sql`CREATE TABLE IF NOT EXISTS orders (id int PRIMARY KEY, email text NOT NULL)`
  yield* sql`TRUNCATE orders`
  yield* say("worker started; enqueueing")

  yield* placeOrder(1, "ada@example.com", true)
  yield* placeOrder(2, "bob@example.com", false)
  yield* Tasks.run(BuildReport, { month: "2026-11" })

  const rows = yield* store.listRecent(20).pipe(
    Effect.filterOrFail((rows) => rows.length > 0 && rows.every((row) => TaskStatus.isTerminal(row.status))),
    Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo("30 seconds")))
  )
  const orders = yield* sql<{ id: number }>`SELECT id FROM orders ORDER BY id`
  yield* Console.log(`\norders in the table: ${orders.map((order) => order.id).join(", ")} (order 2 rolled back)`)
  yield* Console.log(`final status of every task (${rows.length} rows; none for order 2):\n${statusTable([...rows].reverse())}\n`)
})

const WorkerLive = HandlersLive.pipe(
  Layer.provideMerge(TaskManager.layer({ poolSize: 4, scanInterval: "2 seconds", stopTimeout: "5 seconds" }))
)

const DatabaseLive = EmbeddedPostgres.layerConfig().pipe(
  Layer.tap(() => Console.log("database ready (embedded PostgreSQL unless DATABASE_URL is set)"))
)

main.pipe(
  Effect.provide(WorkerLive),
  Effect.provide(DatabaseLive),
  Effect.zipRight(say("stopped gracefully: nothing left running; the embedded database is removed")),
  NodeRuntime.runMain
)
