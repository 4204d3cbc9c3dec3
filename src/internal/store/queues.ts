import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { queueSlotFreed } from "./notify.js"
import type { Tables } from "./tables.js"

/** A queue's limits, as stored; null is no limit. */
export interface QueueDefinition {
  readonly name: string
  /** Most unfinished tasks (`initialized`, `paused`, `running`); an enqueue past it fails with `QueueFull`. */
  readonly maxSize: number | null
  /** Most running tasks across all nodes. */
  readonly concurrency: number | null
  /** Most running tasks on any one node. */
  readonly concurrencyPerNode: number | null
}

/**
 * Creates a queue's definition or replaces it whole. A running task is never stopped by a lower
 * limit: the limit holds back claims until the queue is under it again. Every worker is told to
 * look again, as a raised or removed limit may have freed slots.
 */
export const defineQueue = (tables: Tables, queue: QueueDefinition) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      WITH defined AS (
        INSERT INTO ${sql(tables.queues)} (name, max_size, concurrency, node_concurrency)
        VALUES (${queue.name}, ${queue.maxSize}, ${queue.concurrency}, ${queue.concurrencyPerNode})
        ON CONFLICT (name) DO UPDATE SET
          max_size = excluded.max_size,
          concurrency = excluded.concurrency,
          node_concurrency = excluded.node_concurrency,
          updated_at = now()
        RETURNING name
      )
      SELECT pg_notify(${tables.channel}, ${queueSlotFreed} || name) FROM defined`
  })

/** Every defined queue, by name. */
export const listQueues = (tables: Tables) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    return yield* sql<QueueDefinition>`
      SELECT name, max_size AS "maxSize", concurrency, node_concurrency AS "concurrencyPerNode"
      FROM ${sql(tables.queues)} ORDER BY name`.withoutTransform
  })
