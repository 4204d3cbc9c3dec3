/**
 * The producer API: enqueue tasks. It needs only the `SqlClient` and never opens a transaction of
 * its own: inside the caller's `sql.withTransaction` the task row is written on the caller's
 * connection, so the task exists if and only if that transaction commits (and workers are woken
 * only then). Outside a transaction each call is its own statement.
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import { type Duration, Effect, Metric, Option } from "effect"
import { CurrentAttempt } from "./internal/currentAttempt.js"
import { encodeAll } from "./internal/producer/encode.js"
import { newTasks, noLineage, placement } from "./internal/producer/placement.js"
import { CurrentEnqueuer } from "./internal/producer/enqueuer.js"
import { forTask } from "./internal/observability/metrics.js"
import { isTracing, messaging, traceparentOf } from "./internal/observability/trace.js"
import * as Task from "./Task.js"
import { InvalidTaskArgs, InvalidTaskOptions, type QueueFull, type SchemaNotMigrated, TaskNotFound, type TaskStoreError } from "./TaskError.js"
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

/**
 * Per-enqueue options. Each overrides or adds to the task definition's policy for this task only.
 * @since 0.1.0
 * @category models
 */
export interface RunOptions {
  /** The queue, instead of the definition's. */
  readonly queue?: string | undefined
  /** The priority (an integer, higher first), instead of the definition's. */
  readonly priority?: number | undefined
  /** Not run before this time (compared with the database clock; 4713 BC or later). */
  readonly runAt?: Date | undefined
  /** Not run before this long after the enqueue (the database's `now()` + delay; not negative). Ignored with `runAt`. */
  readonly delay?: Duration.DurationInput | undefined
  /**
   * Deduplication: at most one unfinished task (status `initialized`, `paused` or `running`) holds a unique
   * key. Enqueuing a key an unfinished task holds writes nothing and returns that task's id; once
   * the task has ended (`succeeded` or `failed`), the key is free again.
   */
  readonly uniqueKey?: string | undefined
  /** The user or tenant the task is for: runnable work is shared fairly between owners (and queues). */
  readonly owner?: string | undefined
  /**
   * Create the task `paused`: it is stored, holds its unique key and
   * counts towards its queue's size, but no worker claims it until `TaskAdmin.resume` starts it.
   * Default: false.
   */
  readonly paused?: boolean | undefined
  /**
   * Inside a running handler, enqueue an independent task instead of a child of that attempt: it
   * is neither held until the attempt succeeds nor ordered after its siblings, it is not deleted
   * if the attempt fails, and it may carry a `uniqueKey`. It is written like any enqueue: in the
   * handler's transaction for a transactional handler, at once otherwise. Outside a handler every
   * task is independent. Default: false.
   */
  readonly independent?: boolean | undefined
}

/** The definition's propagated context, read from the enqueuing fiber and encoded (null: none declared). */
const propagatedContext = (task: Task.Any): Effect.Effect<string | null, InvalidTaskArgs> =>
  Option.match(task.context, {
    onNone: () => Effect.succeed(null),
    onSome: ({ reference, schema }) =>
      Effect.flatMap(reference, (value) =>
        encodeAll({ key: task.key, schema }, [value]).pipe(
          Effect.mapBoth({
            onFailure: (error) => new InvalidTaskArgs({ key: task.key, issue: `its propagated context: ${error.issue}` }),
            onSuccess: ([json]) => json!
          })
        ))
  })

/**
 * Inside a handler, new tasks are children of the running attempt unless `independent`: held back
 * until that attempt succeeds (and deleted if it does not), and run one after another in the order
 * submitted. One `send <queue>` span per call (a batch carries its count), whose traceparent each
 * task stores: every attempt's span is connected to it.
 */
const enqueue = (taskOrKey: Task.Any | string, args: Iterable<unknown>, options: RunOptions, isBatch: boolean) =>
  Effect.gen(function*() {
    const task = yield* resolve(taskOrKey)
    const place = placement(task, options)
    if (place instanceof InvalidTaskOptions) return yield* place
    const attempt = options.independent === true ? Option.none() : yield* CurrentAttempt
    if (Option.isSome(attempt) && options.uniqueKey !== undefined) {
      return yield* new InvalidTaskOptions({
        option: "uniqueKey",
        reason: "child tasks cannot be deduplicated (enqueue it with independent: true)"
      })
    }
    const lineage = Option.match(attempt, {
      onNone: () => noLineage,
      onSome: (parent) => ({ parentId: parent.id, rootId: parent.rootId, heldBy: parent.claimToken })
    })
    const texts = yield* encodeAll({ key: task.key, schema: task.args }, args)
    const context = yield* propagatedContext(task)
    const enqueuer = yield* CurrentEnqueuer
    const write = (traceparent: string | null) =>
      enqueuer.insert(task, newTasks(task, place, lineage, texts, { traceparent, context }), attempt)
    // Checked and encoded: the span covers the write alone (each step in a span costs the tracer's
    // context switch), and its traceparent goes with the tasks. Without a tracer of the
    // application's, no span and no traceparent (see `isTracing`).
    const ids = !(yield* isTracing) ? yield* write(null) : yield* Effect.useSpan(`send ${place.queue}`, {
      kind: "producer",
      // No stack trace: it costs more than the rest of the span on this path.
      captureStackTrace: false,
      attributes: {
        ...messaging("send", place.queue),
        "effect_tasks.task.key": task.key,
        ...(isBatch ? { "messaging.batch.message_count": texts.length } : {})
      }
    }, (span) =>
      Effect.withParentSpan(write(traceparentOf(span)), span).pipe(
        Effect.tap((ids) => isBatch ? Effect.void : Effect.sync(() => span.attribute("messaging.message.id", ids[0])))
      ))
    yield* Metric.incrementBy(forTask(task.key, place.queue).enqueued, ids.length)
    return ids
  })

/**
 * Enqueues one task and returns its id. The arguments are validated and encoded with the task's
 * Schema first (`InvalidTaskArgs` on bad input, nothing written); `options` may delay it, override
 * its queue or priority, or deduplicate it by a unique key (`InvalidTaskOptions` on a bad option). A string key is looked up in
 * the `TaskRegistry` in context (`TaskNotFound` when there is none or it lacks the key). Before
 * anything has migrated the schema (a worker at start, or a deploy step), it fails with `SchemaNotMigrated`.
 * Inside a running handler the task is a child of that attempt (see the README's "Child tasks"),
 * unless `independent: true`.
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
  task: Task.Task<A, I, any, any, any>,
  args: NoInfer<A>,
  options?: RunOptions
): Effect.Effect<
  string,
  InvalidTaskArgs | InvalidTaskOptions | QueueFull | SchemaNotMigrated | TaskStoreError,
  SqlClient.SqlClient
>
export function run(
  key: string,
  args: unknown,
  options?: RunOptions
): Effect.Effect<
  string,
  InvalidTaskArgs | InvalidTaskOptions | QueueFull | SchemaNotMigrated | TaskNotFound | TaskStoreError,
  SqlClient.SqlClient
>
export function run(
  taskOrKey: Task.Any | string,
  args: unknown,
  options: RunOptions = {}
): Effect.Effect<
  string,
  InvalidTaskArgs | InvalidTaskOptions | QueueFull | SchemaNotMigrated | TaskNotFound | TaskStoreError,
  SqlClient.SqlClient
> {
  return Effect.map(enqueue(taskOrKey, [args], options, false), (ids) => ids[0]!)
}

/**
 * Enqueues many tasks of one definition in a single statement and returns their ids in order.
 * All arguments are validated first: one bad argument fails the whole call and writes nothing.
 * @since 0.1.0
 * @category constructors
 */
export function runMany<A, I>(
  task: Task.Task<A, I, any, any, any>,
  args: Iterable<NoInfer<A>>,
  options?: Omit<RunOptions, "uniqueKey">
): Effect.Effect<
  ReadonlyArray<string>,
  InvalidTaskArgs | InvalidTaskOptions | QueueFull | SchemaNotMigrated | TaskStoreError,
  SqlClient.SqlClient
>
export function runMany(
  key: string,
  args: Iterable<unknown>,
  options?: Omit<RunOptions, "uniqueKey">
): Effect.Effect<
  ReadonlyArray<string>,
  InvalidTaskArgs | InvalidTaskOptions | QueueFull | SchemaNotMigrated | TaskNotFound | TaskStoreError,
  SqlClient.SqlClient
>
export function runMany(
  taskOrKey: Task.Any | string,
  args: Iterable<unknown>,
  options: Omit<RunOptions, "uniqueKey"> = {}
): Effect.Effect<
  ReadonlyArray<string>,
  InvalidTaskArgs | InvalidTaskOptions | QueueFull | SchemaNotMigrated | TaskNotFound | TaskStoreError,
  SqlClient.SqlClient
> {
  return enqueue(taskOrKey, args, { ...options, uniqueKey: undefined }, true)
}
