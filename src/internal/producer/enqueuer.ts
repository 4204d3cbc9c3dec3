import { SqlClient } from "@effect/sql"
import { Clock, Context, Effect, Option } from "effect"
import type * as Task from "../../Task.js"
import type { QueueFull, SchemaNotMigrated, TaskStoreError } from "../../TaskError.js"
import type { Attempt } from "../currentAttempt.js"
import type { NewTask } from "../store/insert.js"
import { refailUnmigrated } from "../store/refail.js"
import { currentStore } from "../store/service.js"
import type { Memory } from "../testkit/memory.js"

/**
 * Where `Tasks.run` puts tasks. It inserts the rows of one definition in input order and returns
 * their ids; with a parent attempt they are its children, held by it and run one after another
 * after its earlier children. It writes on the caller's transaction when there is one.
 */
export interface Enqueuer {
  readonly insert: (
    task: Task.Any,
    rows: ReadonlyArray<NewTask>,
    parent: Option.Option<Attempt>
  ) => Effect.Effect<ReadonlyArray<string>, TaskStoreError | QueueFull | SchemaNotMigrated, SqlClient.SqlClient>
}

/**
 * Through the store in context (see `currentStore`). A parent's children are submitted one call at
 * a time, so that each call's children follow the previous call's.
 */
export const throughStore: Enqueuer = {
  insert: (_task, rows, parent) =>
    Effect.flatMap(currentStore, (store) =>
      Option.match(parent, {
        onNone: () => store.insertMany(rows),
        onSome: (attempt) => attempt.submitting.withPermits(1)(store.insertChildren(attempt.claimToken, rows))
      }).pipe(refailUnmigrated(store.schema)))
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

/** The enqueuer `Tasks.run` uses: the store in context unless a layer (the test kit's) provides another. */
export class CurrentEnqueuer extends Context.Reference<CurrentEnqueuer>()("effect-tasks/Enqueuer", {
  defaultValue: (): Enqueuer => throughStore
}) {}
