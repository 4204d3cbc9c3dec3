import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Tables } from "../tables.js"

/**
 * Multi-node bookkeeping: the node registry (heartbeats), a leader lease for maintenance, and on
 * each task the number of workers lost in a row and the attempt's hard deadline.
 */
export const createNodesAndLeases = (tables: Tables) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      CREATE TABLE ${sql(tables.nodes)} (
        id           text PRIMARY KEY,
        host         text        NOT NULL,
        pid          integer     NOT NULL,
        started_at   timestamptz NOT NULL DEFAULT now(),
        heartbeat_at timestamptz NOT NULL DEFAULT now()
      )`
    yield* sql`
      CREATE TABLE ${sql(tables.leases)} (
        name       text PRIMARY KEY,
        holder     text        NOT NULL,
        expires_at timestamptz NOT NULL
      )`
    yield* sql`
      ALTER TABLE ${sql(tables.tasks)}
        ADD COLUMN lost_count  integer NOT NULL DEFAULT 0 CHECK (lost_count >= 0),
        ADD COLUMN deadline_at timestamptz`
    yield* sql`CREATE INDEX tasks_running_deadline_idx ON ${sql(tables.tasks)} (deadline_at) WHERE status = 'running'`
  })
