import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"
import { makeClaimSlots } from "../../src/internal/worker/slots.js"

/** Whether `fiber` has ended by the time every other fiber has had its turn. */
const hasEnded = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) =>
  Effect.zipRight(Effect.repeatN(Effect.yieldNow(), 20), Effect.map(Fiber.poll(fiber), Option.isSome))

describe("claim slots", () => {
  it.scoped("count what is taken and given back; a take waits while too few are free", () =>
    Effect.gen(function*() {
      const slots = yield* makeClaimSlots(3)
      expect(slots.capacity).toBe(3)
      yield* slots.take(2)
      expect(yield* slots.free).toBe(1)
      const waiting = yield* Effect.fork(slots.take(2))
      expect(yield* hasEnded(waiting)).toBe(false)
      yield* slots.release(1)
      yield* Fiber.join(waiting)
      expect(yield* slots.free).toBe(0)
      yield* slots.release(3)
      expect(yield* slots.free).toBe(3)
    }))

  it.scoped("a claimer waiting for a change wakes at a release or a signal, and a change made before it waits is not missed", () =>
    Effect.gen(function*() {
      const slots = yield* makeClaimSlots(2)
      yield* slots.take(2)
      // Changes since the last wait, coalesced: the first wait returns at once, the next one waits.
      yield* slots.release(1)
      yield* slots.signal
      yield* slots.changed
      const afterRelease = yield* Effect.fork(slots.changed)
      expect(yield* hasEnded(afterRelease)).toBe(false)
      yield* slots.release(1)
      yield* Fiber.join(afterRelease)
      const afterSignal = yield* Effect.fork(slots.changed)
      expect(yield* hasEnded(afterSignal)).toBe(false)
      yield* slots.signal
      yield* Fiber.join(afterSignal)
    }))
})
