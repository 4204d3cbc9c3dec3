/**
 * The producer API: enqueue tasks. It needs only the `SqlClient` and never opens a transaction of
 * its own: inside the caller's `sql.withTransaction` the task row is written on the caller's
 * connection, so the task exists if and only if that transaction commits (and workers are woken
 * only then). Outside a transaction each call is its own statement.
 *
 * @since 0.1.0
 */
import type { SqlClient } from "@effect/sql"
import { Effect, Option, ParseResult, Schema } from "effect"
import * as insertOps from "./internal/store/insert.js"
import { currentTables } from "./internal/store/tables.js"
import * as Task from "./Task.js"
import { InvalidTaskArgs, TaskNotFound, TaskStoreError } from "./TaskError.js"
import { TaskRegistry } from "./TaskRegistry.js"

const resolve = (taskOrKey: Task.Any | string): Effect.Effect<Task.Any, TaskNotFound> =>
  Task.isTask(taskOrKey)
    ? Effect.succeed(taskOrKey)
    : Effect.serviceOption(TaskRegistry).pipe(
      Effect.flatMap(Option.match({
        onNone: () => Effect.succeedNone,
        onSome: (registry) => Effect.map(registry.get(taskOrKey), Option.map((entry) => entry.task))
      })),
      Effect.flatMap(Option.match({
        onNone: () => Effect.fail(new TaskNotFound({ key: String(taskOrKey) })),
        onSome: Effect.succeed
      }))
    )

class NulCharacter {}

/** jsonb cannot store the NUL character: it is refused here, typed, rather than as a failed insert. */
const refuseNul = (_key: string, value: unknown) => {
  if (typeof value === "string" && value.includes("\u0000")) throw new NulCharacter()
  return value
}

const toJson = (task: Task.Any, encoded: unknown): Effect.Effect<string, InvalidTaskArgs> =>
  Effect.try({
    try: () => JSON.stringify(encoded, refuseNul) ?? "null",
    catch: (cause) =>
      new InvalidTaskArgs({
        key: task.key,
        issue: cause instanceof NulCharacter
          ? "a string contains the NUL character (\\u0000), which PostgreSQL cannot store"
          : `the encoded arguments are not JSON-serialisable: ${cause instanceof Error ? cause.message : String(cause)}`
      })
  })

const encodeArgs = (task: Task.Any, args: unknown): Effect.Effect<insertOps.NewTask, InvalidTaskArgs> =>
  Schema.encodeUnknown(task.args)(args, { errors: "all" }).pipe(
    Effect.mapError((error) =>
      new InvalidTaskArgs({ key: task.key, issue: ParseResult.TreeFormatter.formatErrorSync(error) })
    ),
    Effect.flatMap((encoded) => toJson(task, encoded)),
    Effect.map((json) => ({
      key: task.key,
      queue: task.queue,
      priority: task.priority,
      args: json,
      maxAttempts: task.maxAttempts
    }))
  )

const enqueue = (taskOrKey: Task.Any | string, args: Iterable<unknown>) =>
  resolve(taskOrKey).pipe(
    Effect.flatMap((task) =>
      Effect.forEach(args, (arg) => encodeArgs(task, arg)).pipe(
        Effect.flatMap((rows) =>
          Effect.flatMap(currentTables, (tables) => insertOps.insertMany(tables, rows)).pipe(
            TaskStoreError.refail("insert")
          )
        ),
        Effect.withSpan("Tasks.run", { kind: "producer", attributes: { "task.key": task.key } })
      )
    )
  )

/**
 * Enqueues one task and returns its id. The arguments are validated and encoded with the task's
 * Schema first (`InvalidTaskArgs` on bad input, nothing written). A string key is looked up in
 * the `TaskRegistry` in context (`TaskNotFound` when there is none or it lacks the key).
 *
 * @example
 * ```ts
 * import { SqlClient } from "@effect/sql"
 * import { Effect, Schema } from "effect"
 * import { Task, Tasks } from "effect-tasks"
 *
 * const SendReceipt = Task.make("send-receipt", { args: Schema.Struct({ orderId: Schema.Number }) })
 *
 * const placeOrder = Effect.gen(function*() {
 *   const sql = yield* SqlClient.SqlClient
 *   yield* sql.withTransaction(Effect.gen(function*() {
 *     yield* sql`INSERT INTO orders (id) VALUES (1)`
 *     yield* Tasks.run(SendReceipt, { orderId: 1 }) // exists iff this transaction commits
 *   }))
 * })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export function run<A, I>(
  task: Task.Task<A, I>,
  args: NoInfer<A>
): Effect.Effect<string, InvalidTaskArgs | TaskStoreError, SqlClient.SqlClient>
export function run(
  key: string,
  args: unknown
): Effect.Effect<string, InvalidTaskArgs | TaskNotFound | TaskStoreError, SqlClient.SqlClient>
export function run(
  taskOrKey: Task.Any | string,
  args: unknown
): Effect.Effect<string, InvalidTaskArgs | TaskNotFound | TaskStoreError, SqlClient.SqlClient> {
  return Effect.map(enqueue(taskOrKey, [args]), (ids) => ids[0]!)
}

/**
 * Enqueues many tasks of one definition in a single statement and returns their ids in order.
 * All arguments are validated first: one bad argument fails the whole call and writes nothing.
 * @since 0.1.0
 * @category constructors
 */
export function runMany<A, I>(
  task: Task.Task<A, I>,
  args: Iterable<NoInfer<A>>
): Effect.Effect<ReadonlyArray<string>, InvalidTaskArgs | TaskStoreError, SqlClient.SqlClient>
export function runMany(
  key: string,
  args: Iterable<unknown>
): Effect.Effect<ReadonlyArray<string>, InvalidTaskArgs | TaskNotFound | TaskStoreError, SqlClient.SqlClient>
export function runMany(
  taskOrKey: Task.Any | string,
  args: Iterable<unknown>
): Effect.Effect<ReadonlyArray<string>, InvalidTaskArgs | TaskNotFound | TaskStoreError, SqlClient.SqlClient> {
  return enqueue(taskOrKey, args)
}
