import { SqlClient } from "@effect/sql"
import { Duration, Effect } from "effect"
import * as TaskStatus from "../../TaskStatus.js"
import type { Tables } from "./tables.js"

const millis = (duration: Duration.Duration) => Duration.toMillis(duration)

/** What a node says about itself at each heartbeat. */
export interface Heartbeat {
  readonly nodeId: string
  readonly host: string
  readonly pid: number
  /** The claim tokens of the attempts this node is running now. */
  readonly claimTokens: ReadonlyArray<string>
  /** Renewed leases last this long from now. */
  readonly leaseDuration: Duration.Duration
}

/**
 * Records the node as alive (registering it the first time) and renews the leases of the attempts
 * it still holds, in one statement. Returns the tokens renewed: a token missing from the answer was
 * taken away (rescued, or released by an operator) and its attempt must stop.
 */
export const heartbeat = (tables: Tables, beat: Heartbeat) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ token: string }>`
      WITH beat AS (
        INSERT INTO ${sql(tables.nodes)} (id, host, pid) VALUES (${beat.nodeId}, ${beat.host}, ${beat.pid})
        ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()
        RETURNING id
      ),
      renewed AS (
        UPDATE ${sql(tables.tasks)} SET lease_expires_at = now() + ${millis(beat.leaseDuration)} * interval '1 millisecond'
        WHERE status = ${TaskStatus.running} AND claimed_by = ${beat.nodeId}
          AND claim_token = ANY(${beat.claimTokens}::uuid[])
        RETURNING claim_token::text AS token
      )
      SELECT renewed.token FROM renewed CROSS JOIN beat`.withoutTransform
    return new Set(rows.map((row) => row.token))
  })

/**
 * Registers a starting node. Its id may be reused only if its previous holder is dead (silent for
 * `nodeTimeout`): two live nodes sharing an id would renew, release and deregister each other's
 * claims. Returns false when a live node holds the id.
 */
export const register = (
  tables: Tables,
  node: { readonly nodeId: string; readonly host: string; readonly pid: number; readonly nodeTimeout: Duration.Duration }
) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const nodes = sql(tables.nodes)
    const rows = yield* sql<{ id: string }>`
      INSERT INTO ${nodes} AS n (id, host, pid) VALUES (${node.nodeId}, ${node.host}, ${node.pid})
      ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, started_at = now(), heartbeat_at = now()
      WHERE n.heartbeat_at < now() - ${millis(node.nodeTimeout)} * interval '1 millisecond'
      RETURNING id`.withoutTransform
    return rows.length === 1
  })

/** Removes a stopping node from the registry and gives up any lease it holds. */
export const deregister = (tables: Tables, nodeId: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`DELETE FROM ${sql(tables.leases)} WHERE holder = ${nodeId}`
    yield* sql`DELETE FROM ${sql(tables.nodes)} WHERE id = ${nodeId}`
  })

/**
 * Takes or renews the named lease for `holder` when it is free, expired or already theirs; returns
 * whether `holder` holds it now. The conditional upsert locks the one lease row, so at most one
 * holder has an unexpired lease at any time.
 */
export const acquireLease = (tables: Tables, name: string, holder: string, duration: Duration.Duration) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const leases = sql(tables.leases)
    const rows = yield* sql<{ holder: string }>`
      INSERT INTO ${leases} AS l (name, holder, expires_at)
      VALUES (${name}, ${holder}, now() + ${millis(duration)} * interval '1 millisecond')
      ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
      WHERE l.holder = excluded.holder OR l.expires_at < now()
      RETURNING holder`.withoutTransform
    return rows.length === 1
  })

/** Forgets nodes silent for longer than `olderThan` (their tasks were rescued long before). */
export const deleteSilentNodes = (tables: Tables, olderThan: Duration.Duration) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ id: string }>`
      DELETE FROM ${sql(tables.nodes)}
      WHERE heartbeat_at < now() - ${millis(olderThan)} * interval '1 millisecond'
      RETURNING id`.withoutTransform
    return rows.length
  })
