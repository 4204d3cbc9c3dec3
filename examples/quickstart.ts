/**
 * The README's quick start as one program: a task, an order and its receipt task committed in one
 * transaction, and a worker in the same process that sends the receipt. It runs until SIGINT
 * (Ctrl-C) or SIGTERM, then stops gracefully and exits 0.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node --import tsx examples/quickstart.ts
 *
 * In this repository, tsconfig.json maps "effect-tasks" to src/, so it imports exactly as a user's program does.
 *
 * The README shows each region below verbatim, and test/examples.test.ts checks that it still does.
 */

// #region define
import { Schedule, Schema } from "effect"
import { Task } from "effect-tasks"

export const SendReceipt = Task.make("send-receipt", {
  args: Schema.Struct({ orderId: Schema.Number }),
  retry: { times: 5, schedule: Schedule.exponential("1 second") }, // 1 s, 2 s, 4 s, 8 s, 16 s
  timeout: "30 seconds"                                             // per attempt; interrupts the handler
})
// #endregion

// #region enqueue
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { Tasks } from "effect-tasks"

export const createOrdersTable = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql`CREATE TABLE IF NOT EXISTS orders (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL
  )`)

export const placeOrder = (email: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    return yield* sql.withTransaction(Effect.gen(function*() {
      const rows = yield* sql<{ id: number }>`INSERT INTO orders ${sql.insert({ email })} RETURNING id`
      const orderId = rows[0]!.id
      const taskId = yield* Tasks.run(SendReceipt, { orderId }) // committed with the order, or rolled back with it
      return { orderId, taskId }
    }))
  })
// #endregion

// #region worker
import { Context, Layer } from "effect"
import { TaskManager } from "effect-tasks"

export class Mailer extends Context.Tag("Mailer")<Mailer, {
  readonly sendReceipt: (orderId: number) => Effect.Effect<void>
}>() {}

export const MailerLive = Layer.succeed(Mailer, {
  sendReceipt: (orderId) => Effect.log(`receipt sent for order ${orderId}`) // a real one would send an e-mail
})

const SendReceiptLive = SendReceipt.handler(({ orderId }) =>
  Effect.gen(function*() {
    const mailer = yield* Mailer // the handler's requirements show in SendReceiptLive's type
    yield* mailer.sendReceipt(orderId)
  })
)

export const WorkerLive = SendReceiptLive.pipe(
  Layer.provideMerge(TaskManager.layer()), // default options; or TaskManagerLive, configured from the environment
  Layer.provide(MailerLive)                // below the manager, so the Mailer outlives the graceful stop
)
// #endregion

// #region main
import { NodeRuntime } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import { Config } from "effect"

const DatabaseLive = PgClient.layerConfig({
  url: Config.redacted("DATABASE_URL"),
  maxConnections: Config.succeed(15) // shared by the handlers (poolSize, default 10) and the application
})

// provideMerge, not provide: the application keeps the SqlClient, so it can enqueue as well as work.
const AppLive = WorkerLive.pipe(Layer.provideMerge(DatabaseLive))

const main = Effect.gen(function*() {
  yield* createOrdersTable
  const { orderId, taskId } = yield* placeOrder("ada@example.com")
  yield* Effect.log(`order ${orderId} placed with task ${taskId}; Ctrl-C stops the worker gracefully`)
  return yield* Effect.never
})

main.pipe(Effect.provide(AppLive), NodeRuntime.runMain) // SIGINT/SIGTERM → graceful stop, exit code 0
// #endregion
