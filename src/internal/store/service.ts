import { SqlClient } from "@effect/sql"
import { Context, Effect, Option } from "effect"
import { postgresStore, type Store, StoreTypeId } from "./store.js"
import { currentTables } from "./tables.js"

/** The operators' part of the store: what the public `TaskStore` service shows. */
export type PublicStore = Pick<
  Store,
  | "schema"
  | "migrate"
  | "verifyVersion"
  | "migrationStatus"
  | "nodes"
  | "countExpired"
  | "lastHour"
  | "deleteExpired"
  | "defineQueue"
  | "listQueues"
  | "pauseWaiting"
  | "cancel"
  | "pause"
  | "rerun"
  | "remove"
  | "move"
  | "resumePaused"
  | "getMany"
  | "listRecent"
  | "list"
  | "count"
  | "explain"
  | "stats"
>

/** The store in context, shared by producers, the worker and operators (see `TaskStore`). */
export class TaskStore extends Context.Tag("effect-tasks/TaskStore")<TaskStore, PublicStore>() {}

/**
 * The whole store behind a `TaskStore` service, whose public type shows only the operators' part.
 * A service made by hand (a stub in a test) has no worker protocol: using it so is a defect.
 */
export const storeOf = (service: PublicStore): Effect.Effect<Store> =>
  StoreTypeId in service
    ? Effect.succeed(service as Store)
    : Effect.dieMessage("this TaskStore was not made by TaskStore.make or TaskStore.layer: it lacks the worker's protocol")

/** Stores made for producers without a `TaskStore` in context, one per client and schema. */
const madeFor = new WeakMap<SqlClient.SqlClient, Map<string, Store>>()

/**
 * The `TaskStore` in context, or else the PostgreSQL store over the `SqlClient` in context for the
 * `DatabaseSchema` in context (made once per client and schema): `Tasks.run` needs no more.
 */
export const currentStore: Effect.Effect<Store, never, SqlClient.SqlClient> = Effect.flatMap(
  Effect.serviceOption(TaskStore),
  Option.match({
    onSome: storeOf,
    onNone: () =>
      Effect.zipWith(SqlClient.SqlClient, currentTables, (sql, tables) => {
        const stores = madeFor.get(sql) ?? new Map<string, Store>()
        madeFor.set(sql, stores)
        const store = stores.get(tables.schema) ?? postgresStore(sql, tables)
        stores.set(tables.schema, store)
        return store
      })
  })
)
