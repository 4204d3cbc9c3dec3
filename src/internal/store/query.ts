import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Tables } from "./tables.js"
import { rowColumns } from "./taskRow.js"

/** The rows with these ids, in id order (missing ids are left out). */
export const getMany = (tables: Tables, ids: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    if (ids.length === 0) return []
    const sql = yield* SqlClient.SqlClient
    return yield* sql`
      SELECT ${sql.literal(rowColumns)} FROM ${sql(tables.tasks)}
      WHERE id = ANY(${ids}::bigint[]) ORDER BY id`.withoutTransform
  })

/** The newest rows first, at most `limit`. */
export const listRecent = (tables: Tables, limit: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    return yield* sql`
      SELECT ${sql.literal(rowColumns)} FROM ${sql(tables.tasks)} ORDER BY id DESC LIMIT ${limit}`.withoutTransform
  })
