import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Option, TestClock } from "effect"
import { makeDueSoon, maxKept } from "../../src/internal/worker/dueSoon.js"
import { monotonicMillis } from "../../src/internal/monotonic.js"

describe("dueSoon", () => {
  it.effect("keeps every due time recorded, signals only a new earliest, and forgets each once it has fallen due", () =>
    Effect.gen(function*() {
      const dueSoon = yield* makeDueSoon(Duration.millis(10))
      const start = yield* monotonicMillis
      expect(yield* dueSoon.earliest).toEqual(Option.none())
      yield* dueSoon.record(Duration.seconds(2))
      expect(yield* dueSoon.earliest).toEqual(Option.some(start + 2010))
      yield* dueSoon.changed // the first record signalled
      const signal = yield* Effect.fork(dueSoon.changed)
      yield* dueSoon.record(Duration.seconds(3)) // later: kept, no signal
      expect(yield* dueSoon.earliest).toEqual(Option.some(start + 2010))
      yield* Effect.yieldNow()
      expect(Option.isNone(yield* Fiber.poll(signal))).toBe(true)
      yield* dueSoon.record(Duration.seconds(1))
      yield* Fiber.join(signal)
      expect(yield* dueSoon.earliest).toEqual(Option.some(start + 1010))
      yield* dueSoon.clearPast
      expect(yield* dueSoon.earliest).toEqual(Option.some(start + 1010))
      // Each moment in turn: a later one is not forgotten when an earlier one falls due (a claim at
      // the earlier moment may come too soon for the later task, and the next look-up of the
      // database, too late to see it as not yet due).
      yield* TestClock.adjust("1010 millis")
      yield* dueSoon.clearPast
      expect(yield* dueSoon.earliest).toEqual(Option.some(start + 2010))
      yield* TestClock.adjust("1 second")
      yield* dueSoon.clearPast
      expect(yield* dueSoon.earliest).toEqual(Option.some(start + 3010))
      yield* TestClock.adjust("1 second")
      yield* dueSoon.clearPast
      expect(yield* dueSoon.earliest).toEqual(Option.none())
    }))

  it.effect("moments past are dropped when one is recorded: a claimer busy with full batches never fills the room with them", () =>
    Effect.gen(function*() {
      const dueSoon = yield* makeDueSoon(Duration.zero)
      for (let i = 0; i < maxKept; i++) yield* dueSoon.record(Duration.seconds(1))
      yield* TestClock.adjust("2 seconds")
      const start = yield* monotonicMillis
      yield* dueSoon.record(Duration.seconds(5))
      expect(yield* dueSoon.earliest).toEqual(Option.some(start + 5000))
    }))
})
