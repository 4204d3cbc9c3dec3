import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect } from "effect"
import type * as TaskStatus from "../../TaskStatus.js"
import type { Tables } from "./tables.js"

/** What an operator's change did: the ids it changed, or, when it refused, each id it could not change. */
export interface Guarded {
  readonly changed: ReadonlyArray<string>
  /** Ids in a status the change does not apply to, or missing (`status` null); when any, nothing changed. */
  readonly refused: ReadonlyArray<Refused>
}

/** A task an operator's change does not apply to: its status (null: no such task), and why when the status is not the reason. */
export interface Refused {
  readonly id: string
  readonly status: TaskStatus.TaskStatus | null
  readonly reason?: string | undefined
}

/**
 * Runs an operator's `change` of the tasks `ids` in one transaction, after locking their rows, only
 * if every one exists and is in one of the `allowed` statuses; otherwise changes nothing and says
 * which are not (or what `blocked` finds). The statement of `change` still guards each row by its
 * status itself.
 */
export const guarded = <R>(
  tables: Tables,
  ids: ReadonlyArray<string>,
  allowed: ReadonlyArray<TaskStatus.TaskStatus>,
  change: Effect.Effect<ReadonlyArray<string>, SqlError, R>,
  /** Further refusals, looked for once the rows are locked and their statuses allowed. */
  blocked: Effect.Effect<ReadonlyArray<Refused>, SqlError, R> = Effect.succeed([])
): Effect.Effect<Guarded, SqlError, R | SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.withTransaction(Effect.gen(function*() {
      const found = yield* sql<{ id: string; status: TaskStatus.TaskStatus }>`
        SELECT id::text AS id, status FROM ${sql(tables.tasks)}
        WHERE id = ANY(${ids}::bigint[]) ORDER BY id FOR UPDATE`.withoutTransform
      const status = new Map(found.map((row) => [row.id, row.status]))
      const refused = ids.flatMap((id): Guarded["refused"] => {
        const current = status.get(id)
        return current === undefined ? [{ id, status: null }] : allowed.includes(current) ? [] : [{ id, status: current }]
      })
      if (refused.length > 0) return { changed: [], refused }
      const others = yield* blocked
      return others.length > 0 ? { changed: [], refused: others } : { changed: yield* change, refused: [] }
    })))
