import { Effect, Option, ParseResult, Schema, type Tracer } from "effect"
import * as Task from "../Task.js"
import { UndecodableTask } from "../TaskError.js"
import type { Handler } from "../TaskRegistry.js"
import { type Attempt, CurrentAttempt } from "./currentAttempt.js"
import { encodeAll } from "./producer/encode.js"

/** What a task row stores for its handler: its encoded arguments and propagated context (null: none). */
export interface Stored {
  readonly args: unknown
  readonly context: unknown
}

const undecodable = (current: Task.Current, what: string) => (error: ParseResult.ParseError) =>
  new UndecodableTask({ id: current.id, key: current.key, issue: `${what}${ParseResult.TreeFormatter.formatErrorSync(error)}` })

/**
 * The handler with the definition's propagated context provided, as the task stored it (none stored:
 * the reference keeps its default).
 */
const withContext = (task: Task.Any, stored: unknown, current: Task.Current) =>
<A, E, R>(handler: Effect.Effect<A, E, R>): Effect.Effect<A, E | UndecodableTask, R> => {
  if (Option.isNone(task.context) || stored === null || stored === undefined) return handler
  const { reference, schema } = task.context.value
  return Schema.decodeUnknown(schema)(stored, { errors: "all" }).pipe(
    Effect.mapError(undecodable(current, "its propagated context: ")),
    Effect.flatMap((value) => Effect.provideService(handler, reference, value))
  )
}

/**
 * One attempt of a task through its handler, as the worker and the test kit both run it: the
 * stored arguments (and propagated context) decoded with the task's Schemas (`UndecodableTask`
 * when they no longer decode), then the handler with `Task.CurrentTask`, `CurrentAttempt` and the
 * context provided, wrapped by `timed` (so decoding never counts against the timeout). Succeeds
 * with what the handler returned, encoded with the definition's `success` Schema as JSON text (null
 * without one); a value that does not encode is a defect of the attempt.
 */
export const runHandler = (
  task: Task.Any,
  handler: Handler,
  stored: Stored,
  current: Task.Current,
  attempt: Attempt,
  timed: (run: Effect.Effect<unknown, unknown>) => Effect.Effect<unknown, unknown>,
  /** The attempt's span, current while the handler alone runs (the worker's). */
  span?: Tracer.AnySpan
): Effect.Effect<string | null, unknown> =>
  Schema.decodeUnknown(task.args)(stored.args, { errors: "all" }).pipe(
    Effect.mapError(undecodable(current, "")),
    Effect.flatMap((args) =>
      timed(handler(args, span).pipe(
        withContext(task, stored.context, current),
        Effect.provideService(Task.CurrentTask, Option.some(current)),
        Effect.provideService(CurrentAttempt, Option.some(attempt))
      ))
    ),
    Effect.flatMap((value) =>
      Option.match(task.successSchema, {
        onNone: () => Effect.succeed(null),
        onSome: (schema) =>
          encodeAll({ key: task.key, schema }, [value]).pipe(
            Effect.map(([json]) => json!),
            Effect.orDieWith((error) => new Error(`the result of task "${task.key}" cannot be stored: ${error.issue}`))
          )
      })
    )
  )
