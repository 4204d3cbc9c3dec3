import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Tables } from "../tables.js"

/**
 * The task table. The status list is written out (not derived from TaskStatus) on purpose: a
 * migration is frozen once released, and later statuses arrive in later migrations.
 */
export const createTasks = (tables: Tables) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const tasks = sql(tables.tasks)
    yield* sql`
      CREATE TABLE ${tasks} (
        id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        key              text        NOT NULL CHECK (key <> ''),
        queue            text        NOT NULL DEFAULT 'default',
        priority         integer     NOT NULL DEFAULT 0,
        status           text        NOT NULL DEFAULT 'initialized'
                         CHECK (status IN ('initialized', 'running', 'succeeded', 'failed')),
        args             jsonb       NOT NULL,
        attempt          integer     NOT NULL DEFAULT 0 CHECK (attempt >= 0),
        max_attempts     integer     NOT NULL CHECK (max_attempts >= 1),
        run_at           timestamptz NOT NULL DEFAULT now(),
        claim_token      uuid,
        claimed_by       text,
        lease_expires_at timestamptz,
        last_error       text,
        created_at       timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now(),
        started_at       timestamptz,
        finished_at      timestamptz,
        CONSTRAINT running_has_claim CHECK ((status = 'running') = (claim_token IS NOT NULL))
      )`
    // The claim reads only this index: runnable rows in claim order.
    yield* sql`CREATE INDEX tasks_runnable_idx ON ${tasks} (priority DESC, run_at, id) WHERE status = 'initialized'`
    // Rescue (expired leases) and history cleanup scan these, never the whole table.
    yield* sql`CREATE INDEX tasks_running_lease_idx ON ${tasks} (lease_expires_at) WHERE status = 'running'`
    yield* sql`CREATE INDEX tasks_finished_idx ON ${tasks} (finished_at) WHERE status IN ('succeeded', 'failed')`
  })
