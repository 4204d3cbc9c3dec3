import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Predicate } from "effect"
import { SchemaNotMigrated, TaskStoreError } from "../../TaskError.js"

/** Maps the `SqlError` of a store statement to a `TaskStoreError` naming the operation; other errors pass through. */
export const refail = (operation: string) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, Exclude<E, SqlError> | TaskStoreError, R> =>
  Effect.catchIf(
    self,
    (error): error is Extract<E, SqlError> => Predicate.isTagged(error, "SqlError"),
    (cause) => Effect.fail(new TaskStoreError({ operation, cause }))
  ) as Effect.Effect<A, Exclude<E, SqlError> | TaskStoreError, R>

/** SQLSTATEs of a missing table, function or schema: nothing has migrated the schema to this version. */
const unmigrated = new Set(["42P01", "42883", "3F000"])

/** Maps a `TaskStoreError` that found no table, function or schema to `SchemaNotMigrated`; other errors pass through. */
export const refailUnmigrated = (schema: string) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | SchemaNotMigrated, R> =>
  Effect.catchIf(
    self,
    (error) => error instanceof TaskStoreError && unmigrated.has(error.sqlState ?? ""),
    () => Effect.fail(new SchemaNotMigrated({ schema }))
  )
