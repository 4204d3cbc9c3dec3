/**
 * Unit-testing an application's tasks with TaskTest: no database, no worker, the TestClock of
 * @effect/vitest's it.effect. Run it with the project's tests (`npm test`), or alone:
 *
 *   npx vitest run examples/receipt.test.ts
 *
 * The README's "Testing your tasks" shows the regions below.
 */
// #region app
import { Context, Data, Effect, Schedule, Schema } from "effect"
import { Task, Tasks } from "effect-tasks"

// The application: placing an order enqueues its receipt; the receipt's handler sends a mail.
class MailError extends Data.TaggedError("MailError")<{ readonly reason: string }> {}

class Mailer extends Context.Tag("Mailer")<Mailer, {
  readonly send: (to: string, text: string) => Effect.Effect<void, MailError>
}>() {}

export const SendReceipt = Task.make("send-receipt", {
  args: Schema.Struct({ orderId: Schema.Number, email: Schema.String }),
  retry: { times: 5, schedule: Schedule.exponential("1 second") } // 1 s, 2 s, 4 s, ...
})

export const SendReceiptLive = SendReceipt.handler(({ email, orderId }) =>
  Effect.flatMap(Mailer, (mailer) => mailer.send(email, `Receipt for order ${orderId}`))
)

export const placeOrder = (orderId: number, email: string) =>
  Effect.gen(function*() {
    // ... the order's own rows, in the same sql.withTransaction in a real application
    yield* Tasks.run(SendReceipt, { orderId, email })
  })
// #endregion

// #region test
import { expect, it } from "@effect/vitest"
import { Clock, Layer, Ref } from "effect"
import { TaskTest } from "effect-tasks"

/** A mail server that is down for the first `failures` calls, and records what it sent. */
const flakyMailer = (failures: number) =>
  Effect.gen(function*() {
    const calls = yield* Ref.make(0)
    const sent = yield* Ref.make<ReadonlyArray<string>>([])
    const mailer = Mailer.of({
      send: (to, text) =>
        Ref.updateAndGet(calls, (n) => n + 1).pipe(
          Effect.filterOrFail((n) => n > failures, () => new MailError({ reason: "server down" })),
          Effect.zipRight(Effect.flatMap(Clock.currentTimeMillis, (now) => Ref.update(sent, (all) => [...all, `${to} at ${now} ms: ${text}`])))
        )
    })
    return { mailer, sent }
  })

it.effect("placing an order enqueues its receipt, which is sent after two failed attempts", () =>
  Effect.gen(function*() {
    const { mailer, sent } = yield* flakyMailer(2)
    const live = Layer.provideMerge(SendReceiptLive.pipe(Layer.provide(Layer.succeed(Mailer, mailer))), TaskTest.layer)
    yield* Effect.gen(function*() {
      yield* placeOrder(42, "ada@example.com")
      const [enqueued] = yield* TaskTest.enqueued(SendReceipt)
      expect(enqueued).toMatchObject({ args: { orderId: 42, email: "ada@example.com" }, status: "initialized" })

      yield* TaskTest.drain // runs the handler, and its retries 1 s and 2 s later on the TestClock

      const [receipt] = yield* TaskTest.enqueued(SendReceipt)
      expect(receipt).toMatchObject({ status: "succeeded", attempt: 3 })
      expect(receipt!.errors).toHaveLength(2)
      expect(yield* Ref.get(sent)).toEqual(["ada@example.com at 3000 ms: Receipt for order 42"])
    }).pipe(Effect.provide(live))
  }))
// #endregion
