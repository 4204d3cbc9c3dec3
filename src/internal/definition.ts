import { Context, Duration, Either, Option, type Schedule, Schema } from "effect"
import { queueSlotFreed } from "./store/notify.js"
import { stopRequested } from "./store/stop.js"
import { decodeWith, Flag, IntegerIn, PositiveDuration, Priority, problemOf, QueueName, Retention, textProblem } from "./validation.js"

/**
 * A value that travels with each task from the fiber that enqueued it to its handler: read from
 * `reference` where the task is enqueued, stored encoded with `schema`, provided to the handler.
 */
export interface Propagated<X> {
  readonly reference: Context.Reference<any, X>
  readonly schema: Schema.Schema<X, any>
}

/** How an attempt's span is connected to the span that enqueued its task. */
export type TraceMode = "link" | "parent"

/** What `Task.make` accepts. */
export interface Options<A, I, E = unknown, C = unknown, S = unknown, X = unknown> {
  /** The argument's Schema. Arguments are encoded with it on enqueue and decoded on every attempt. */
  readonly args: Schema.Schema<A, I>
  /**
   * The errors the handler may fail with (a Schema, say a `Schema.TaggedError` class or a union of
   * them). Given, the handler must fail with nothing else (the compiler checks it) and `retry.while`
   * receives them typed. Default: any error.
   */
  readonly error?: Schema.Schema<E, any> | undefined
  /**
   * The Schema of the task's checkpoint: what a long handler stores with `task.checkpoint(state)`
   * so that its next attempt resumes from `task.lastCheckpoint` instead of starting over.
   */
  readonly checkpoint?: Schema.Schema<C, any> | undefined
  /**
   * How long this definition's finished tasks are kept, by status (a duration, or `"forever"`);
   * a status left out follows the worker's `keepSucceeded` / `keepFailed`. Fixed when a task ends.
   */
  readonly keep?: {
    readonly succeeded?: Duration.DurationInput | "forever" | undefined
    readonly failed?: Duration.DurationInput | "forever" | undefined
    readonly canceled?: Duration.DurationInput | "forever" | undefined
  } | undefined
  /** The Schema of what the handler returns: stored encoded when it succeeds (`TaskAdmin.results`). */
  readonly success?: Schema.Schema<S, any> | undefined
  /**
   * Retries after a failed attempt. Default: no retry; `schedule` defaults to
   * `Schedule.exponential("1 second")`. `while` picks the handler failures worth retrying (default:
   * every one); a failure it refuses fails the task at once. Timeouts, defects and the library's own
   * errors are not passed to it: they are retried while attempts are left.
   */
  readonly retry?: {
    readonly times: number
    readonly schedule?: Schedule.Schedule<unknown, number> | undefined
    readonly while?: ((error: E) => boolean) | undefined
  } | undefined
  /** Per-attempt timeout: the handler is interrupted and the attempt fails. Default: the manager's `runningTimeout`. */
  readonly timeout?: Duration.DurationInput | undefined
  /** The queue the task is enqueued in. Default: `"default"`. */
  readonly queue?: string | undefined
  /** Higher runs first among runnable tasks. An integer; default 0. */
  readonly priority?: number | undefined
  /**
   * Run the handler inside a database transaction that also records its success: the handler's own
   * writes (through the same SqlClient) and the task's `succeeded` commit together or not at all.
   * Exactly-once effects for database work; holds a connection for the whole attempt. Default false.
   */
  readonly transactional?: boolean | undefined
  /**
   * Context that travels with the task: `reference` (a `Context.Reference`, say a request id or
   * the acting user) is read where `Tasks.run` is called, stored with the task encoded by `schema`,
   * and provided to each attempt's handler, so `yield* reference` there gives the producer's value
   * (the reference's default when the producer set none). Children enqueued by a handler carry it on.
   */
  readonly context?: Propagated<X> | undefined
  /**
   * How each attempt's span is connected to the span that enqueued the task. `"link"` (default):
   * every attempt is the root of a trace of its own, with a span link to the enqueue, as the
   * OpenTelemetry messaging conventions advise: attempts may run long after the request and many
   * times, and the request's trace stays short and closed. `"parent"`: each attempt is a child of
   * the enqueuing span, so a short task shows inside the request's own trace.
   */
  readonly trace?: TraceMode | undefined
}

const maxKeyLength = 128
const maxRetryTimes = 1_000

/** A task key: non-empty, not padded, at most 128 characters, storable. */
/** NOTIFY payloads that are not task keys start with these: a key may not (see the listener). */
const reservedPrefixes = [stopRequested, queueSlotFreed, "ping:"]

const TaskKey = Schema.String.annotations({ message: () => "the key is empty" }).pipe(Schema.filter((key) => {
  if (key.trim().length === 0) return "the key is empty"
  if (key !== key.trim()) return "the key has leading or trailing white space"
  if (key.length > maxKeyLength) return `the key is longer than ${maxKeyLength} characters`
  const reserved = reservedPrefixes.find((prefix) => key.startsWith(prefix))
  if (reserved !== undefined) return `the key starts with "${reserved}", which the library's notifications use`
  const text = textProblem(key)
  return text === undefined ? true : `the key ${text}`
}))

/** The policy part of `Options`, checked. */
const Definition = Schema.Struct({
  retry: Schema.optional(Schema.Struct({
    times: Schema.optional(IntegerIn(0, maxRetryTimes, `an integer from 0 to ${maxRetryTimes}`))
  })),
  timeout: Schema.optional(PositiveDuration),
  queue: Schema.optional(QueueName),
  priority: Schema.optional(Priority),
  transactional: Schema.optional(Flag),
  trace: Schema.optional(Schema.Literal("link", "parent").annotations({ message: () => "must be \"link\" or \"parent\"" })),
  keep: Schema.optional(Schema.Struct({
    succeeded: Schema.optional(Retention),
    failed: Schema.optional(Retention),
    canceled: Schema.optional(Retention)
  }))
})

const policyProblem = decodeWith(Definition, (path, message) => `${path.join(".")} ${message}`)

/** What is wrong with a definition (its key, then its options), or undefined when nothing is. */
export const definitionProblem = <A, I, E, C, S, X>(key: string, options: Options<A, I, E, C, S, X>): string | undefined => {
  const keyProblem = problemOf(TaskKey, key)
  if (keyProblem !== undefined) return keyProblem
  if (options === undefined || options.args === undefined) return "options.args (a Schema) is required"
  if (options.error !== undefined && !Schema.isSchema(options.error)) return "options.error must be a Schema"
  for (const name of ["checkpoint", "success"] as const) {
    if (options[name] !== undefined && !Schema.isSchema(options[name])) return `options.${name} must be a Schema`
  }
  if (
    options.context !== undefined &&
    (typeof options.context !== "object" || options.context === null ||
      !Context.isReference(options.context.reference) || !Schema.isSchema(options.context.schema))
  ) return "options.context must hold a Context.Reference (reference) and a Schema (schema)"
  if (options.retry?.while !== undefined && typeof options.retry.while !== "function") return "retry.while must be a function"
  return Either.getLeft(policyProblem(options)).pipe(Option.getOrUndefined)
}

/** A definition's `keep`, decoded (it was checked by `definitionProblem`). */
export const keepOf = (keep: Options<any, any>["keep"]) => {
  const decode = (value: Duration.DurationInput | "forever" | undefined) =>
    value === undefined ? Option.none() : Option.some(value === "forever" ? Duration.infinity : Duration.decode(value))
  return { succeeded: decode(keep?.succeeded), failed: decode(keep?.failed), canceled: decode(keep?.canceled) }
}
