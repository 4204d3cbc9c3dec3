import { Effect, Option, Schema } from "effect"
import { InvalidTaskOptions, type SchemaNotMigrated, type TaskStoreError } from "../../TaskError.js"
import * as TaskStatus from "../../TaskStatus.js"
import { stringify } from "../producer/encode.js"
import type * as store from "../store/find.js"
import type { TaskStore } from "../store/service.js"
import type { TaskRow } from "../store/taskRow.js"
import { BoundedText, decodeWith, IntegerIn, maxLength, QueueName, RunAt } from "../validation.js"
import { isTaskId, withStore } from "./context.js"

/**
 * Which tasks `list` and `count` look at: every field given must hold. Indexed: `key`, `owner`,
 * `parentId`, `rootId`, `uniqueKey`, `createdAfter`/`createdBefore`, `finishedAfter`/`finishedBefore`,
 * a `status` other than `succeeded`, and `args` among failed, canceled and paused tasks.
 * @since 0.1.0
 * @category models
 */
export interface Filter extends store.FilterFields {
  readonly status?: TaskStatus.TaskStatus | ReadonlyArray<TaskStatus.TaskStatus> | undefined
  readonly key?: string | ReadonlyArray<string> | undefined
  /** A JSON value the stored (encoded) arguments must contain, as PostgreSQL's `@>` means it: `{ orderId: 42 }`. */
  readonly args?: unknown
}

/**
 * A page of `list`: at most `limit` tasks (default 50, at most 1,000), `"newest"` (default) or
 * `"oldest"` first, after the `next` cursor of the page before.
 * @since 0.1.0
 * @category models
 */
export interface ListOptions {
  readonly limit?: number | undefined
  readonly order?: "newest" | "oldest" | undefined
  readonly after?: string | undefined
}

/**
 * One page of tasks; `next` is the cursor of the page after it (None on the last page).
 * @since 0.1.0
 * @category models
 */
export interface TaskPage {
  readonly tasks: ReadonlyArray<TaskRow>
  readonly next: Option.Option<string>
}

const TaskId = Schema.String.pipe(Schema.filter((id) => isTaskId(id) || "must be a task id (a positive 64-bit integer in decimal)"))
const oneOrMany = <A, I>(schema: Schema.Schema<A, I>) =>
  Schema.transform(Schema.Union(schema, Schema.Array(schema)), Schema.Array(Schema.typeSchema(schema)), {
    strict: false,
    decode: (value) => Array.isArray(value) ? value : [value],
    encode: (value) => value
  })

const FilterSchema = Schema.Struct({
  status: Schema.optional(oneOrMany(TaskStatus.TaskStatus)),
  key: Schema.optional(oneOrMany(BoundedText(128))),
  queue: Schema.optional(QueueName),
  owner: Schema.optional(BoundedText(maxLength.owner)),
  parentId: Schema.optional(TaskId),
  rootId: Schema.optional(TaskId),
  uniqueKey: Schema.optional(BoundedText(maxLength.uniqueKey)),
  createdAfter: Schema.optional(RunAt),
  createdBefore: Schema.optional(RunAt),
  finishedAfter: Schema.optional(RunAt),
  finishedBefore: Schema.optional(RunAt)
})

const PageSchema = Schema.Struct({
  limit: Schema.optional(IntegerIn(1, 1000, "an integer from 1 to 1,000")),
  order: Schema.optional(Schema.Literal("newest", "oldest")),
  after: Schema.optional(TaskId)
})

const invalid = (path: ReadonlyArray<string>, reason: string) => new InvalidTaskOptions({ option: path.join("."), reason })
const decodeFilter = decodeWith(FilterSchema, invalid)
const decodePage = decodeWith(PageSchema, invalid)

/** The filter checked, with `args` as the JSON text PostgreSQL compares. */
export const checkFilter = (filter: Filter): Effect.Effect<store.Filter, InvalidTaskOptions> =>
  Effect.flatMap(decodeFilter(filter), (checked) => {
    if (filter.args === undefined) return Effect.succeed(checked)
    try {
      const { json } = stringify(filter.args)
      return Effect.succeed({ ...checked, args: json })
    } catch (cause) {
      return Effect.fail(invalid(["args"], `cannot be compared as JSON: ${cause instanceof Error ? cause.message : String(cause)}`))
    }
  })

type FindError = InvalidTaskOptions | SchemaNotMigrated | TaskStoreError

/**
 * One page of the tasks that match `filter`, by id: newest first unless `order: "oldest"`. Keyset
 * pagination (pass `next` as `after`): stable while tasks are added, and as fast on the hundredth
 * page as on the first. Each page is one statement that stops after `limit` rows.
 * @since 0.1.0
 * @category combinators
 */
export const list = (filter: Filter = {}, options: ListOptions = {}): Effect.Effect<TaskPage, FindError, TaskStore> =>
  Effect.gen(function*() {
    const checked = yield* checkFilter(filter)
    const page = yield* decodePage(options)
    const limit = page.limit ?? 50
    const tasks = yield* withStore((store) => store.list(checked, { limit, order: page.order ?? "newest", after: page.after }))
    return { tasks, next: tasks.length === limit ? Option.some(tasks[tasks.length - 1]!.id) : Option.none() }
  })

/**
 * How many tasks match `filter`: an exact count, which reads every match (use a narrow filter, or
 * `stats`, on a large table).
 * @since 0.1.0
 * @category combinators
 */
export const count = (filter: Filter = {}): Effect.Effect<number, FindError, TaskStore> =>
  Effect.flatMap(checkFilter(filter), (checked) => withStore((store) => store.count(checked)))

/**
 * Per queue: waiting, paused and running tasks, how long the oldest due task has waited, and the
 * tasks that succeeded, failed or were canceled in the last hour. It reads the unfinished tasks and
 * the last hour's finished ones, never the whole history.
 * @since 0.1.0
 * @category combinators
 */
export const stats: Effect.Effect<ReadonlyArray<store.QueueStats>, SchemaNotMigrated | TaskStoreError, TaskStore> =
  withStore((store) => store.stats)
