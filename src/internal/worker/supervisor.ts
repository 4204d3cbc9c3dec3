import { Cause, Clock, Effect, Option, Ref, Schedule } from "effect"

/** How one background fiber is doing. */
export interface FiberHealth {
  readonly fiber: string
  /** When its last round succeeded. */
  readonly lastSuccessAt: Option.Option<Date>
  /** Its last failure, cleared by the next success. */
  readonly lastError: Option.Option<string>
}

export type HealthBoard = Ref.Ref<ReadonlyMap<string, FiberHealth>>

export const makeHealthBoard: Effect.Effect<HealthBoard> = Ref.make<ReadonlyMap<string, FiberHealth>>(new Map())

export const report = (board: HealthBoard, fiber: string, change: (previous: FiberHealth) => FiberHealth) =>
  Ref.update(board, (current) => {
    const previous = current.get(fiber) ?? { fiber, lastSuccessAt: Option.none(), lastError: Option.none() }
    return new Map(current).set(fiber, change(previous))
  })

/** Records a success of `fiber` now. */
export const recordSuccess = (board: HealthBoard, fiber: string) =>
  Effect.flatMap(Clock.currentTimeMillis, (now) =>
    report(board, fiber, (previous) => ({ ...previous, lastSuccessAt: Option.some(new Date(now)), lastError: Option.none() })))

/** Records a failure of `fiber`. */
export const recordFailure = (board: HealthBoard, fiber: string, error: string) =>
  report(board, fiber, (previous) => ({ ...previous, lastError: Option.some(error) }))

/**
 * Runs `round` on `schedule`, forever. A failed round (a lost connection, PostgreSQL restarting)
 * is logged and recorded on the board, and the next round simply tries again: a background fiber
 * never dies of a database outage, and resumes by itself when the database returns.
 */
export const superviseEvery = <A, E, R>(
  board: HealthBoard,
  fiber: string,
  schedule: Schedule.Schedule<unknown>,
  round: Effect.Effect<A, E, R>
): Effect.Effect<never, never, R> =>
  round.pipe(
    Effect.flatMap(() => recordSuccess(board, fiber)),
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.failCause(cause)
        : Effect.zipRight(
          recordFailure(board, fiber, Cause.pretty(cause)),
          Effect.logWarning(`${fiber} round failed; trying again`, cause)
        )
    ),
    Effect.schedule(schedule),
    Effect.forever,
    Effect.orDie,
    Effect.annotateLogs({ module: "TaskManager", fiber })
  )
