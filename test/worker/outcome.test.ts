import { describe, expect, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, FiberId, Option, Schedule, TestClock } from "effect"
import * as outcome from "../../src/internal/worker/outcome.js"
import { TaskTimeout, UndecodableTask } from "../../src/TaskError.js"

const claim = (attempt: number, maxAttempts: number) => ({
  id: "1",
  key: "k",
  queue: "default",
  args: {},
  attempt,
  maxAttempts,
  claimToken: "00000000-0000-0000-0000-000000000000",
  rootId: null
})

const delays = (schedule: Schedule.Schedule<unknown, number>, retries: number) =>
  Effect.forEach(
    Array.from({ length: retries }, (_, index) => index + 1),
    (retry) => Effect.map(outcome.retryDelay(schedule, retry), Option.map(Duration.toMillis))
  )

describe("retry delays", () => {
  it.effect("follow the task's Schedule, attempt by attempt", () =>
    Effect.gen(function*() {
      yield* TestClock.adjust("1 hour")
      expect(yield* delays(Schedule.exponential("1 second"), 5)).toEqual(
        [1000, 2000, 4000, 8000, 16000].map(Option.some)
      )
      expect(yield* delays(Schedule.spaced("250 millis"), 3)).toEqual([250, 250, 250].map(Option.some))
    }))

  it.effect("stop when the Schedule ends, even if retries are left", () =>
    Effect.gen(function*() {
      const twice = Schedule.exponential("1 second").pipe(Schedule.intersect(Schedule.recurs(2)))
      expect(yield* delays(twice, 3)).toEqual([Option.some(1000), Option.some(2000), Option.none()])
    }))

  it.effect("are capped by the Schedule's own combinators", () =>
    Effect.gen(function*() {
      const capped = Schedule.exponential("1 second").pipe(Schedule.union(Schedule.spaced("3 seconds")))
      expect(yield* delays(capped, 4)).toEqual([1000, 2000, 3000, 3000].map(Option.some))
    }))
})

describe("decide", () => {
  const oneSecond = Option.some(Duration.seconds(1))

  it("a success ends the task", () => {
    expect(outcome.decide(claim(1, 3), Exit.succeed(`{"sent":true}`), oneSecond, false)).toEqual({ _tag: "Succeeded", result: `{"sent":true}` })
    expect(outcome.decide(claim(1, 3), Exit.succeed(null), oneSecond, false)).toEqual({ _tag: "Succeeded", result: null })
  })

  it("a failure with attempts left is retried after the schedule's delay, with the cause recorded", () => {
    const decided = outcome.decide(claim(1, 3), Exit.fail(new Error("smtp down")), oneSecond, false)
    expect(decided._tag).toBe("Retry")
    if (decided._tag !== "Retry") return
    expect(Duration.toMillis(decided.delay)).toBe(1000)
    expect(decided.error).toContain("attempt 1/3")
    expect(decided.error).toContain("smtp down")
  })

  it("a timeout is a failed attempt like any other", () => {
    const timedOut = Exit.fail(new TaskTimeout({ id: "1", key: "k", timeout: Duration.millis(50) }))
    expect(outcome.decide(claim(1, 2), timedOut, oneSecond, false)._tag).toBe("Retry")
    expect(outcome.decide(claim(2, 2), timedOut, oneSecond, false)._tag).toBe("Failed")
  })

  it("a defect is a failed attempt, not a crash", () => {
    const decided = outcome.decide(claim(3, 3), Exit.die(new Error("boom")), oneSecond, false)
    expect(decided).toMatchObject({ _tag: "Failed" })
    expect(decided._tag === "Failed" && decided.error).toContain("boom")
  })

  it("the last attempt, or an exhausted schedule, fails the task", () => {
    expect(outcome.decide(claim(3, 3), Exit.fail("x"), oneSecond, false)._tag).toBe("Failed")
    expect(outcome.decide(claim(1, 3), Exit.fail("x"), Option.none(), false)._tag).toBe("Failed")
  })

  it("arguments that no longer decode fail at once, without retries", () => {
    const undecodable = Exit.fail(new UndecodableTask({ id: "1", key: "k", issue: "bad" }))
    expect(outcome.decide(claim(1, 5), undecodable, oneSecond, false)._tag).toBe("Failed")
  })

  it("an interruption (a stopping worker) hands the task back without counting the attempt", () => {
    const decided = outcome.decide(claim(2, 5), Exit.failCause(Cause.interrupt(FiberId.none)), oneSecond, true)
    expect(decided).toEqual({ _tag: "Released" })
    expect(outcome.toFinish(claim(2, 5), decided)).toMatchObject({ status: "initialized", countsAsAttempt: false })
  })

  it("a handler that interrupts itself has failed its attempt: counted and retried, never released", () => {
    const selfInterrupted = Exit.failCause(Cause.interrupt(FiberId.none))
    expect(outcome.decide(claim(1, 3), selfInterrupted, oneSecond, false)._tag).toBe("Retry")
    expect(outcome.decide(claim(3, 3), selfInterrupted, oneSecond, false)._tag).toBe("Failed")
  })

  it("a snooze runs the task again after its delay, not counted and with no error", () => {
    // Task.snooze records its delay, then interrupts the handler: a snooze even on the last attempt, even while stopping.
    const interrupted = Exit.failCause(Cause.interrupt(FiberId.none))
    const snoozed = Option.some(Duration.millis(250))
    expect(outcome.decide(claim(2, 2), interrupted, oneSecond, true, snoozed)).toEqual({ _tag: "Snoozed", delay: Duration.millis(250) })
    // A snooze requested, but the handler then failed anyway: the failure counts.
    expect(outcome.decide(claim(1, 2), Exit.fail("x"), oneSecond, false, snoozed)._tag).toBe("Retry")
    const decided = outcome.decide(claim(2, 2), interrupted, oneSecond, false, snoozed)
    expect(decided).toEqual({ _tag: "Snoozed", delay: Duration.millis(250) })
    expect(outcome.toFinish(claim(2, 2), decided)).toMatchObject({
      status: "initialized",
      delayMillis: 250,
      error: null,
      countsAsAttempt: false
    })
  })

  it("an error message with a NUL character is stored without it", () => {
    const decided = outcome.decide(claim(3, 3), Exit.fail(new Error("bad\u0000byte")), oneSecond, false)
    expect(decided._tag === "Failed" && decided.error).not.toContain("\u0000")
  })
})

describe("retryAfter", () => {
  const policy = { schedule: Schedule.spaced("1 second"), while: (error: { readonly permanent: boolean }) => !error.permanent }

  it.effect("asks the policy's while about the handler's own failures only", () =>
    Effect.gen(function*() {
      const after = (cause: Cause.Cause<unknown>) => Effect.map(outcome.retryAfter(policy, 1, cause), Option.map(Duration.toMillis))
      expect(yield* after(Cause.fail({ permanent: false }))).toEqual(Option.some(1000))
      expect(yield* after(Cause.fail({ permanent: true }))).toEqual(Option.none())
      // Timeouts and defects are retried while attempts are left, whatever `while` says.
      const refuseAll = { ...policy, while: () => false }
      const timedOut = Cause.fail(new TaskTimeout({ id: "1", key: "k", timeout: Duration.seconds(1) }))
      expect(yield* Effect.map(outcome.retryAfter(refuseAll, 1, timedOut), Option.isSome)).toBe(true)
      expect(yield* Effect.map(outcome.retryAfter(refuseAll, 1, Cause.die(new Error("boom"))), Option.isSome)).toBe(true)
    }))
})
