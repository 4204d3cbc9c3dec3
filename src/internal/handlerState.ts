import { Duration, Effect, Option, ParseResult, Schema } from "effect"
import { type TaskStoreError, UndecodableTask } from "../TaskError.js"
import { type Attempt, CurrentAttempt } from "./currentAttempt.js"
import { encodeAll } from "./producer/encode.js"
import { textProblem } from "./validation.js"

/** The running attempt, or a defect naming the call made outside a handler. */
const inHandler = (call: string): Effect.Effect<Attempt> =>
  Effect.flatMap(CurrentAttempt, Option.match({
    onNone: () => Effect.dieMessage(`${call} is about the running attempt: call it inside a task handler`),
    onSome: Effect.succeed
  }))

/** A snooze longer than a year is taken as a year (an infinite one would not fit in a timestamp). */
const maxSnoozeMillis = 365 * 24 * 60 * 60 * 1000

/** See `Task.snooze`. */
export const snooze = (duration: Duration.DurationInput): Effect.Effect<never> =>
  Effect.flatMap(inHandler("Task.snooze"), ({ end }) => {
    const millis = Math.min(Math.max(0, Duration.toMillis(Duration.decode(duration))), maxSnoozeMillis)
    return Effect.zipRight(Effect.sync(() => void (end.snoozedFor = Duration.millis(millis))), Effect.interrupt)
  })

/** See `Task.checkpoint`: encoded with the running task's checkpoint Schema, stored fenced by its claim. */
export const saveCheckpoint = (state: unknown): Effect.Effect<void, TaskStoreError> =>
  Effect.flatMap(inHandler("Task.checkpoint"), (attempt) =>
    Option.match(attempt.task.checkpointSchema, {
      onNone: () => Effect.dieMessage(`task "${attempt.task.key}" declares no checkpoint Schema (Task.make(key, { checkpoint }))`),
      onSome: (schema) =>
        encodeAll({ key: attempt.task.key, schema }, [state]).pipe(
          Effect.orDieWith((error) => new Error(`the checkpoint of task "${attempt.task.key}" cannot be stored: ${error.issue}`)),
          Effect.flatMap(([json]) => attempt.save({ checkpoint: json!, progress: null }))
        )
    }))

/** See `Task.lastCheckpoint`: the checkpoint the running attempt started from, decoded. */
export const lastCheckpoint: Effect.Effect<Option.Option<unknown>, UndecodableTask> = Effect.flatMap(
  inHandler("Task.lastCheckpoint"),
  (attempt) =>
    attempt.checkpoint === null || Option.isNone(attempt.task.checkpointSchema)
      ? Effect.succeedNone
      : Schema.decodeUnknown(attempt.task.checkpointSchema.value)(attempt.checkpoint, { errors: "all" }).pipe(
        Effect.mapBoth({
          onFailure: (error) =>
            new UndecodableTask({
              id: attempt.id,
              key: attempt.task.key,
              issue: `its checkpoint no longer decodes:\n${ParseResult.TreeFormatter.formatErrorSync(error)}`
            }),
          onSuccess: Option.some
        })
      )
)

/** See `Task.progress`: a phase (at most 200 characters) and a fraction clamped to 0–1. */
export const saveProgress = (phase: string, fraction: number): Effect.Effect<void, TaskStoreError> =>
  Effect.flatMap(inHandler("Task.progress"), (attempt) => {
    const problem = typeof phase !== "string" || phase.length > 200 ? "must be a string of at most 200 characters" : textProblem(phase)
    if (problem !== undefined) return Effect.dieMessage(`Task.progress: the phase ${problem}`)
    const clamped = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0
    return attempt.save({ checkpoint: null, progress: JSON.stringify({ phase, fraction: clamped }) })
  })
