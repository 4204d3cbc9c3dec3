import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option, TestClock } from "effect"
import { aheadFor, makeHandlerPace } from "../../src/internal/worker/pace.js"

describe("handler pace and the claim-ahead buffer", () => {
  it.effect("the mean follows how long handlers take, on the clock", () =>
    Effect.gen(function*() {
      const pace = yield* makeHandlerPace
      expect(yield* pace.meanMillis).toEqual(Option.none())
      const first = yield* Effect.fork(pace.timed(Effect.sleep("100 millis")))
      yield* TestClock.adjust("100 millis")
      yield* Fiber.join(first)
      expect(yield* pace.meanMillis).toEqual(Option.some(100))
      // A failing handler counts too; later ones move the mean a little at a time.
      const second = yield* Effect.fork(Effect.either(pace.timed(Effect.zipRight(Effect.sleep("300 millis"), Effect.fail("boom")))))
      yield* TestClock.adjust("300 millis")
      yield* Fiber.join(second)
      const mean = Option.getOrThrow(yield* pace.meanMillis)
      expect(mean).toBeGreaterThan(100)
      expect(mean).toBeLessThan(300)
    }))

  it("holds what the handlers start within the window: many short tasks, one long one, within its bounds", () => {
    expect(aheadFor(Option.none(), 4, 32, 20)).toBe(4)
    expect(aheadFor(Option.none(), 50, 32, 20)).toBe(32)
    expect(aheadFor(Option.some(0.05), 4, 32, 20)).toBe(32)
    expect(aheadFor(Option.some(10), 4, 32, 20)).toBe(8)
    expect(aheadFor(Option.some(1_000), 4, 32, 20)).toBe(1)
    expect(aheadFor(Option.some(0), 1, 32, 20)).toBe(32)
    expect(aheadFor(Option.some(5), 4, 0, 20)).toBe(0)
  })
})
