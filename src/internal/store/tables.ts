import { Context, Effect } from "effect"
import { InvalidTaskOptions } from "../../TaskError.js"

/** A plain lower-case PostgreSQL identifier: no quoting games, no surprises in `search_path`. */
const identifierPattern = /^[a-z_][a-z0-9_]{0,47}$/

/** The default database schema holding effect-tasks' tables. */
export const defaultSchema = "effect_tasks"

/**
 * The database schema that holds the task tables. Producers read it when they enqueue, so a
 * custom schema is set once (by `TaskManager.layer` or `TaskStore.layerDatabaseSchema`).
 */
export class DatabaseSchema extends Context.Reference<DatabaseSchema>()("effect-tasks/DatabaseSchema", {
  defaultValue: () => defaultSchema
}) {}

/** The names derived from a schema: qualified table names (for `sql(...)`) and the NOTIFY channel. */
export interface Tables {
  readonly schema: string
  readonly tasks: string
  readonly migrations: string
  readonly nodes: string
  readonly leases: string
  readonly queues: string
  /** Retention per task key (`*`: the default). */
  readonly retention: string
  readonly channel: string
  /** The producer's insert function (migration 0011). */
  readonly enqueue: string
}

export const tables = (schema: string): Tables => ({
  schema,
  tasks: `${schema}.tasks`,
  migrations: `${schema}.migrations`,
  nodes: `${schema}.nodes`,
  leases: `${schema}.leases`,
  queues: `${schema}.queues`,
  retention: `${schema}.retention`,
  channel: `${schema}_tasks`,
  enqueue: `${schema}.enqueue`
})

export const validateSchemaName = (schema: string): Effect.Effect<string, InvalidTaskOptions> =>
  identifierPattern.test(schema)
    ? Effect.succeed(schema)
    : Effect.fail(
      new InvalidTaskOptions({
        option: "schema",
        reason: `"${schema}" is not a plain identifier (lower-case letters, digits and _, at most 48 characters)`
      })
    )

/** The tables of the schema in context. */
export const currentTables: Effect.Effect<Tables> = Effect.map(DatabaseSchema, tables)
