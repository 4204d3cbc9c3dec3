/**
 * A task definition: a key, a Schema for its argument, and its policy (retries, timeout, queue,
 * priority). A definition is a plain immutable value with no handler, so producers and workers
 * import the same one; a handler is attached separately as a Layer (`task.handler(...)`), and
 * the services the handler uses show in that Layer's requirements.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer, Option, Schedule, type Schema, Tracer } from "effect"
import * as definition from "./internal/definition.js"
import * as handlerState from "./internal/handlerState.js"
import { InvalidTaskDefinition, type TaskStoreError, type UndecodableTask } from "./TaskError.js"
import * as TaskRegistry from "./TaskRegistry.js"

/**
 * The brand of task definitions (`isTask`).
 * @since 0.1.0
 * @category models
 */
export const TypeId: unique symbol = Symbol.for("effect-tasks/Task")

/** @since 0.1.0 */
export type TypeId = typeof TypeId

/**
 * How failed attempts are retried. The wait before retry `n` (1-based) is the `n`-th delay of
 * `schedule` (fed the attempt number); retrying stops after `times` retries, or earlier when the
 * schedule itself ends.
 * @since 0.1.0
 * @category models
 */
export interface RetryPolicy<E = unknown> {
  readonly times: number
  readonly schedule: Schedule.Schedule<unknown, number>
  /** Whether a failure of the handler is worth another attempt; one it refuses fails the task at once. */
  readonly while: (error: E) => boolean
}

/**
 * What `Task.make` accepts (each field documented on the interface).
 * @since 0.1.0
 * @category models
 */
export type Options<A, I, E = unknown, C = unknown, S = unknown, X = unknown> = definition.Options<A, I, E, C, S, X>

/**
 * A value that travels from the enqueuing fiber to the handler (the definition's `context`).
 * @since 0.1.0
 * @category models
 */
export type Propagated<X> = definition.Propagated<X>

/**
 * A task definition whose argument has type `A` and is stored as JSON of type `I`, and whose
 * handler fails only with `E` (any error unless the definition declares `error`).
 * @since 0.1.0
 * @category models
 */
export interface Task<A, I = A, E = unknown, C = unknown, S = unknown> {
  readonly [TypeId]: TypeId
  readonly key: string
  readonly args: Schema.Schema<A, I>
  readonly retry: RetryPolicy<E>
  /** `retry.times + 1`. */
  readonly maxAttempts: number
  readonly timeout: Option.Option<Duration.Duration>
  readonly queue: string
  readonly priority: number
  readonly transactional: boolean
  /** What travels from the enqueuing fiber to the handler, when the definition declares `context`. */
  readonly context: Option.Option<Propagated<any>>
  /** How each attempt's span is connected to the span that enqueued the task (`Options.trace`). */
  readonly trace: definition.TraceMode
  /** How long finished tasks are kept, by status, where the definition sets it (infinite: forever). */
  readonly keep: { readonly [Status in "succeeded" | "failed" | "canceled"]: Option.Option<Duration.Duration> }
  /** The result's Schema, when the definition declares one. */
  readonly successSchema: Option.Option<Schema.Schema<S, any>>
  /** The checkpoint's Schema, when the definition declares one. */
  readonly checkpointSchema: Option.Option<Schema.Schema<C, any>>
  /** `Task.checkpoint`, typed: from inside this task's handler, store `state` as its checkpoint. */
  readonly checkpoint: (state: C) => Effect.Effect<void, TaskStoreError>
  /** `Task.lastCheckpoint`, typed: from inside this task's handler, the checkpoint it resumes from. */
  readonly lastCheckpoint: Effect.Effect<Option.Option<C>, UndecodableTask>
  /**
   * Attaches the handler: a Layer that registers it in the `TaskRegistry`. Its requirements are
   * the handler's, so a worker Layer type-checks only when they are provided.
   */
  readonly handler: <R>(
    run: (args: A) => Effect.Effect<S, E, R>
  ) => Layer.Layer<never, InvalidTaskDefinition, TaskRegistry.TaskRegistry | R>
}

/**
 * Any task definition, whatever its argument type.
 * @since 0.1.0
 * @category models
 */
export type Any = Task<any, any, any, any, any>

/**
 * The default policy values.
 * @since 0.1.0
 * @category config
 */
export const defaults = {
  queue: "default",
  priority: 0,
  retryTimes: 0,
  retrySchedule: Schedule.exponential("1 second") as Schedule.Schedule<unknown, number>,
  retryWhile: (_error: unknown): boolean => true
} as const

/**
 * Defines a task. Throws `InvalidTaskDefinition` for an empty key, a key or queue PostgreSQL cannot
 * store (NUL, a lone surrogate) or an invalid option: a bad definition is found when the module
 * loads, never when a task runs.
 *
 * @example
 * ```ts
 * import { Task } from "effect-tasks"
 * import { Effect, Schedule, Schema } from "effect"
 *
 * const SendReceipt = Task.make("send-receipt", {
 *   args: Schema.Struct({ orderId: Schema.Number }),
 *   retry: { times: 5, schedule: Schedule.exponential("1 second") },
 *   timeout: "30 seconds"
 * })
 * const SendReceiptLive = SendReceipt.handler(({ orderId }) => Effect.log(`receipt for ${orderId}`))
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make = <A, I, E = unknown, C = unknown, S = unknown, X = unknown>(
  key: string,
  options: Options<A, I, E, C, S, X>
): Task<A, I, E, C, S> => {
  const reason = definition.definitionProblem(key, options)
  if (reason !== undefined) throw new InvalidTaskDefinition({ key: String(key), reason })
  const times = options.retry?.times ?? defaults.retryTimes
  const self: Task<A, I, E, C, S> = {
    [TypeId]: TypeId,
    key,
    args: options.args,
    retry: {
      times,
      schedule: options.retry?.schedule ?? defaults.retrySchedule,
      while: options.retry?.while ?? defaults.retryWhile
    },
    maxAttempts: times + 1,
    timeout: options.timeout === undefined ? Option.none() : Option.some(Duration.decode(options.timeout)),
    queue: options.queue ?? defaults.queue,
    priority: options.priority ?? defaults.priority,
    transactional: options.transactional ?? false,
    context: Option.fromNullable(options.context),
    trace: options.trace ?? "link",
    keep: definition.keepOf(options.keep),
    successSchema: Option.fromNullable(options.success),
    checkpointSchema: Option.fromNullable(options.checkpoint),
    checkpoint: handlerState.saveCheckpoint,
    lastCheckpoint: handlerState.lastCheckpoint as Effect.Effect<Option.Option<C>, UndecodableTask>,
    handler: <R>(run: (args: A) => Effect.Effect<S, E, R>) =>
      Layer.effectDiscard(Effect.gen(function*() {
        const registry = yield* TaskRegistry.TaskRegistry
        // Without the propagated reference: the value the task carries is the one its handler gets.
        const all = yield* Effect.context<R>()
        const captured: Context.Context<R> = Option.match(self.context, {
          onNone: () => all,
          onSome: ({ reference }) => Context.omit(reference)(all) as Context.Context<R>
        })
        // The attempt's span is current for the handler alone (a step in a span costs the tracer's context).
        yield* registry.register(self, (args, span) =>
          Effect.provide(run(args as A), span === undefined ? captured : Context.add(captured, Tracer.ParentSpan, span)))
      }))
  }
  return self
}

/**
 * Which task and attempt a handler is running.
 * @since 0.1.0
 * @category models
 */
export interface Current {
  readonly id: string
  readonly key: string
  /** 1 on the first attempt. With the id, a natural idempotency key for side effects. */
  readonly attempt: number
  readonly maxAttempts: number
}

/**
 * The task the current fiber runs as a handler, if any. A `Context.Reference`: it never shows in
 * a handler's requirements, and is `None` outside handlers.
 * @since 0.1.0
 * @category services
 */
export class CurrentTask extends Context.Reference<CurrentTask>()("effect-tasks/CurrentTask", {
  defaultValue: (): Option.Option<Current> => Option.none()
}) {}

/**
 * From inside a handler: end this attempt and run the task again after `duration` (at most a
 * year), without counting the attempt or recording an error; children the attempt submitted stay.
 * It ends the attempt by interrupting the handler (its finalizers run), so it is not in the error
 * channel and no `catchAll` can swallow it. Outside a handler it is a defect.
 * (`Task.snooze("30 seconds")` while an export is not ready yet.)
 * @since 0.1.0
 * @category combinators
 */
export const snooze: (duration: Duration.DurationInput) => Effect.Effect<never> = handlerState.snooze

/**
 * From inside a handler: store `state` as the task's checkpoint, encoded with its definition's
 * `checkpoint` Schema and fenced by the attempt's claim (a write of an attempt whose claim was
 * taken away changes nothing). The task's next attempt (after a retry, a stop, a pause, or a rescue
 * from a dead node) starts from it: see `lastCheckpoint`. One update by primary key on the worker's
 * own connections (outside a transactional handler's transaction), cheap enough to call every
 * second. Outside a handler, without a checkpoint Schema, or with a state that does not encode, it
 * is a defect. `task.checkpoint(state)` is the same, typed by the definition.
 * @since 0.1.0
 * @category combinators
 */
export const checkpoint: (state: unknown) => Effect.Effect<void, TaskStoreError> = handlerState.saveCheckpoint

/**
 * From inside a handler: the checkpoint the task stored last, before this attempt began, decoded
 * with its definition's `checkpoint` Schema (`None` when there is none). One that no longer decodes
 * is `UndecodableTask`. `task.lastCheckpoint` is the same, typed by the definition.
 * @since 0.1.0
 * @category combinators
 */
export const lastCheckpoint: Effect.Effect<Option.Option<unknown>, UndecodableTask> = handlerState.lastCheckpoint

/**
 * From inside a handler: report how far the attempt has got (`phase`, a short text, and `fraction`,
 * clamped to 0–1). Stored on the task's row (`progress`), fenced like a checkpoint, and shown by
 * `TaskAdmin.get`; cheap enough to call every second.
 * @since 0.1.0
 * @category combinators
 */
export const progress: (phase: string, fraction: number) => Effect.Effect<void, TaskStoreError> = handlerState.saveProgress

/**
 * Whether a value is a task definition.
 * @since 0.1.0
 * @category guards
 */
export const isTask = (u: unknown): u is Any => typeof u === "object" && u !== null && TypeId in u
