/**
 * A test kit for applications: unit-test code that enqueues tasks, and the tasks' handlers, without
 * PostgreSQL. Under `TaskTest.layer`, `Tasks.run` keeps tasks in memory (inside a
 * `sql.withTransaction` they exist only if it commits, as in the database), and `TaskTest.drain`
 * runs them through their real handlers, attempt after attempt, with the task's retries, timeout,
 * snoozes, delays and children, on the `TestClock` of `@effect/vitest`'s `it.effect`: it moves the
 * clock itself, so a retry an hour away runs at once and deterministically.
 *
 * @example
 * ```ts
 * import { expect, it } from "@effect/vitest"
 * import { Effect, Layer, Schema } from "effect"
 * import { Task, Tasks, TaskTest } from "effect-tasks"
 *
 * const SendReceipt = Task.make("send-receipt", { args: Schema.Struct({ orderId: Schema.Number }) })
 * const SendReceiptLive = SendReceipt.handler(({ orderId }) => Effect.log(`receipt ${orderId}`))
 *
 * it.effect("placing an order sends its receipt", () =>
 *   Effect.gen(function*() {
 *     yield* Tasks.run(SendReceipt, { orderId: 1 })
 *     yield* TaskTest.drain
 *     const [receipt] = yield* TaskTest.enqueued(SendReceipt)
 *     expect(receipt?.status).toBe("succeeded")
 *   }).pipe(Effect.provide(Layer.provideMerge(SendReceiptLive, TaskTest.layer))))
 * ```
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer, Schema } from "effect"
import { drain as drainMemory } from "./internal/testkit/drain.js"
import { CurrentEnqueuer, inMemory } from "./internal/producer/enqueuer.js"
import { Memory, type MemoryRow } from "./internal/testkit/memory.js"
import { makeStubClient } from "./internal/testkit/stubClient.js"
import type * as Task from "./Task.js"
import * as TaskRegistry from "./TaskRegistry.js"
import type * as TaskStatus from "./TaskStatus.js"

/**
 * A task as the test kit holds it.
 * @since 0.1.0
 * @category models
 */
export interface Recorded<A = unknown> {
  readonly id: string
  readonly key: string
  /** Decoded with the task's Schema by `enqueued`; the stored (encoded) JSON value by `tasks`. */
  readonly args: A
  readonly status: TaskStatus.TaskStatus
  /** Attempts made so far (0 before the first; a snoozed attempt does not count). */
  readonly attempt: number
  readonly maxAttempts: number
  readonly queue: string
  readonly priority: number
  readonly owner: string | null
  readonly uniqueKey: string | null
  /** For a child: the task whose attempt enqueued it. */
  readonly parentId: string | null
  /** When it is due next (on the TestClock). */
  readonly runAt: Date
  readonly finishedAt: Date | null
  readonly lastError: string | null
  /** Every failed attempt's error, oldest first. */
  readonly errors: ReadonlyArray<string>
  /** The last checkpoint its handler stored (encoded, as stored), null when none. */
  readonly checkpoint: unknown
  /** The last progress its handler reported, null when none. */
  readonly progress: { readonly phase: string; readonly fraction: number } | null
  /** What its handler returned, encoded with the definition's `success` Schema (null without one). */
  readonly result: unknown
}

/**
 * The test kit in context (provided by `layer`).
 * @since 0.1.0
 * @category services
 */
export class TaskTest extends Context.Tag("effect-tasks/TaskTest")<TaskTest, {
  readonly drain: Effect.Effect<ReadonlyArray<Recorded>>
  readonly tasks: Effect.Effect<ReadonlyArray<Recorded>>
}>() {}

/** At most this many attempts per drain: a task that enqueues itself forever fails the test instead of hanging it. */
const drainLimit = 10_000

const recorded = <A>(row: MemoryRow, args: A): Recorded<A> => ({
  id: row.id,
  key: row.task.key,
  args,
  status: row.status,
  attempt: row.attempt,
  maxAttempts: row.maxAttempts,
  queue: row.queue,
  priority: row.priority,
  owner: row.owner,
  uniqueKey: row.uniqueKey,
  parentId: row.parentId,
  runAt: new Date(row.runAt),
  finishedAt: row.finishedAt === null ? null : new Date(row.finishedAt),
  lastError: row.lastError,
  errors: [...row.errors],
  checkpoint: row.checkpoint === null ? null : JSON.parse(row.checkpoint),
  progress: row.progress === null ? null : JSON.parse(row.progress),
  result: row.result === null ? null : JSON.parse(row.result)
})

const rowsInOrder = (memory: Memory) => [...memory.rows.values()].sort((a, b) => Number(a.id) - Number(b.id))

/**
 * The test kit: provides a `TaskRegistry` (attach handlers with `task.handler(...)` on top of it,
 * as on `TaskManager.layer`), a `SqlClient` whose `withTransaction` works and whose queries fail
 * (there is no database), and `TaskTest`. No worker runs: tasks run only in `drain`.
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<TaskTest | TaskRegistry.TaskRegistry | SqlClient.SqlClient> = Layer.effectContext(
  Effect.gen(function*() {
    const memory = new Memory()
    const registry = yield* TaskRegistry.make
    const sql = yield* makeStubClient(memory)
    const services = Context.make(TaskRegistry.TaskRegistry, registry).pipe(
      Context.add(CurrentEnqueuer, inMemory(memory)),
      Context.add(SqlClient.SqlClient, sql)
    )
    const tasks = Effect.sync(() => rowsInOrder(memory).map((row) => recorded(row, JSON.parse(row.args) as unknown)))
    return Context.add(services, TaskTest, {
      drain: Effect.zipRight(Effect.provide(drainMemory(memory, drainLimit), services), tasks),
      tasks
    })
  })
)

/**
 * Runs every task in memory through its handler until none that has a handler is left waiting:
 * one attempt at a time, in priority, due time and id order, moving the `TestClock` forward to
 * each next due time (retries, delays, snoozes) and through the handlers' own sleeps and
 * timeouts. Tasks whose key has no handler are left waiting. Returns every task.
 * @since 0.1.0
 * @category combinators
 */
export const drain: Effect.Effect<ReadonlyArray<Recorded>, never, TaskTest> = Effect.flatMap(TaskTest, (kit) => kit.drain)

/**
 * Every task in memory, in id order, with its stored (encoded) arguments.
 * @since 0.1.0
 * @category getters
 */
export const tasks: Effect.Effect<ReadonlyArray<Recorded>, never, TaskTest> = Effect.flatMap(TaskTest, (kit) => kit.tasks)

/**
 * The tasks of one definition in memory, in id order, their arguments decoded with its Schema.
 * @since 0.1.0
 * @category getters
 */
export const enqueued = <A, I>(task: Task.Task<A, I, any, any, any>): Effect.Effect<ReadonlyArray<Recorded<A>>, never, TaskTest> =>
  Effect.flatMap(tasks, (all) =>
    Effect.forEach(
      all.filter((row) => row.key === task.key),
      (row) => Effect.map(Effect.orDie(Schema.decodeUnknown(task.args)(row.args)), (args) => ({ ...row, args }))
    ))
