/**
 * The producer API: enqueue tasks. It needs only the `SqlClient` and never opens a transaction of
 * its own: inside the caller's `sql.withTransaction` the task row is written on the caller's
 * connection, so the task exists if and only if that transaction commits (and workers are woken
 * only then). Outside a transaction each call is its own statement.
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Either, Option, ParseResult, Schema } from "effect"
import * as insertOps from "./internal/store/insert.js"
import { boundedTextProblem, delayProblem, maxLength, priorityProblem, queueProblem, runAtProblem, textProblem } from "./internal/policy.js"
import { currentTables } from "./internal/store/tables.js"
import { CurrentAttempt } from "./internal/worker/currentAttempt.js"
import * as Task from "./Task.js"
import { InvalidTaskArgs, InvalidTaskOptions, type QueueFull, SchemaNotMigrated, TaskNotFound, TaskStoreError } from "./TaskError.js"
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

/** Encoded arguments jsonb cannot store: refused here, typed, rather than as a failed insert. */
class Unstorable {
  constructor(readonly issue: string) {}
}

const at = (key: string) => key === "" ? "" : ` at ${JSON.stringify(key)}`

const typeName = (value: unknown) =>
  typeof value === "object" && value !== null
    ? String((value.constructor as { readonly name?: unknown } | undefined)?.name || "object")
    : typeof value

/** What JSON.stringify did to a value that may not read back as written, if anything. */
const lossyConversion = (key: string, original: unknown, value: unknown): string | undefined => {
  if (typeof value === "number") {
    return Number.isFinite(value) ? undefined : `the number ${value}${at(key)} is stored as null`
  }
  if (original !== value) return `a ${typeName(original)}${at(key)} is stored as what its toJSON() returns`
  if (typeof value === "undefined" || typeof value === "function" || typeof value === "symbol") {
    return `a value of type ${typeof value}${at(key)} is left out (stored as null in an array or alone)`
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined
  const prototype = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
    ? undefined
    : `a ${typeName(value)}${at(key)} is stored as a plain object`
}

/**
 * The JSON text of encoded arguments, and the first conversion that may not read back as written
 * (NaN becomes null, a Date its string, a Map `{}`, an undefined property is dropped, ...). Noting
 * it costs almost nothing; only then does the caller pay for decoding the text to decide.
 */
const stringify = (encoded: unknown): { readonly json: string; readonly lossy: string | undefined } => {
  let lossy: string | undefined
  const json = JSON.stringify(encoded, function(this: Record<string, unknown>, key: string, value: unknown) {
    const keyIssue = textProblem(key)
    if (keyIssue !== undefined) throw new Unstorable(`the object key ${JSON.stringify(key)} ${keyIssue}`)
    const text = typeof value === "string" ? value : value instanceof String ? value.valueOf() : undefined
    const textIssue = text === undefined ? undefined : textProblem(text)
    if (textIssue !== undefined) throw new Unstorable(`a string${at(key)} ${textIssue}`)
    lossy ??= lossyConversion(key, this[key], value)
    return value
  })
  return { json: json ?? "null", lossy }
}

/**
 * The JSON text of encoded arguments, or why it cannot be stored; `undefined` in `lossy` when the
 * text surely reads back as written.
 */
const storable = (task: Task.Any, encoded: unknown): { readonly json: string; readonly lossy: string | undefined } | InvalidTaskArgs => {
  try {
    return stringify(encoded)
  } catch (cause) {
    return new InvalidTaskArgs({
      key: task.key,
      issue: cause instanceof Unstorable
        ? cause.issue
        : `the encoded arguments are not JSON-serialisable: ${cause instanceof Error ? cause.message : String(cause)}`
    })
  }
}

/**
 * Proves the text decodes back with the task's Schema (what the worker will do) whenever it may
 * not: arguments that pass validation but cannot run are refused here, not on their first attempt.
 */
const decodesBack = (task: Task.Any, json: string, lossy: string): Effect.Effect<string, InvalidTaskArgs> =>
  Schema.decodeUnknown(task.args)(JSON.parse(json), { errors: "all" }).pipe(Effect.mapBoth({
    onFailure: (error) =>
      new InvalidTaskArgs({
        key: task.key,
        issue: `${lossy}, and the stored JSON does not decode with the task's Schema:\n${
          ParseResult.TreeFormatter.formatErrorSync(error)
        }`
      }),
    onSuccess: () => json
  }))

const invalidArgs = (task: Task.Any, issue: ParseResult.ParseIssue) =>
  new InvalidTaskArgs({ key: task.key, issue: ParseResult.TreeFormatter.formatIssueSync(issue) })

/**
 * The arguments encoded with the task's Schema, as JSON texts in input order. A plain loop with no
 * Effect per argument when the Schema is synchronous (its encoding then answers an `Either`): this
 * runs per argument of a bulk enqueue, where each Effect step shows.
 */
const encodeAll = (task: Task.Any, args: Iterable<unknown>): Effect.Effect<Array<string>, InvalidTaskArgs> =>
  Effect.suspend(() => {
    const encode = ParseResult.encodeUnknown(task.args, { errors: "all" }) as (
      u: unknown
    ) => Either.Either<unknown, ParseResult.ParseIssue> | Effect.Effect<unknown, ParseResult.ParseIssue>
    const texts: Array<string> = []
    const iterator = args[Symbol.iterator]()
    const loop = (): Effect.Effect<Array<string>, InvalidTaskArgs> => {
      for (let next = iterator.next(); !next.done; next = iterator.next()) {
        const encoded = encode(next.value)
        if (!Either.isEither(encoded)) {
          // An asynchronous Schema: this argument through the Effect, then on with the rest.
          return Effect.flatMap(Effect.mapError(encoded, (issue) => invalidArgs(task, issue)), (value) =>
            Effect.flatMap(store(value), () => loop()))
        }
        if (Either.isLeft(encoded)) return Effect.fail(invalidArgs(task, encoded.left))
        const stored = storable(task, encoded.right)
        if (stored instanceof InvalidTaskArgs) return Effect.fail(stored)
        if (stored.lossy !== undefined) {
          return Effect.flatMap(decodesBack(task, stored.json, stored.lossy), (json) => {
            texts.push(json)
            return loop()
          })
        }
        texts.push(stored.json)
      }
      return Effect.succeed(texts)
    }
    const store = (value: unknown): Effect.Effect<void, InvalidTaskArgs> => {
      const stored = storable(task, value)
      if (stored instanceof InvalidTaskArgs) return Effect.fail(stored)
      if (stored.lossy === undefined) return Effect.sync(() => texts.push(stored.json))
      return Effect.map(decodesBack(task, stored.json, stored.lossy), (json) => {
        texts.push(json)
      })
    }
    return loop()
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

interface Placement {
  readonly queue: string
  readonly priority: number
  readonly runAt: Date | null
  readonly delayMillis: number
  readonly uniqueKey: string | null
  readonly owner: string | null
  readonly paused: boolean
}

const invalidOption = (option: string, reason: string) => new InvalidTaskOptions({ option, reason })

/** Where and when the tasks go, or the first bad option. Plain code: it runs on every enqueue. */
const placement = (task: Task.Any, options: RunOptions): Placement | InvalidTaskOptions => {
  const queue = options.queue ?? task.queue
  const queueIssue = queueProblem(queue)
  if (queueIssue !== undefined) return invalidOption("queue", queueIssue)
  const priority = options.priority ?? task.priority
  const priorityIssue = priorityProblem(priority)
  if (priorityIssue !== undefined) return invalidOption("priority", priorityIssue)
  const runAtIssue = options.runAt === undefined ? undefined : runAtProblem(options.runAt)
  if (runAtIssue !== undefined) return invalidOption("runAt", runAtIssue)
  const delayMillis = options.delay === undefined
    ? 0
    : Option.match(Duration.decodeUnknown(options.delay), { onNone: () => Number.NaN, onSome: Duration.toMillis })
  const delayIssue = options.delay === undefined
    ? undefined
    : delayProblem(options.delay, delayMillis)
  if (delayIssue !== undefined) return invalidOption("delay", delayIssue)
  for (const option of ["uniqueKey", "owner"] as const) {
    const value = options[option]
    if (value === undefined) continue
    const issue = boundedTextProblem(value, maxLength[option])
    if (issue !== undefined) return invalidOption(option, issue)
  }
  for (const option of ["paused", "independent"] as const) {
    const value = options[option]
    if (value !== undefined && typeof value !== "boolean") return invalidOption(option, "must be a boolean")
  }
  return {
    queue,
    priority,
    runAt: options.runAt ?? null,
    delayMillis,
    uniqueKey: options.uniqueKey ?? null,
    owner: options.owner ?? null,
    paused: options.paused ?? false
  }
}

interface Lineage {
  readonly parentId: string | null
  readonly rootId: string | null
  readonly heldBy: string | null
}

const noLineage: Lineage = { parentId: null, rootId: null, heldBy: null }

/** One row per JSON text, the rest shared. */
const newTasks = (task: Task.Any, place: Placement, lineage: Lineage, texts: ReadonlyArray<string>) =>
  texts.map((args): insertOps.NewTask => ({
    key: task.key,
    queue: place.queue,
    priority: place.priority,
    args,
    maxAttempts: task.maxAttempts,
    runAt: place.runAt,
    delayMillis: place.delayMillis,
    uniqueKey: place.uniqueKey,
    owner: place.owner,
    parentId: lineage.parentId,
    rootId: lineage.rootId,
    heldBy: lineage.heldBy,
    paused: place.paused
  }))

/** A missing table means nothing has migrated the schema yet: say so, typed, rather than as SQLSTATE 42P01. */
const refailUnmigrated = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.flatMap(currentTables, (tables) => SchemaNotMigrated.refail(tables.schema)(self))

/**
 * Inside a handler, new tasks are children of the running attempt unless `independent`: held back
 * until that attempt succeeds (and deleted if it does not), and run one after another in the order
 * submitted.
 */
const enqueue = (taskOrKey: Task.Any | string, args: Iterable<unknown>, options: RunOptions) =>
  resolve(taskOrKey).pipe(
    Effect.flatMap((task) =>
      Effect.gen(function*() {
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
        const rows = newTasks(task, place, lineage, yield* encodeAll(task, args))
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
        refailUnmigrated,
        // No stack trace: it costs more than the rest of the span on this path.
        Effect.withSpan("Tasks.run", { kind: "producer", captureStackTrace: false, attributes: { "task.key": task.key } })
      )
    )
  )

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
  task: Task.Task<A, I>,
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
  return enqueue(taskOrKey, args, { ...options, uniqueKey: undefined })
}
