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

  it.scoped("an armed claimer wakes at a release or a signal, also one made between arming and waiting; unarmed, changes are not kept", () =>
    Effect.gen(function*() {
      const slots = yield* makeClaimSlots(2)
      yield* slots.take(2)
      // Nobody armed: forgotten.
      yield* slots.release(1)
      yield* slots.signal
      yield* slots.arm
      const unarmed = yield* Effect.fork(slots.changed)
      expect(yield* hasEnded(unarmed)).toBe(false)
      yield* slots.release(1)
      yield* Fiber.join(unarmed)
      // A change after arming, before waiting: the wait returns at once.
      yield* slots.arm
      yield* slots.signal
      yield* slots.changed
      yield* slots.arm
      const afterSignal = yield* Effect.fork(slots.changed)
      expect(yield* hasEnded(afterSignal)).toBe(false)
      yield* slots.signal
      yield* Fiber.join(afterSignal)
      yield* slots.disarm
    }))
})
