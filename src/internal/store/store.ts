import { SqlClient } from "@effect/sql"
import { type Duration, Effect, Option, Schema } from "effect"
import { type IncompatibleSchema, type InvalidTaskOptions, type QueueFull, TaskStoreError } from "../../TaskError.js"
import { refail } from "./refail.js"
import { type AttemptState, saveAttemptState } from "./attemptState.js"
import * as checkOps from "./check.js"
import * as cleanOps from "./clean.js"
import * as consoleOps from "./console.js"
import * as retentionOps from "./retention.js"
import * as claimOps from "./claim.js"
import type { ClaimRequest, QueueLimits } from "./claim.js"
import * as explainOps from "./explain.js"
import * as findOps from "./find.js"
import * as finishOps from "./finish.js"
import type { Applied, Finish } from "./finish.js"
import * as insertOps from "./insert.js"
import type { NewTask } from "./insert.js"
import * as migrateOps from "./migrate.js"
import * as nodeOps from "./nodes.js"
import type { Heartbeat, HeartbeatResult, Incarnation } from "./nodes.js"
import * as pauseOps from "./pause.js"
import * as queryOps from "./query.js"
import * as queueOps from "./queues.js"
import type { QueueDefinition } from "./queues.js"
import * as rescueOps from "./rescue.js"
import * as operateOps from "./operate.js"
import * as stopOps from "./stop.js"
import type { Guarded } from "./guarded.js"
import type { Rescued } from "./rescue.js"
import * as tablesOps from "./tables.js"
import * as taskRow from "./taskRow.js"
import type { ClaimedTask, TaskRow } from "./taskRow.js"
import * as waitOps from "./waits.js"

/**
 * Every operation of the PostgreSQL store: the public `TaskStore` (schema, migrations, queues,
 * pause and resume, reads) and the worker's private protocol (claims, ends of attempts,
 * heartbeats, leases, rescue, checks). Operations speak in encoded values and decoded rows, and
 * each name says the guard it enforces.
 */
export interface Store {
  readonly [StoreTypeId]: StoreTypeId
  /** The database schema this store works in. */
  readonly schema: string
  /** The NOTIFY channel that enqueues signal on. */
  readonly channel: string
  /** The same store over another client of the same database (the worker's own connections). */
  readonly forClient: (sql: SqlClient.SqlClient) => Store
  /** Sends a notification on the channel (delivered when the current transaction, if any, commits). */
  readonly notify: (payload: string) => Effect.Effect<void, TaskStoreError>
  /** Applies pending migrations (safe under concurrent starts); fails on a schema newer than this code. */
  readonly migrate: Effect.Effect<void, TaskStoreError | IncompatibleSchema>
  /** Inserts tasks (and wakes workers) on the current transaction if any; returns ids in input order. */
  readonly insertMany: (tasks: ReadonlyArray<NewTask>) => Effect.Effect<ReadonlyArray<string>, TaskStoreError | QueueFull>
  /**
   * Inserts the children of the attempt holding `heldBy` in one transaction (a savepoint inside an
   * open one), each after the attempt's earlier children; returns ids in input order.
   */
  readonly insertChildren: (
    heldBy: string,
    tasks: ReadonlyArray<NewTask>
  ) => Effect.Effect<ReadonlyArray<string>, TaskStoreError | QueueFull>
  /** Creates a queue's definition or replaces it whole. */
  readonly defineQueue: (queue: QueueDefinition) => Effect.Effect<void, TaskStoreError>
  /** Every defined queue, by name. */
  readonly listQueues: Effect.Effect<ReadonlyArray<QueueDefinition>, TaskStoreError>
  /** Pauses tasks that wait (`initialized`); returns the ids paused (others were not waiting). */
  readonly pauseWaiting: (ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<string>, TaskStoreError>
  /**
   * Cancels waiting tasks (and their waiting descendants) at once and asks the nodes running the
   * running ones to stop them, in one transaction; changes nothing when an id is finished or missing.
   */
  readonly cancel: (ids: ReadonlyArray<string>) => Effect.Effect<Guarded, TaskStoreError>
  /** Pauses waiting tasks at once and asks the nodes running the running ones to stop them as paused; returns the ids changed. */
  readonly pause: (ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<string>, TaskStoreError>
  /** Makes finished tasks runnable again, attempts from zero; refuses the request when one is unfinished, missing or its unique key is held. */
  readonly rerun: (ids: ReadonlyArray<string>) => Effect.Effect<Guarded, TaskStoreError>
  /** Deletes tasks that are not running; refuses the request when one is running or missing. */
  readonly remove: (ids: ReadonlyArray<string>) => Effect.Effect<Guarded, TaskStoreError>
  /** Changes the queue, priority, owner or due time of waiting or paused tasks; refuses the request otherwise. */
  readonly move: (ids: ReadonlyArray<string>, to: operateOps.Placement) => Effect.Effect<Guarded, TaskStoreError>
  /** Makes `paused` tasks runnable and wakes workers; returns the ids resumed (others were not paused). */
  readonly resumePaused: (ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<string>, TaskStoreError>
  /** Whether some queue has a concurrency limit, and whether one spans all nodes (for `ClaimRequest.limits`). */
  readonly readQueueLimits: Effect.Effect<QueueLimits, TaskStoreError>
  /** Claims up to `limit` due tasks with the given keys, skipping rows other claimers hold. */
  readonly claim: (request: ClaimRequest) => Effect.Effect<ReadonlyArray<ClaimedTask>, TaskStoreError>
  /** Runs an effect in one transaction on this store's database (a savepoint inside an open one). */
  readonly withTransaction: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | TaskStoreError, R>
  /** How long until the next delayed task with one of these keys is due; None when there is none. */
  readonly nextDue: (keys: ReadonlyArray<string>) => Effect.Effect<Option.Option<Duration.Duration>, TaskStoreError>
  /** Stores a running attempt's checkpoint and progress under its claim token; false when the claim was taken away. */
  readonly saveAttemptState: (state: AttemptState) => Effect.Effect<boolean, TaskStoreError>
  /** Ends claimed attempts still held under their tokens; returns those applied (others were stale) with the status each task now has. */
  readonly finishIfClaimed: (finishes: ReadonlyArray<Finish>) => Effect.Effect<ReadonlyArray<Applied>, TaskStoreError>
  /**
   * Hands back the tasks a stopping node still holds, except claims whose handlers still run, if
   * the node's row is still this incarnation's; returns their ids.
   */
  readonly releaseClaimedBy: (
    node: Incarnation,
    stillRunning: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<string>, TaskStoreError>
  /** Marks this incarnation alive and renews the leases of the given claims that are due (never waiting on a locked row); says which it still holds (others were lost). */
  readonly heartbeat: (beat: Heartbeat) => Effect.Effect<HeartbeatResult, TaskStoreError>
  /** Registers a starting node and returns its new incarnation; None when a live node (heartbeat within `nodeTimeout`) has that id. */
  readonly register: (node: {
    readonly nodeId: string
    readonly host: string
    readonly pid: number
    readonly nodeTimeout: Duration.Duration
  }) => Effect.Effect<Option.Option<Incarnation>, TaskStoreError>
  /** Removes a stopping node from the registry and drops the leases it holds, if its row is still this incarnation's. */
  readonly deregister: (node: Incarnation) => Effect.Effect<void, TaskStoreError>
  /** Takes or renews a named lease if free, expired or already held by this incarnation; true when it holds it. */
  readonly acquireLease: (name: string, holder: Incarnation, duration: Duration.Duration) => Effect.Effect<boolean, TaskStoreError>
  /** Forgets nodes whose last heartbeat is older than `olderThan`; returns how many. */
  readonly deleteSilentNodes: (olderThan: Duration.Duration) => Effect.Effect<number, TaskStoreError>
  /** Takes back one bounded batch of running tasks whose lease or deadline passed (attempt counted, poison failed). */
  readonly rescueExpired: (request: rescueOps.RescueRequest) => Effect.Effect<ReadonlyArray<Rescued>, TaskStoreError>
  /** Releases or deletes, in one bounded batch, children whose parent attempt ended without settling them. */
  readonly settleOrphanChildren: (limit: number) => Effect.Effect<{ readonly released: number; readonly dropped: number }, TaskStoreError>
  /** Frees, in one bounded batch, children still waiting for a sibling that has ended or is gone; returns how many. */
  readonly unblockStaleWaits: (limit: number) => Effect.Effect<number, TaskStoreError>
  /** Deletes, in one bounded batch, finished tasks past their retention (oldest first); returns how many. */
  readonly deleteExpired: (limit: number) => Effect.Effect<number, TaskStoreError>
  /** Writes how long finished tasks of some keys are kept (`*`: the default). */
  readonly writeRetention: (rows: ReadonlyArray<retentionOps.Retention>) => Effect.Effect<void, TaskStoreError>
  /** Tasks waiting or running abnormally long, oldest first, at most `limit`. */
  readonly findStuck: (request: checkOps.StuckRequest) => Effect.Effect<ReadonlyArray<TaskRow>, TaskStoreError>
  /** Fails with `IncompatibleSchema` unless the database schema is exactly the version this code knows. */
  readonly verifyVersion: Effect.Effect<void, TaskStoreError | IncompatibleSchema>
  /** The applied schema version and the migrations `migrate` would apply. */
  readonly migrationStatus: Effect.Effect<migrateOps.MigrationStatus, TaskStoreError>
  /** Every registered node, with its liveness, its running attempts and whether it leads. */
  readonly nodes: Effect.Effect<ReadonlyArray<consoleOps.NodeView>, TaskStoreError>
  /** How many finished tasks are past their retention. */
  readonly countExpired: Effect.Effect<number, TaskStoreError>
  /** The last hour minute by minute: tasks ended and started, and the mean wait. */
  readonly lastHour: Effect.Effect<ReadonlyArray<consoleOps.MinuteView>, TaskStoreError>
  /** The rows with the given ids, in id order. */
  readonly getMany: (ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<TaskRow>, TaskStoreError>
  /** One page of the rows matching a filter, by id (keyset: `page.after` is the last id of the page before). */
  readonly list: (filter: findOps.Filter, page: findOps.Page) => Effect.Effect<ReadonlyArray<TaskRow>, TaskStoreError>
  /** What the database knows about why a task is where it is; None when there is no such task. */
  readonly explain: (id: string) => Effect.Effect<Option.Option<explainOps.Facts>, TaskStoreError>
  /** How many rows match a filter. */
  readonly count: (filter: findOps.Filter) => Effect.Effect<number, TaskStoreError>
  /** Per queue: unfinished tasks by status, the oldest waiting age, and the last hour's ends. */
  readonly stats: Effect.Effect<ReadonlyArray<findOps.QueueStats>, TaskStoreError>
  /** Per queue with unfinished tasks: waiting, paused and running counts and the oldest due wait (one cheap statement). */
  readonly queueDepths: Effect.Effect<ReadonlyArray<findOps.QueueDepth>, TaskStoreError>
  /** The newest `limit` rows, newest first. */
  readonly listRecent: (limit: number) => Effect.Effect<ReadonlyArray<TaskRow>, TaskStoreError>
}

const decodeRows = <A, I>(schema: Schema.Schema<A, I>, operation: string) => {
  const decode = Schema.decodeUnknown(Schema.Array(schema))
  return (rows: unknown): Effect.Effect<ReadonlyArray<A>, TaskStoreError> =>
    Effect.mapError(decode(rows), (cause) => new TaskStoreError({ operation, cause }))
}

export const StoreTypeId: unique symbol = Symbol.for("effect-tasks/Store")
export type StoreTypeId = typeof StoreTypeId

/**
 * The PostgreSQL store over the `SqlClient` in context, for the given schema (default: the
 * `DatabaseSchema` in context).
 */
export const makeStore = (options: { readonly schema?: string | undefined } = {}): Effect.Effect<
  Store,
  InvalidTaskOptions,
  SqlClient.SqlClient
> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const schema = yield* tablesOps.validateSchemaName(options.schema ?? (yield* tablesOps.DatabaseSchema))
    return postgresStore(sql, tablesOps.tables(schema))
  })

/** The PostgreSQL store of `tables` over `sql`. */
export const postgresStore = (sql: SqlClient.SqlClient, tables: tablesOps.Tables): Store => {
  const withSql = Effect.provideService(SqlClient.SqlClient, sql)
  const decodeTaskRows = decodeRows(taskRow.TaskRow, "query")
  return {
    [StoreTypeId]: StoreTypeId,
    schema: tables.schema,
    channel: tables.channel,
    forClient: (other) => postgresStore(other, tables),
    notify: (payload) => sql`SELECT pg_notify(${tables.channel}, ${payload})`.pipe(Effect.asVoid, refail("notify")),
    insertChildren: (heldBy, tasks) =>
      sql.withTransaction(
        Effect.tap(insertOps.insertMany(tables, tasks), (ids) => insertOps.chainChildren(tables, heldBy, ids))
      ).pipe(withSql, refail("insert")),
    migrate: withSql(migrateOps.migrate(tables)),
    insertMany: (tasks) => insertOps.insertMany(tables, tasks).pipe(withSql, refail("insert")),
    readQueueLimits: claimOps.readQueueLimits(tables).pipe(withSql, refail("queue limits")),
    claim: (request) =>
      claimOps.claimDecoded(tables, request).pipe(withSql, refail("claim")),
    defineQueue: (queue) => queueOps.defineQueue(tables, queue).pipe(withSql, refail("define queue")),
    listQueues: queueOps.listQueues(tables).pipe(withSql, refail("list queues")),
    cancel: (ids) => stopOps.cancel(tables, ids).pipe(withSql, refail("cancel")),
    pause: (ids) => operateOps.pause(tables, ids).pipe(withSql, refail("pause")),
    rerun: (ids) => operateOps.rerun(tables, ids).pipe(withSql, refail("rerun")),
    remove: (ids) => operateOps.remove(tables, ids).pipe(withSql, refail("delete")),
    move: (ids, to) => operateOps.move(tables, ids, to).pipe(withSql, refail("move")),
    pauseWaiting: (ids) => pauseOps.pauseWaiting(tables, ids).pipe(withSql, refail("pause")),
    resumePaused: (ids) => pauseOps.resumePaused(tables, ids).pipe(withSql, refail("resume")),
    withTransaction: (self) => sql.withTransaction(self).pipe(refail("transaction")),
    nextDue: (keys) => claimOps.nextDue(tables, keys).pipe(withSql, refail("next due")),
    saveAttemptState: (state) => saveAttemptState(tables, state).pipe(withSql, refail("save attempt state")),
    finishIfClaimed: (finishes) =>
      finishOps.finishIfClaimed(tables, finishes).pipe(withSql, refail("finish")),
    releaseClaimedBy: (node, stillRunning) =>
      finishOps.releaseClaimedBy(tables, node, stillRunning).pipe(withSql, refail("release")),
    verifyVersion: withSql(migrateOps.verifyVersion(tables)),
    migrationStatus: withSql(migrateOps.status(tables)),
    nodes: consoleOps.nodes(tables, nodeOps.maintenanceLease).pipe(withSql, refail("nodes")),
    countExpired: consoleOps.countExpired(tables).pipe(withSql, refail("clean")),
    lastHour: consoleOps.lastHour(tables).pipe(withSql, refail("last hour")),
    heartbeat: (beat) => nodeOps.heartbeat(tables, beat).pipe(withSql, refail("heartbeat")),
    register: (node) => nodeOps.register(tables, node).pipe(withSql, refail("register")),
    deregister: (node) => nodeOps.deregister(tables, node).pipe(withSql, refail("deregister")),
    acquireLease: (name, holder, duration) =>
      nodeOps.acquireLease(tables, name, holder, duration).pipe(withSql, refail("lease")),
    deleteSilentNodes: (olderThan) =>
      nodeOps.deleteSilentNodes(tables, olderThan).pipe(withSql, refail("forget nodes")),
    rescueExpired: (request) => rescueOps.rescueExpired(tables, request).pipe(withSql, refail("rescue")),
    settleOrphanChildren: (limit) =>
      finishOps.settleOrphanChildren(tables, limit).pipe(withSql, refail("settle children")),
    unblockStaleWaits: (limit) =>
      waitOps.unblockStaleWaits(tables, limit).pipe(withSql, refail("unblock waits")),
    deleteExpired: (limit) => cleanOps.deleteExpired(tables, limit).pipe(withSql, refail("clean")),
    writeRetention: (rows) => retentionOps.writeRetention(tables, rows).pipe(withSql, refail("retention")),
    findStuck: (request) =>
      checkOps.findStuck(tables, request).pipe(withSql, refail("check"), Effect.flatMap(decodeTaskRows)),
    getMany: (ids) =>
      queryOps.getMany(tables, ids).pipe(withSql, refail("query"), Effect.flatMap(decodeTaskRows)),
    list: (filter, page) =>
      findOps.list(tables, filter, page).pipe(withSql, refail("list"), Effect.flatMap(decodeTaskRows)),
    explain: (id) => explainOps.explain(tables, id).pipe(Effect.map(Option.fromNullable), withSql, refail("explain")),
    count: (filter) => findOps.count(tables, filter).pipe(withSql, refail("count")),
    stats: findOps.stats(tables).pipe(withSql, refail("stats")),
    queueDepths: findOps.depths(tables).pipe(withSql, refail("queue depths")),
    listRecent: (limit) =>
      queryOps.listRecent(tables, limit).pipe(withSql, refail("query"), Effect.flatMap(decodeTaskRows))
  }
}
