/**
 * Every public error of effect-tasks. Each is a `Schema.TaggedError` that carries the data a caller
 * acts on and derives its message from that data; `isTaskError` tells them from anything else.
 *
 * @since 0.1.0
 */
import { Duration, Predicate, Schema } from "effect"

/**
 * A task definition was rejected when it was made or registered: empty key, bad option, or a key
 * registered twice. Thrown by `Task.make` (a programming error found at start-up), returned by handler Layers.
 * @since 0.1.0
 * @category errors
 */
export class InvalidTaskDefinition extends Schema.TaggedError<InvalidTaskDefinition>()("InvalidTaskDefinition", {
  key: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid definition of task "${this.key}": ${this.reason}`
  }
}

/**
 * No definition is known for a task key (`Tasks.run("key", ...)` with a key no `TaskRegistry` in context holds).
 * @since 0.1.0
 * @category errors
 */
export class TaskNotFound extends Schema.TaggedError<TaskNotFound>()("TaskNotFound", {
  key: Schema.String
}) {
  override get message(): string {
    return `no task is defined with key "${this.key}" (define it with Task.make and provide it through a TaskRegistry)`
  }
}

/**
 * The arguments given to `Tasks.run` do not satisfy the task's args Schema. Nothing was written.
 * @since 0.1.0
 * @category errors
 */
export class InvalidTaskArgs extends Schema.TaggedError<InvalidTaskArgs>()("InvalidTaskArgs", {
  key: Schema.String,
  issue: Schema.String
}) {
  override get message(): string {
    return `invalid arguments for task "${this.key}":\n${this.issue}`
  }
}

/**
 * A stored task's arguments no longer decode with its args Schema (the Schema changed, or the row
 * was edited by hand). The task fails at once, without retries; the worker goes on.
 * @since 0.1.0
 * @category errors
 */
export class UndecodableTask extends Schema.TaggedError<UndecodableTask>()("UndecodableTask", {
  id: Schema.String,
  key: Schema.String,
  issue: Schema.String
}) {
  override get message(): string {
    return `task ${this.id} ("${this.key}") has arguments that no longer decode:\n${this.issue}`
  }
}

/**
 * An attempt ran longer than its task's timeout and was interrupted. It counts as a failed attempt.
 * @since 0.1.0
 * @category errors
 */
export class TaskTimeout extends Schema.TaggedError<TaskTimeout>()("TaskTimeout", {
  id: Schema.String,
  key: Schema.String,
  /** The timeout the attempt ran past. */
  timeout: Schema.DurationFromSelf
}) {
  override get message(): string {
    return `task ${this.id} ("${this.key}") timed out after ${Duration.toMillis(this.timeout)} ms`
  }
}

/**
 * The queue holds its maximum number of unfinished tasks: nothing was written, and the caller's
 * transaction can roll back cleanly.
 * @since 0.1.0
 * @category errors
 */
export class QueueFull extends Schema.TaggedError<QueueFull>()("QueueFull", {
  queue: Schema.String,
  limit: Schema.Number
}) {
  override get message(): string {
    return `queue "${this.queue}" is full (${this.limit} unfinished tasks)`
  }
}

/**
 * The database's effect-tasks schema is not the version this process knows: newer (it refuses to
 * start rather than write rows an older protocol might corrupt; upgrade the process) or, when the
 * process does not migrate, older (run the migrations).
 * @since 0.1.0
 * @category errors
 */
export class IncompatibleSchema extends Schema.TaggedError<IncompatibleSchema>()("IncompatibleSchema", {
  schema: Schema.String,
  found: Schema.Number,
  supported: Schema.Number
}) {
  override get message(): string {
    return this.found > this.supported
      ? `schema "${this.schema}" is at version ${this.found}, but this process supports up to ${this.supported}: upgrade effect-tasks`
      : `schema "${this.schema}" is at version ${this.found}, but this process needs version ${this.supported}: run the migrations (TaskStore.migrate, or TaskManager with migrate: true)`
  }
}

/**
 * A configuration value was rejected (a schema name that is not a plain identifier, a pool size
 * below 1, ...).
 * @since 0.1.0
 * @category errors
 */
export class InvalidTaskOptions extends Schema.TaggedError<InvalidTaskOptions>()("InvalidTaskOptions", {
  option: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid option ${this.option}: ${this.reason}`
  }
}

/**
 * A task id given to an operation is not one: ids are positive 64-bit integers in decimal, as
 * `Tasks.run` returns them. Nothing was read or changed.
 * @since 0.1.0
 * @category errors
 */
export class InvalidTaskId extends Schema.TaggedError<InvalidTaskId>()("InvalidTaskId", {
  id: Schema.String
}) {
  override get message(): string {
    return `${JSON.stringify(this.id)} is not a task id (a positive 64-bit integer in decimal, as Tasks.run returns)`
  }
}

/**
 * A worker was started with the `nodeId` of a node that is still alive (its heartbeat is younger
 * than its `nodeTimeout`). Give each process its own id, or leave it out to get a generated one.
 * @since 0.1.0
 * @category errors
 */
export class NodeIdInUse extends Schema.TaggedError<NodeIdInUse>()("NodeIdInUse", {
  nodeId: Schema.String
}) {
  override get message(): string {
    return `node id ${JSON.stringify(this.nodeId)} is already used by a live node: give each process its own, or leave ` +
      "nodeId out to get a generated one"
  }
}

/**
 * An operation was asked of tasks whose state does not allow it (canceling a finished task, say), or
 * of ids that do not exist (`status` null; `reason` when the status is not the reason). Nothing changed.
 * @since 0.1.0
 * @category errors
 */
export class TaskStateConflict extends Schema.TaggedError<TaskStateConflict>()("TaskStateConflict", {
  action: Schema.String,
  tasks: Schema.Array(Schema.Struct({
    id: Schema.String,
    status: Schema.NullOr(Schema.String),
    reason: Schema.optional(Schema.String)
  }))
}) {
  override get message(): string {
    const each = this.tasks.map(({ id, reason, status }) =>
      status === null ? `task ${id} does not exist` : `task ${id} is ${status}${reason === undefined ? "" : ` (${reason})`}`
    )
    return `cannot ${this.action}: ${each.join(", ")}`
  }
}

/**
 * The embedded PostgreSQL server (the examples' and tests' default) could not be started; `reason` says what to do.
 * @since 0.1.0
 * @category errors
 */
export class EmbeddedPostgresError extends Schema.TaggedError<EmbeddedPostgresError>()("EmbeddedPostgresError", {
  stage: Schema.Literal("load", "access", "prepare", "initialise", "start", "stop"),
  reason: Schema.String
}) {
  override get message(): string {
    return `embedded PostgreSQL failed (${this.stage}): ${this.reason}`
  }
}

/**
 * A database statement failed. `cause` keeps the original `SqlError`, whose own `cause` holds the
 * PostgreSQL error with its SQLSTATE (`sqlState` exposes it: 40001, 40P01, 23505, ...).
 * @since 0.1.0
 * @category errors
 */
export class TaskStoreError extends Schema.TaggedError<TaskStoreError>()("TaskStoreError", {
  operation: Schema.String,
  cause: Schema.Defect
}) {
  /** The SQLSTATE of the failed statement, when PostgreSQL reported one. */
  get sqlState(): string | undefined {
    const inner = Predicate.hasProperty(this.cause, "cause") ? this.cause.cause : undefined
    return Predicate.hasProperty(inner, "code") && typeof inner.code === "string" ? inner.code : undefined
  }

  override get message(): string {
    const inner = Predicate.hasProperty(this.cause, "cause") ? this.cause.cause : this.cause
    const detail = inner instanceof Error ? inner.message : String(inner)
    const code = this.sqlState
    return `task store operation "${this.operation}" failed${code ? ` (SQLSTATE ${code})` : ""}: ${detail}`
  }
}

/**
 * `schema` does not hold the effect-tasks tables of this version (SQLSTATE 42P01, 42883 or 3F000):
 * a worker migrates at start (unless `migrate: false`), a deploy step can run `TaskStore.migrate`.
 * Nothing was written, and the caller's transaction should roll back.
 * @since 0.1.0
 * @category errors
 */
export class SchemaNotMigrated extends Schema.TaggedError<SchemaNotMigrated>()("SchemaNotMigrated", {
  schema: Schema.String
}) {
  override get message(): string {
    return `schema "${this.schema}" does not hold the effect-tasks tables of this version yet: start a worker ` +
      "(TaskManager migrates at start unless migrate: false), or run TaskStore.migrate in a deploy step"
  }
}

const all = [
  InvalidTaskDefinition, TaskNotFound, InvalidTaskArgs, UndecodableTask, TaskTimeout, QueueFull, IncompatibleSchema,
  InvalidTaskOptions, InvalidTaskId, NodeIdInUse, TaskStateConflict, TaskStoreError, SchemaNotMigrated, EmbeddedPostgresError
] as const

/**
 * Every public error of effect-tasks.
 * @since 0.1.0
 * @category models
 */
export type TaskError = InstanceType<typeof all[number]>

/**
 * Whether a value is one of the errors of this module.
 * @since 0.1.0
 * @category guards
 */
export const isTaskError = (u: unknown): u is TaskError => all.some((error) => u instanceof error)
