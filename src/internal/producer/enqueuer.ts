import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Clock, Context, Effect, Option } from "effect"
import type * as Task from "../../Task.js"
import type { QueueFull } from "../../TaskError.js"
import type { Attempt } from "../currentAttempt.js"
import * as insertOps from "../store/insert.js"
import { currentTables } from "../store/tables.js"
import type { Memory } from "../testkit/memory.js"

/**
 * Where `Tasks.run` puts tasks: the producer's side of the store. It inserts the rows of one
 * definition in input order and returns their ids; with a parent attempt they are its children,
 * held by it and run one after another after its earlier children. It writes on the caller's
 * transaction when there is one.
 */
export interface Enqueuer {
  readonly insert: (
    task: Task.Any,
    rows: ReadonlyArray<insertOps.NewTask>,
    parent: Option.Option<Attempt>
  ) => Effect.Effect<ReadonlyArray<string>, SqlError | QueueFull, SqlClient.SqlClient>
}

/** PostgreSQL: one call of the schema's `enqueue` function; children are chained in the same transaction. */
export const postgres: Enqueuer = {
  insert: (_task, rows, parent) =>
    Effect.flatMap(currentTables, (tables) =>
      Option.match(parent, {
        onNone: () => insertOps.insertMany(tables, rows),
        onSome: (attempt) =>
          Effect.flatMap(SqlClient.SqlClient, (sql) =>
            // One transaction (a savepoint inside the caller's): a child is never left inserted but unchained.
            attempt.submitting.withPermits(1)(sql.withTransaction(
              Effect.tap(insertOps.insertMany(tables, rows), (ids) => insertOps.chainChildren(tables, attempt.claimToken, ids))
            )))
      }))
}

/** The test kit's memory, on the caller's transaction when there is one (see `Memory.insert`). */
export const inMemory = (memory: Memory): Enqueuer => ({
  insert: (task, rows) =>
    Effect.flatMap(
      Effect.zip(Clock.currentTimeMillis, Effect.serviceOption(SqlClient.TransactionConnection)),
      ([now, transaction]) =>
        Effect.sync(() =>
          memory.insert(task, rows, now, Option.match(transaction, { onNone: () => undefined, onSome: ([conn]) => conn }))
        )
    )
})

/** The enqueuer `Tasks.run` uses: PostgreSQL unless a layer (the test kit's) provides another. */
export class CurrentEnqueuer extends Context.Reference<CurrentEnqueuer>()("effect-tasks/Enqueuer", {
  defaultValue: (): Enqueuer => postgres
}) {}
