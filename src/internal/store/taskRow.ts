import { Schema } from "effect"
import { TaskStatus } from "../../TaskStatus.js"

/** What a worker gets for each task it claimed: enough to run it and to finish it under its token. */
export const ClaimedTask = Schema.Struct({
  id: Schema.String,
  key: Schema.String,
  queue: Schema.String,
  args: Schema.Unknown,
  attempt: Schema.Number,
  maxAttempts: Schema.Number,
  claimToken: Schema.String,
  rootId: Schema.NullOr(Schema.String),
  /** The task's last checkpoint (encoded), null when it has none. */
  checkpoint: Schema.Unknown,
  /** The W3C traceparent of the span that enqueued it (null: none was recorded). */
  traceparent: Schema.NullOr(Schema.String),
  /** The definition's propagated context, encoded (null: none). */
  context: Schema.Unknown,
  /** Milliseconds from when it was due to this claim, on the database's clock. */
  waitMillis: Schema.Number
})
export type ClaimedTask = typeof ClaimedTask.Type

/** The columns of `ClaimedTask`, as the claim statement returns them. */
export const claimedColumns =
  `t.id::text AS id, t.key, t.queue, t.args, t.attempt, t.max_attempts AS "maxAttempts", t.claim_token::text AS "claimToken", t.root_id::text AS "rootId", t.checkpoint, t.traceparent, t.context, ` +
  `greatest(0, extract(epoch FROM statement_timestamp() - t.run_at) * 1000)::float8 AS "waitMillis"`

/** One whole task row, decoded. */
export const TaskRow = Schema.Struct({
  id: Schema.String,
  key: Schema.String,
  queue: Schema.String,
  priority: Schema.Number,
  status: TaskStatus,
  args: Schema.Unknown,
  attempt: Schema.Number,
  maxAttempts: Schema.Number,
  runAt: Schema.DateFromSelf,
  claimToken: Schema.NullOr(Schema.String),
  claimedBy: Schema.NullOr(Schema.String),
  leaseExpiresAt: Schema.NullOr(Schema.DateFromSelf),
  lastError: Schema.NullOr(Schema.String),
  /**
   * The last ten failed attempts (their errors' first 500 characters), oldest first, across
   * reruns; null when none has failed since the schema had them (migration 17).
   */
  errors: Schema.NullOr(Schema.Array(Schema.Struct({ attempt: Schema.Number, at: Schema.Date, error: Schema.String }))),
  lostCount: Schema.Number,
  owner: Schema.NullOr(Schema.String),
  parentId: Schema.NullOr(Schema.String),
  rootId: Schema.NullOr(Schema.String),
  afterId: Schema.NullOr(Schema.String),
  deadlineAt: Schema.NullOr(Schema.DateFromSelf),
  createdAt: Schema.DateFromSelf,
  updatedAt: Schema.DateFromSelf,
  startedAt: Schema.NullOr(Schema.DateFromSelf),
  finishedAt: Schema.NullOr(Schema.DateFromSelf),
  /** An operator's request to stop the running attempt. */
  stopRequest: Schema.NullOr(Schema.Literal("cancel", "pause")),
  /** The last checkpoint its handler stored (encoded with the definition's `checkpoint` Schema). */
  checkpoint: Schema.Unknown,
  /** The last progress its handler reported. */
  progress: Schema.NullOr(Schema.Struct({ phase: Schema.String, fraction: Schema.Number })),
  /** What its handler returned, encoded with the definition's `success` Schema (null without one). */
  result: Schema.Unknown,
  /** When the cleaner deletes it (fixed when it finished, by its retention); null while unfinished, or kept forever. */
  expiresAt: Schema.NullOr(Schema.DateFromSelf),
  /** The W3C traceparent of the span that enqueued it: its trace id finds the request's trace. */
  traceparent: Schema.NullOr(Schema.String)
})
export type TaskRow = typeof TaskRow.Type

/** The columns of `TaskRow`. Aliased explicitly so a client with name transforms reads the same keys. */
export const rowColumns = [
  `id::text AS id`,
  `key`,
  `queue`,
  `priority`,
  `status`,
  `args`,
  `attempt`,
  `max_attempts AS "maxAttempts"`,
  `run_at AS "runAt"`,
  `claim_token::text AS "claimToken"`,
  `claimed_by AS "claimedBy"`,
  `lease_expires_at AS "leaseExpiresAt"`,
  `last_error AS "lastError"`,
  `errors`,
  `lost_count AS "lostCount"`,
  `owner`,
  `parent_id::text AS "parentId"`,
  `root_id::text AS "rootId"`,
  `after_id::text AS "afterId"`,
  `deadline_at AS "deadlineAt"`,
  `stop_request AS "stopRequest"`,
  `checkpoint`,
  `progress`,
  `result`,
  `expires_at AS "expiresAt"`,
  `traceparent`,
  `created_at AS "createdAt"`,
  `updated_at AS "updatedAt"`,
  `started_at AS "startedAt"`,
  `finished_at AS "finishedAt"`
].join(", ")
