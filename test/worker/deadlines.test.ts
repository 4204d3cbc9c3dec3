import { describe, expect, it } from "@effect/vitest"
import { Cause, Deferred, Duration, Effect, Exit, Fiber, Option, TestClock } from "effect"
import { makeDeadlines } from "../../src/internal/worker/deadlines.js"

/** Lets every other fiber run. */
const settle = Effect.repeatN(Effect.yieldNow(), 20)

describe("deadlines", () => {
  it.scoped("a handler past its deadline is interrupted in its own fiber, as the deadlines' interruptor, and its finalizers run", () =>
    Effect.gen(function*() {
      const deadlines = yield* makeDeadlines
      let due = 0
      const finalized = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(
        deadlines.within(Effect.never.pipe(Effect.onInterrupt(() => Deferred.succeed(finalized, undefined))), Duration.seconds(5), () => {
          due++
        })
      )
      yield* settle
      yield* TestClock.adjust("4999 millis")
      yield* settle
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 millis")
      const exit = yield* Fiber.await(fiber)
      expect(due).toBe(1)
      expect(yield* Deferred.isDone(finalized)).toBe(true)
      expect(Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)).toBe(true)
      expect(Exit.isFailure(exit) && Array.from(Cause.interruptors(exit.cause))).toEqual([deadlines.interruptor])
    }))

  it.scoped("a handler that ends in time is left alone; a shorter deadline set while the watcher waits for a longer one still fires on time", () =>
    Effect.gen(function*() {
      const deadlines = yield* makeDeadlines
      let due = 0
      const onDue = () => {
        due++
      }
      expect(yield* deadlines.within(Effect.succeed(1), Duration.seconds(1), onDue)).toBe(1)
      const long = yield* Effect.fork(deadlines.within(Effect.never, Duration.minutes(30), onDue))
      yield* settle
      const short = yield* Effect.fork(deadlines.within(Effect.never, Duration.seconds(2), onDue))
      yield* settle
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.await(short)
      expect(due).toBe(1)
      expect(Option.isNone(yield* Fiber.poll(long))).toBe(true)
      yield* TestClock.adjust("1 second")
      yield* settle
      // The first deadline, long past, never fired for the handler that ended in time.
      expect(due).toBe(1)
      yield* Fiber.interrupt(long)
    }))
})
