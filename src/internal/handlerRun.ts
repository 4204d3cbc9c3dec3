import { Effect, Option, ParseResult, Schema } from "effect"
import * as Task from "../Task.js"
import { UndecodableTask } from "../TaskError.js"
import type { Handler } from "../TaskRegistry.js"
import { type Attempt, CurrentAttempt } from "./currentAttempt.js"
import { encodeAll } from "./producer/encode.js"

/**
 * One attempt of a task through its handler, as the worker and the test kit both run it: the
 * stored arguments decoded with the task's Schema (`UndecodableTask` when they no longer decode),
 * then the handler with `Task.CurrentTask` and `CurrentAttempt` provided, wrapped by `timed` (so
 * decoding never counts against the timeout). Succeeds with what the handler returned, encoded with
 * the definition's `success` Schema as JSON text (null without one); a value that does not encode
 * is a defect of the attempt.
 */
export const runHandler = (
  task: Task.Any,
  handler: Handler,
  storedArgs: unknown,
  current: Task.Current,
  attempt: Attempt,
  timed: (run: Effect.Effect<unknown, unknown>) => Effect.Effect<unknown, unknown>
): Effect.Effect<string | null, unknown> =>
  Schema.decodeUnknown(task.args)(storedArgs, { errors: "all" }).pipe(
    Effect.mapError((error) =>
      new UndecodableTask({ id: current.id, key: current.key, issue: ParseResult.TreeFormatter.formatErrorSync(error) })
    ),
    Effect.flatMap((args) =>
      timed(handler(args).pipe(
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
