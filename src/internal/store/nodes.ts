import { SqlClient } from "@effect/sql"
import { Duration, Effect, Option } from "effect"
import * as TaskStatus from "../../TaskStatus.js"
import type { Tables } from "./tables.js"

const millis = (duration: Duration.Duration) => Duration.toMillis(duration)

/** One run of a node: its name, and the token its registration wrote (a fresh one at every start). */
export interface Incarnation {
  readonly nodeId: string
  readonly incarnation: string
}

/** What a node says about itself at each heartbeat. */
export interface Heartbeat extends Incarnation {
  /** The claim tokens of the attempts this node is running now. */
  readonly claimTokens: ReadonlyArray<string>
  /** The task keys this node has handlers for now (shown to operators by `TaskAdmin.explain`). */
  readonly keys: ReadonlyArray<string>
  /** Renewed leases last this long from now. */
  readonly leaseDuration: Duration.Duration
  /**
   * A lease written less than this long ago (more than `leaseDuration − freshFor` left) is not
   * written again: a claim made or renewed that recently needs no renewal yet, and a busy node
   * rewrites fewer rows.
   */
  readonly freshFor: Duration.Duration
}

/** What a heartbeat found. */
export interface HeartbeatResult {
  /** False when the node's row no longer carries this incarnation (replaced, or forgotten): nothing was renewed. */
  readonly isRegistered: boolean
  /** The claim tokens this node still holds; a token sent but missing here was taken away. */
  readonly held: ReadonlySet<string>
  /** Held claims an operator asked to stop (cancel or pause): the node stops those attempts. */
  readonly stopRequested: ReadonlyArray<string>
}

/**
 * Marks this incarnation of the node alive and renews the leases of the attempts it still holds,
 * in one statement. Both are guarded by the incarnation: once another process has registered the
 * same node id (this one was silent past `nodeTimeout`), this one renews nothing, and every attempt
 * it still runs must stop.
 *
 * The beat never waits on a row lock: a row locked by another statement (its end being written
 * just now) is not renewed by this beat, and still counts as held. A beat stuck behind the ends of
 * attempts would hold their rows in turn and stall every end written after it.
 */
export const heartbeat = (tables: Tables, beat: Heartbeat) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const tasks = sql(tables.tasks)
    const rows = yield* sql<{ isRegistered: boolean; held: ReadonlyArray<string>; stopRequested: ReadonlyArray<string> }>`
      WITH beat AS (
        UPDATE ${sql(tables.nodes)} SET heartbeat_at = now(), keys = ${beat.keys}::text[]
        WHERE id = ${beat.nodeId} AND incarnation = ${beat.incarnation}::uuid
        RETURNING id
      ),
      held AS (
        SELECT id, claim_token, lease_expires_at, stop_request FROM ${tasks}
        WHERE status = ${TaskStatus.running} AND claimed_by = ${beat.nodeId}
          AND claim_token = ANY(${beat.claimTokens}::uuid[]) AND EXISTS (SELECT 1 FROM beat)
      ),
      due AS (
        SELECT t.id FROM ${tasks} AS t JOIN held ON held.id = t.id
        WHERE held.lease_expires_at < now() + ${millis(beat.leaseDuration) - millis(beat.freshFor)} * interval '1 millisecond'
          AND t.status = ${TaskStatus.running} AND t.claim_token = held.claim_token
        FOR NO KEY UPDATE OF t SKIP LOCKED
      ),
      renewed AS (
        UPDATE ${tasks} AS t SET lease_expires_at = now() + ${millis(beat.leaseDuration)} * interval '1 millisecond'
        FROM due WHERE t.id = due.id
        RETURNING t.id
      )
      SELECT EXISTS (SELECT 1 FROM beat) AS "isRegistered", ARRAY(SELECT claim_token::text FROM held) AS held,
        ARRAY(SELECT claim_token::text FROM held WHERE stop_request IS NOT NULL) AS "stopRequested"
        FROM (SELECT count(*) FROM renewed) AS written`.withoutTransform
    const row = rows[0]
    return {
      isRegistered: row?.isRegistered === true,
      held: new Set(row?.held ?? []),
      stopRequested: row?.stopRequested ?? []
    } satisfies HeartbeatResult
  })

/**
 * Registers a starting node and returns its new incarnation. Its id may be reused only if its
 * previous holder is dead (silent for `nodeTimeout`): two live nodes sharing an id would see each
 * other's claims as their own. None when a live node holds the id.
 */
export const register = (
  tables: Tables,
  node: { readonly nodeId: string; readonly host: string; readonly pid: number; readonly nodeTimeout: Duration.Duration }
) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const nodes = sql(tables.nodes)
    const rows = yield* sql<{ incarnation: string }>`
      INSERT INTO ${nodes} AS n (id, host, pid, incarnation, timeout_ms)
      VALUES (${node.nodeId}, ${node.host}, ${node.pid}, gen_random_uuid(), ${millis(node.nodeTimeout)})
      ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, incarnation = excluded.incarnation,
        timeout_ms = excluded.timeout_ms, keys = '{}', started_at = now(), heartbeat_at = now()
      WHERE n.heartbeat_at < now() - ${millis(node.nodeTimeout)} * interval '1 millisecond'
      RETURNING incarnation::text AS incarnation`.withoutTransform
    return Option.map(Option.fromNullable(rows[0]), (row): Incarnation => ({ nodeId: node.nodeId, incarnation: row.incarnation }))
  })

/**
 * Removes a stopping node from the registry and gives up the leases it holds, if the row is still
 * this incarnation's (a replacement's row and leases are left alone).
 */
export const deregister = (tables: Tables, node: Incarnation) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`DELETE FROM ${sql(tables.leases)} WHERE holder = ${node.nodeId} AND incarnation = ${node.incarnation}::uuid`
    yield* sql`DELETE FROM ${sql(tables.nodes)} WHERE id = ${node.nodeId} AND incarnation = ${node.incarnation}::uuid`
  })

/** The lease of the node that leads maintenance (rescue, checks, cleaning). */
export const maintenanceLease = "maintenance"

/**
 * Takes or renews the named lease for `holder` when it is free, expired or already held by this
 * same incarnation; returns whether it holds it now. The conditional upsert locks the one lease
 * row, so at most one holder has an unexpired lease at any time.
 */
export const acquireLease = (tables: Tables, name: string, holder: Incarnation, duration: Duration.Duration) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const leases = sql(tables.leases)
    const rows = yield* sql<{ holder: string }>`
      INSERT INTO ${leases} AS l (name, holder, incarnation, expires_at)
      VALUES (${name}, ${holder.nodeId}, ${holder.incarnation}::uuid, now() + ${millis(duration)} * interval '1 millisecond')
      ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, incarnation = excluded.incarnation,
        expires_at = excluded.expires_at
      WHERE (l.holder = excluded.holder AND l.incarnation = excluded.incarnation) OR l.expires_at < now()
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
