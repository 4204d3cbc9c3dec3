import { Effect, Option, ParseResult, Schema } from "effect"
import * as Task from "../Task.js"
import { UndecodableTask } from "../TaskError.js"
import type { Handler } from "../TaskRegistry.js"
import { type Attempt, CurrentAttempt } from "./currentAttempt.js"

/**
 * One attempt of a task through its handler, as the worker and the test kit both run it: the
 * stored arguments decoded with the task's Schema (`UndecodableTask` when they no longer decode),
 * then the handler with `Task.CurrentTask` and `CurrentAttempt` provided, wrapped by `timed` (so
 * decoding never counts against the timeout).
 */
export const runHandler = (
  task: Task.Any,
  handler: Handler,
  storedArgs: unknown,
  current: Task.Current,
  attempt: Attempt,
  timed: (run: Effect.Effect<unknown, unknown>) => Effect.Effect<unknown, unknown>
): Effect.Effect<unknown, unknown> =>
  Schema.decodeUnknown(task.args)(storedArgs, { errors: "all" }).pipe(
    Effect.mapError((error) =>
      new UndecodableTask({ id: current.id, key: current.key, issue: ParseResult.TreeFormatter.formatErrorSync(error) })
    ),
    Effect.flatMap((args) =>
      timed(handler(args).pipe(
        Effect.provideService(Task.CurrentTask, Option.some(current)),
        Effect.provideService(CurrentAttempt, Option.some(attempt))
      ))
    )
  )
