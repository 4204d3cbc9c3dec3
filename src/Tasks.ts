/**
 * The producer API: enqueue tasks. It needs only the `SqlClient` and never opens a transaction of
 * its own: inside the caller's `sql.withTransaction` the task row is written on the caller's
 * connection, so the task exists if and only if that transaction commits (and workers are woken
 * only then). Outside a transaction each call is its own statement.
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Option, ParseResult, Schema } from "effect"
import * as insertOps from "./internal/store/insert.js"
import { priorityProblem, queueProblem } from "./internal/policy.js"
import { currentTables } from "./internal/store/tables.js"
import { CurrentAttempt } from "./internal/worker/currentAttempt.js"
import * as Task from "./Task.js"
import { InvalidTaskArgs, InvalidTaskOptions, type QueueFull, TaskNotFound, TaskStoreError } from "./TaskError.js"
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
  /** Not run before this time (compared with the database clock). */
  readonly runAt?: Date | undefined
  /** Not run before this long after the enqueue (the database's `now()` + delay). Ignored with `runAt`. */
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
   * Create the task `paused` (the seeds' `autoRun = false`): it is stored, holds its unique key and
   * counts towards its queue's size, but no worker claims it until `TaskAdmin.resume` starts it.
   * Default: false.
   */
  readonly paused?: boolean | undefined
}

interface Placement {
  readonly queue: string
  readonly priority: number
  readonly runAt: Date | null
  readonly delayMillis: number
  readonly uniqueKey: string | null
  readonly owner: string | null
  readonly paused: boolean
}

const invalidOption = (option: string, reason: string) => Effect.fail(new InvalidTaskOptions({ option, reason }))

const placement = (task: Task.Any, options: RunOptions): Effect.Effect<Placement, InvalidTaskOptions> =>
  Effect.gen(function*() {
    const queue = options.queue ?? task.queue
    const queueIssue = queueProblem(queue)
    if (queueIssue !== undefined) return yield* invalidOption("queue", queueIssue)
    const priority = options.priority ?? task.priority
    const priorityIssue = priorityProblem(priority)
    if (priorityIssue !== undefined) return yield* invalidOption("priority", priorityIssue)
    if (options.runAt !== undefined && !(options.runAt instanceof Date && Number.isFinite(options.runAt.getTime()))) {
      return yield* invalidOption("runAt", "must be a valid Date")
    }
    const delay = options.delay === undefined ? Option.some(Duration.zero) : Duration.decodeUnknown(options.delay)
    if (Option.isNone(delay) || !Duration.isFinite(delay.value)) {
      return yield* invalidOption("delay", `must be a finite duration, got ${String(options.delay)}`)
    }
    if (options.uniqueKey !== undefined && (typeof options.uniqueKey !== "string" || options.uniqueKey.length === 0)) {
      return yield* invalidOption("uniqueKey", "must be a non-empty string")
    }
    if (options.owner !== undefined && (typeof options.owner !== "string" || options.owner.length === 0)) {
      return yield* invalidOption("owner", "must be a non-empty string")
    }
    if (options.paused !== undefined && typeof options.paused !== "boolean") {
      return yield* invalidOption("paused", "must be a boolean")
    }
    return {
      queue,
      priority,
      runAt: options.runAt ?? null,
      delayMillis: Duration.toMillis(delay.value),
      uniqueKey: options.uniqueKey ?? null,
      owner: options.owner ?? null,
      paused: options.paused ?? false
    }
  })

interface Lineage {
  readonly parentId: string | null
  readonly rootId: string | null
  readonly heldBy: string | null
}

const noLineage: Lineage = { parentId: null, rootId: null, heldBy: null }

const encodeArgs = (
  task: Task.Any,
  args: unknown,
  place: Placement,
  lineage: Lineage
): Effect.Effect<insertOps.NewTask, InvalidTaskArgs> =>
  Schema.encodeUnknown(task.args)(args, { errors: "all" }).pipe(
    Effect.mapError((error) =>
      new InvalidTaskArgs({ key: task.key, issue: ParseResult.TreeFormatter.formatErrorSync(error) })
    ),
    Effect.flatMap((encoded) => toJson(task, encoded)),
    Effect.map((json) => ({ ...place, ...lineage, key: task.key, args: json, maxAttempts: task.maxAttempts }))
  )

/**
 * Inside a handler, new tasks are children of the running attempt: held back until that attempt
 * succeeds (and deleted if it does not), and run one after another in the order submitted.
 */
const enqueue = (taskOrKey: Task.Any | string, args: Iterable<unknown>, options: RunOptions) =>
  resolve(taskOrKey).pipe(
    Effect.flatMap((task) =>
      Effect.gen(function*() {
        const attempt = yield* CurrentAttempt
        if (Option.isSome(attempt) && options.uniqueKey !== undefined) {
          return yield* new InvalidTaskOptions({ option: "uniqueKey", reason: "child tasks cannot be deduplicated" })
        }
        const place = yield* placement(task, options)
        const lineage = Option.match(attempt, {
          onNone: () => noLineage,
          onSome: (parent) => ({ parentId: parent.id, rootId: parent.rootId, heldBy: parent.claimToken })
        })
        const rows = yield* Effect.forEach(args, (arg) => encodeArgs(task, arg, place, lineage))
        const tables = yield* currentTables
        if (Option.isNone(attempt)) return yield* insertOps.insertMany(tables, rows)
        const parent = attempt.value
        const sql = yield* SqlClient.SqlClient
        // One transaction (a savepoint inside the caller's): a child is never left inserted but unchained.
        return yield* parent.submitting.withPermits(1)(sql.withTransaction(
          Effect.tap(insertOps.insertMany(tables, rows), (ids) => insertOps.chainChildren(tables, parent.claimToken, ids))
        ))
      }).pipe(
        TaskStoreError.refail("insert"),
        Effect.withSpan("Tasks.run", { kind: "producer", attributes: { "task.key": task.key } })
      )
    )
  )

/**
 * Enqueues one task and returns its id. The arguments are validated and encoded with the task's
 * Schema first (`InvalidTaskArgs` on bad input, nothing written); `options` may delay it, override
 * its queue or priority, or deduplicate it by a unique key (`InvalidTaskOptions` on a bad option). A string key is looked up in
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
  args: NoInfer<A>,
  options?: RunOptions
): Effect.Effect<string, InvalidTaskArgs | InvalidTaskOptions | QueueFull | TaskStoreError, SqlClient.SqlClient>
export function run(
  key: string,
  args: unknown,
  options?: RunOptions
): Effect.Effect<string, InvalidTaskArgs | InvalidTaskOptions | QueueFull | TaskNotFound | TaskStoreError, SqlClient.SqlClient>
export function run(
  taskOrKey: Task.Any | string,
  args: unknown,
  options: RunOptions = {}
): Effect.Effect<string, InvalidTaskArgs | InvalidTaskOptions | QueueFull | TaskNotFound | TaskStoreError, SqlClient.SqlClient> {
  return Effect.map(enqueue(taskOrKey, [args], options), (ids) => ids[0]!)
}

/**
 * Enqueues many tasks of one definition in a single statement and returns their ids in order.
 * All arguments are validated first: one bad argument fails the whole call and writes nothing.
 * @since 0.1.0
 * @category constructors
 */
export function runMany<A, I>(
  task: Task.Task<A, I>,
  args: Iterable<NoInfer<A>>,
  options?: Omit<RunOptions, "uniqueKey">
): Effect.Effect<ReadonlyArray<string>, InvalidTaskArgs | InvalidTaskOptions | QueueFull | TaskStoreError, SqlClient.SqlClient>
export function runMany(
  key: string,
  args: Iterable<unknown>,
  options?: Omit<RunOptions, "uniqueKey">
): Effect.Effect<
  ReadonlyArray<string>,
  InvalidTaskArgs | InvalidTaskOptions | QueueFull | TaskNotFound | TaskStoreError,
  SqlClient.SqlClient
>
export function runMany(
  taskOrKey: Task.Any | string,
  args: Iterable<unknown>,
  options: Omit<RunOptions, "uniqueKey"> = {}
): Effect.Effect<
  ReadonlyArray<string>,
  InvalidTaskArgs | InvalidTaskOptions | QueueFull | TaskNotFound | TaskStoreError,
  SqlClient.SqlClient
> {
  return enqueue(taskOrKey, args, { ...options, uniqueKey: undefined })
}
