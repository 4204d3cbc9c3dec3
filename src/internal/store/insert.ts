import { SqlClient } from "@effect/sql"
import { SqlError } from "@effect/sql/SqlError"
import { Effect } from "effect"
import { QueueFull } from "../../TaskError.js"
import * as TaskStatus from "../../TaskStatus.js"
import type { Tables } from "./tables.js"
import { isUnfinished } from "./waits.js"

/** A task row to insert, its arguments already encoded to JSON text. */
export interface NewTask {
  readonly key: string
  readonly queue: string
  readonly priority: number
  readonly args: string
  readonly maxAttempts: number
  /** Due at this time; when null, `delayMillis` after the insert's `now()`. */
  readonly runAt: Date | null
  readonly delayMillis: number
  /** At most one unfinished task holds a unique key; enqueuing it again returns that task's id. */
  readonly uniqueKey: string | null
  /** The user or tenant the task is for; the claim shares work fairly between owners. */
  readonly owner: string | null
  /** For a child: its parent, the root of its tree, and the parent attempt's claim token, which holds it back. */
  readonly parentId: string | null
  readonly rootId: string | null
  readonly heldBy: string | null
  /** Created `paused`: never claimed until an operator resumes it. */
  readonly paused: boolean
  /** The W3C `traceparent` of the span that enqueued it: each attempt's span is connected to it. */
  readonly traceparent?: string | null | undefined
  /** The definition's propagated context, as JSON text (provided to the handler). */
  readonly context?: string | null | undefined
}

/**
 * The limited queues among these tasks'. For them, `checkQueueLimits` fails with `QueueFull` when
 * adding the tasks would take a queue past its maximum of unfinished tasks; the caller runs the
 * check and the insert in one transaction (a savepoint inside the caller's), holding the queues'
 * rows locked, so concurrent producers of a limited queue take turns and cannot overshoot it
 * together. The count is a statement of its own, after the lock: under READ COMMITTED it then sees
 * what the producer before us committed. Unlimited queues cost no statement and no lock: the
 * insert itself checks that none of its queues is limited.
 */
const limitedQueues = (tables: Tables, tasks: ReadonlyArray<NewTask>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const names = [...new Set(tasks.map((task) => task.queue))]
    const rows = yield* sql<{ name: string }>`
      SELECT name FROM ${sql(tables.queues)} WHERE name = ANY(${names}::text[]) AND max_size IS NOT NULL`
      .withoutTransform
    return rows.map((row) => row.name)
  })

const checkQueueLimits = (tables: Tables, tasks: ReadonlyArray<NewTask>, limited: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const locked = yield* sql<{ name: string; maxSize: number }>`
      SELECT name, max_size AS "maxSize" FROM ${sql(tables.queues)}
      WHERE name = ANY(${limited}::text[]) AND max_size IS NOT NULL
      ORDER BY name
      FOR UPDATE`.withoutTransform
    const counts = yield* sql<{ queue: string; unfinished: number }>`
      SELECT queue, count(*)::int AS unfinished FROM ${sql(tables.tasks)}
      WHERE queue = ANY(${limited}::text[]) AND status = ANY(${TaskStatus.unfinished}::text[])
      GROUP BY queue`.withoutTransform
    // A task whose unique key an unfinished task holds adds nothing: it will not be inserted.
    const keyed = tasks.flatMap((task) => task.uniqueKey === null ? [] : [task.uniqueKey])
    const held = keyed.length === 0 ? [] : yield* sql<{ uniqueKey: string }>`
      SELECT unique_key AS "uniqueKey" FROM ${sql(tables.tasks)}
      WHERE key = ${tasks[0]!.key} AND unique_key = ANY(${keyed}::text[])
        AND status = ANY(${TaskStatus.unfinished}::text[])`.withoutTransform
    const heldKeys = new Set(held.map((row) => row.uniqueKey))
    for (const queue of locked) {
      const unfinished = counts.find((count) => count.queue === queue.name)?.unfinished ?? 0
      const adding = tasks.filter((task) =>
        task.queue === queue.name && (task.uniqueKey === null || !heldKeys.has(task.uniqueKey))
      ).length
      if (unfinished + adding > queue.maxSize) return yield* new QueueFull({ queue: queue.name, limit: queue.maxSize })
    }
  })

/**
 * Inserts tasks in one statement and returns their ids in input order. A task whose unique key an
 * unfinished task already holds is not inserted: its id is that task's (the unique index waits for
 * a concurrent insert of the same key to commit or roll back, so two transactions never both
 * insert it). The statement also sends one NOTIFY per distinct key: it runs on the caller's
 * transaction connection when there is one, so the rows exist, and workers are woken, only if that
 * transaction commits.
 */
export const insertMany = (
  tables: Tables,
  tasks: ReadonlyArray<NewTask>
): Effect.Effect<ReadonlyArray<string>, SqlError | QueueFull, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    if (tasks.length === 0) return []
    const sql = yield* SqlClient.SqlClient
    // One statement in the common case: it inserts nothing when one of the queues has a size limit.
    const inserted = yield* insertRows(tables, tasks, { again: true, unlessLimited: true })
    if (inserted !== "limited") return inserted
    const limited = yield* limitedQueues(tables, tasks)
    return yield* sql.withTransaction(
      Effect.zipRight(
        checkQueueLimits(tables, tasks, limited),
        insertUnguarded(tables, tasks, true)
      )
    )
  })

/**
 * `again` allows one more round for keys whose holder ended between the insert and the look-up.
 * One round is enough unless holders of the same key keep ending under us: then this fails, like a
 * serialization failure, for the caller to retry, rather than looping (as it would forever on a key
 * the database does not store as given). With `unlessLimited`, the statement inserts nothing and
 * answers "limited" when one of the tasks' queues has a size limit (the caller then checks it).
 */
const insertRows = (
  tables: Tables,
  tasks: ReadonlyArray<NewTask>,
  options: { readonly again: boolean; readonly unlessLimited: boolean }
): Effect.Effect<ReadonlyArray<string> | "limited", SqlError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const table = sql(tables.tasks)
    // One call of the schema's enqueue function (migration 0011), which PostgreSQL plans once per connection.
    const answer = yield* sql<{ id: string | null; uniqueKey: string | null; isLimited: boolean }>`
      SELECT task_id AS id, task_unique_key AS "uniqueKey", limited AS "isLimited" FROM ${sql(tables.enqueue)}(
        ${tasks.map((task) => task.key)}::text[],
        ${tasks.map((task) => task.queue)}::text[],
        ${tasks.map((task) => task.priority)}::int[],
        ${tasks.map((task) => task.args)}::jsonb[],
        ${tasks.map((task) => task.maxAttempts)}::int[],
        ${tasks.map((task) => task.runAt)}::timestamptz[],
        ${tasks.map((task) => task.delayMillis)}::float8[],
        ${tasks.map((task) => task.uniqueKey)}::text[],
        ${tasks.map((task) => task.owner)}::text[],
        ${tasks.map((task) => task.parentId)}::bigint[],
        ${tasks.map((task) => task.rootId)}::bigint[],
        ${tasks.map((task) => task.heldBy)}::uuid[],
        ${tasks.map((task) => task.paused)}::boolean[],
        ${tasks.map((task) => task.traceparent ?? null)}::text[],
        ${tasks.map((task) => task.context ?? null)}::jsonb[],
        ${tables.channel}, ${options.unlessLimited})`.withoutTransform
    if (answer[0]?.isLimited === true) return "limited"
    const rows = answer.flatMap((row) => row.id === null ? [] : [{ id: row.id, uniqueKey: row.uniqueKey }])
    const fresh = rows.filter((row) => row.uniqueKey === null).map((row) => row.id)
    // Unique keys are per task key; a batch holds one task key, so the unique key alone identifies a row here.
    const byKey = new Map(rows.flatMap((row) => row.uniqueKey === null ? [] : [[row.uniqueKey, row.id] as const]))
    const missing = tasks.flatMap((task) =>
      task.uniqueKey !== null && !byKey.has(task.uniqueKey) ? [task.uniqueKey] : []
    )
    if (missing.length > 0) {
      // Held by unfinished tasks already (committed, or inserted earlier in this transaction).
      const existing = yield* sql<{ id: string; uniqueKey: string }>`
        SELECT id::text AS id, unique_key AS "uniqueKey" FROM ${table}
        WHERE key = ${tasks[0]!.key} AND unique_key = ANY(${missing}::text[])
          AND status = ANY(${TaskStatus.unfinished}::text[])`
        .withoutTransform
      for (const row of existing) byKey.set(row.uniqueKey, row.id)
      // A holder that finished between the two statements has freed its key: insert ours after all.
      const freed = tasks.filter((task) => task.uniqueKey !== null && !byKey.has(task.uniqueKey))
      if (freed.length > 0 && !options.again) {
        const message = `unique keys neither inserted nor held after a second try: ${freed.length} of ${tasks.length}`
        return yield* new SqlError({ message, cause: message })
      }
      if (freed.length > 0) {
        const ids = yield* insertUnguarded(tables, freed, false)
        freed.forEach((task, index) => byKey.set(task.uniqueKey!, ids[index]!))
      }
    }
    let next = 0
    return tasks.map((task) => task.uniqueKey === null ? fresh[next++]! : byKey.get(task.uniqueKey)!)
  })

/** `insertRows` without the limit guard, which then never answers "limited". */
const insertUnguarded = (tables: Tables, tasks: ReadonlyArray<NewTask>, again: boolean) =>
  Effect.flatMap(insertRows(tables, tasks, { again, unlessLimited: false }), (ids) =>
    ids === "limited" ? Effect.dieMessage("an insert without the limit guard answered \"limited\"") : Effect.succeed(ids))

/**
 * Orders the children an attempt submits: each of `ids` runs only after the task before it has
 * ended, the first after the attempt's latest earlier child that exists (found in the database, so
 * a child rolled back with a savepoint is skipped). `after_id` records the order; `waiting_for`
 * holds it until that task ends (set only while it has not). The caller serialises submissions per
 * attempt and chains in the transaction that inserted them.
 */
export const chainChildren = (tables: Tables, heldBy: string, ids: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    if (ids.length === 0) return
    const sql = yield* SqlClient.SqlClient
    const tasks = sql(tables.tasks)
    const previous = ids.slice(0, -1)
    yield* sql`
      UPDATE ${tasks} AS t SET after_id = chain.before_id,
        waiting_for = CASE WHEN ${isUnfinished(sql, tables, sql`chain.before_id`)} THEN chain.before_id END
      FROM (
        SELECT chain.id, coalesce(chain.after_id, (
          SELECT max(sibling.id) FROM ${tasks} AS sibling
          WHERE sibling.held_by = ${heldBy}::uuid AND sibling.id < chain.id AND NOT (sibling.id = ANY(${ids}::bigint[]))
        )) AS before_id
        FROM unnest(${ids}::bigint[], ${[null, ...previous]}::bigint[]) AS chain(id, after_id)
      ) AS chain
      WHERE t.id = chain.id AND t.held_by = ${heldBy}::uuid`
  })
