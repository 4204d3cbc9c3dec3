import { expect, layer } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Fiber, Option, Ref, Schema, TestClock, TestContext, Tracer } from "effect"
import { makeCompleter, maxLinks } from "../../src/internal/worker/completer.js"
import { makeSpanMaker } from "../../src/internal/observability/spans.js"
import * as TaskStatus from "../../src/TaskStatus.js"
import { Task, Tasks, TaskError } from "../../src/index.js"
import { inSchema, PgTest } from "../support/database.js"
import { claimRequest, migratedSchema } from "../support/worker.js"
import type { Finish } from "../../src/internal/store/finish.js"
import type { Store } from "../../src/internal/store/store.js"
import type { ClaimedTask } from "../../src/internal/store/taskRow.js"

const Job = Task.make("job", { args: Schema.Struct({ n: Schema.Number }) })

/** A migrated schema with `count` claimed Jobs, and a store that counts its finish statements. */
const claimed = (count: number) =>
  Effect.gen(function*() {
    const { schema, store } = yield* migratedSchema
    yield* Tasks.runMany(Job, Array.from({ length: count }, (_, n) => ({ n }))).pipe(inSchema(schema))
    const claims = yield* store.claim(claimRequest("completer-test", [Job.key], count))
    const statements = yield* Ref.make<ReadonlyArray<number>>([])
    const counting: Store = {
      ...store,
      finishIfClaimed: (finishes) =>
        Effect.zipRight(Ref.update(statements, (all) => [...all, finishes.length]), store.finishIfClaimed(finishes))
    }
    const succeeded = (claim: ClaimedTask): Finish => ({
      id: claim.id,
      claimToken: claim.claimToken,
      status: TaskStatus.succeeded,
      delayMillis: 0,
      error: null,
      countsAsAttempt: true,
      keepsChildren: true, result: null
    })
    return { store, counting, claims, statements, succeeded }
  })

layer(PgTest, { excludeTestServices: true })("completer", (it) => {
  it.scoped("ends that arrive together share a statement; each caller learns whether its own end applied, and the status it left", () =>
    Effect.gen(function*() {
      const { claims, counting, statements, store, succeeded } = yield* claimed(20)
      expect(claims).toHaveLength(20)
      const completer = yield* makeCompleter({ store: counting, maxBatch: 50, delay: Duration.zero, spans: undefined })
      // One end with a token that is not the claim's: stale, refused alone.
      const stale = { ...succeeded(claims[0]!), claimToken: "00000000-0000-0000-0000-000000000000" }
      const applied = yield* Effect.forEach([stale, ...claims.slice(1).map(succeeded)], (finish) => completer.complete(finish), {
        concurrency: "unbounded"
      })
      expect(applied).toEqual([null, ...claims.slice(1).map(() => TaskStatus.succeeded)])
      const sizes = yield* Ref.get(statements)
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(20)
      expect(sizes.length).toBeLessThan(20)
      const rows = yield* store.getMany(claims.map((claim) => claim.id))
      expect(rows.map((row) => row.status)).toEqual([TaskStatus.running, ...claims.slice(1).map(() => TaskStatus.succeeded)])
    }))

  it.scoped("an end waits for no other: alone, it is written at once, and batches never exceed maxBatch", () =>
    Effect.gen(function*() {
      const { claims, counting, statements, succeeded } = yield* claimed(12)
      const completer = yield* makeCompleter({ store: counting, maxBatch: 5, delay: Duration.zero, spans: undefined })
      expect(yield* completer.complete(succeeded(claims[0]!))).toBe(TaskStatus.succeeded)
      expect(yield* Ref.get(statements)).toEqual([1])
      yield* Effect.forEach(claims.slice(1).map(succeeded), (finish) => completer.complete(finish), { concurrency: "unbounded" })
      const sizes = yield* Ref.get(statements)
      expect(sizes.every((size) => size <= 5)).toBe(true)
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(12)
    }))

  it.scoped("a statement that fails fails every end of its batch, and the next batch is written", () =>
    Effect.gen(function*() {
      const { claims, store, succeeded } = yield* claimed(3)
      const failOnce = yield* Ref.make(true)
      const gate = yield* Deferred.make<void>()
      const flaky: Store = {
        ...store,
        finishIfClaimed: (finishes) =>
          Effect.flatMap(Ref.getAndSet(failOnce, false), (fails) =>
            fails
              ? Effect.zipRight(
                Deferred.await(gate),
                Effect.fail(new TaskError.TaskStoreError({ operation: "finish", cause: new Error("connection lost") }))
              )
              : store.finishIfClaimed(finishes))
      }
      const completer = yield* makeCompleter({ store: flaky, maxBatch: 10, delay: Duration.zero, spans: undefined })
      const first = yield* Effect.fork(Effect.either(completer.complete(succeeded(claims[0]!))))
      yield* Deferred.succeed(gate, undefined)
      const failed = yield* first.await
      expect(failed._tag === "Success" && failed.value._tag).toBe("Left")
      expect(yield* completer.complete(succeeded(claims[0]!))).toBe(TaskStatus.succeeded)
      expect(yield* completer.complete(succeeded(claims[1]!))).toBe(TaskStatus.succeeded)
    }))
  it.scoped("with a delay, ends wait until the first has waited that long, then share one statement; a full batch goes at once", () =>
    Effect.gen(function*() {
      const { claims, counting, statements, store, succeeded } = yield* claimed(8)
      const completer = yield* makeCompleter({ store: counting, maxBatch: 5, delay: Duration.millis(200), spans: undefined })
      const first = yield* Effect.fork(
        Effect.forEach(claims.slice(0, 3).map(succeeded), (finish) => completer.complete(finish), { concurrency: "unbounded" })
      )
      // The writer holds the batch open on the (test) clock.
      while ((yield* TestClock.sleeps()).length === 0) yield* Effect.yieldNow()
      yield* TestClock.adjust("150 millis")
      expect(yield* Ref.get(statements)).toEqual([])
      const rows = yield* store.getMany(claims.slice(0, 3).map((claim) => claim.id))
      expect(rows.map((row) => row.status)).toEqual([TaskStatus.running, TaskStatus.running, TaskStatus.running])
      yield* TestClock.adjust("50 millis")
      expect(yield* Fiber.join(first)).toEqual([TaskStatus.succeeded, TaskStatus.succeeded, TaskStatus.succeeded])
      expect(yield* Ref.get(statements)).toEqual([3])
      // maxBatch ends waiting: written without waiting for the clock.
      const full = yield* Effect.forEach(claims.slice(3).map(succeeded), (finish) => completer.complete(finish), { concurrency: "unbounded" })
      expect(full).toEqual(Array(5).fill(TaskStatus.succeeded))
      expect(yield* Ref.get(statements)).toEqual([3, 5])
    }).pipe(Effect.provide(TestContext.TestContext)))

  it.scoped("with a tracer: each statement is a settle span, the attempt's child for one end, else linked to each (at most 128 per span); the statement records no span; a failed one is an error", () =>
    Effect.gen(function*() {
      // Two ends alone, then a statement of two full spans' worth and one more (with the inherited
      // link below, a span has room for maxLinks - 1 attempts).
      const { claims, store, succeeded } = yield* claimed(2 + 2 * (maxLinks - 1) + 1)
      const spans: Array<{ readonly name: string; readonly parent: string | undefined; readonly links: ReadonlyArray<string>; readonly span: Tracer.Span }> = []
      const base = yield* Effect.tracer
      const tracer = Tracer.make({
        span: (name, parent, context, links, startTime, kind, options) => {
          const span = base.span(name, parent, context, links, startTime, kind, options)
          spans.push({ name, parent: Option.getOrUndefined(parent)?.spanId, links: links.map((link) => link.span.spanId), span })
          return span
        },
        context: base.context
      })
      // The second statement waits for the gate; the third fails.
      const gate = yield* Deferred.make<void>()
      const calls = yield* Ref.make(0)
      const gated: Store = {
        ...store,
        finishIfClaimed: (finishes) =>
          Effect.flatMap(Ref.getAndUpdate(calls, (n) => n + 1), (call) =>
            call === 1
              ? Effect.zipRight(Deferred.await(gate), store.finishIfClaimed(finishes))
              : call === 2
              ? Effect.fail(new TaskError.TaskStoreError({ operation: "finish", cause: new Error("connection lost") }))
              : store.finishIfClaimed(finishes))
      }
      // Made where the tracer is the fiber's own (as where an application starts the manager): the
      // writer's statements would record spans with it, were it not untraced. A link in effect
      // there is on every span, and counts against the limit.
      const inherited = Tracer.externalSpan({ traceId: "b".repeat(32), spanId: "c".repeat(16), sampled: true })
      const maker = yield* makeSpanMaker(tracer).pipe(Effect.linkSpans(inherited))
      const completer = yield* makeCompleter({ store: gated, maxBatch: 1000, delay: Duration.zero, spans: maker }).pipe(
        Effect.withTracer(tracer)
      )
      const processOf = (claim: ClaimedTask) =>
        Tracer.externalSpan({ traceId: "a".repeat(32), spanId: claim.id.padStart(16, "0"), sampled: true })
      const end = (claim: ClaimedTask) =>
        completer.complete(succeeded(claim), { span: processOf(claim), id: claim.id, queue: "default", end: "succeed" })

      // One end alone: its statement's span is the attempt's child.
      expect(yield* end(claims[0]!)).toBe(TaskStatus.succeeded)
      expect(spans.map(({ links, name, parent }) => ({ name, parent, links }))).toEqual([
        { name: "settle default", parent: processOf(claims[0]!).spanId, links: [inherited.spanId] }
      ])
      expect(spans[0]!.span.attributes.get("messaging.message.id")).toBe(claims[0]!.id)
      expect(spans[0]!.span.attributes.get("messaging.operation.name")).toBe("succeed")

      // One end held at the gate while the others queue: they share the next statement, in three
      // spans, each a batch's (the last too, with the one end left over).
      const held = yield* Effect.fork(end(claims[1]!))
      const offered = yield* Ref.make(0)
      const rest = claims.slice(2)
      const others = yield* Effect.fork(Effect.forEach(rest, (claim) => Effect.zipRight(Ref.update(offered, (n) => n + 1), end(claim)), {
        concurrency: "unbounded"
      }))
      while ((yield* Ref.get(offered)) < rest.length) yield* Effect.yieldNow()
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.join(held)).toBe(TaskStatus.succeeded)
      // The shared statement was the third: it failed, every span of it with it.
      expect(Exit.isFailure(yield* Fiber.await(others))).toBe(true)
      const shared = spans.slice(2)
      expect(shared.map((span) => span.links.length).sort((a, b) => b - a)).toEqual([maxLinks, maxLinks, 2])
      for (const { links, parent, span } of shared) {
        expect(parent).toBeUndefined()
        expect(links[0]).toBe(inherited.spanId)
        expect(span.attributes.get("messaging.batch.message_count")).toBe(span.links.length - 1)
        expect(span.status._tag === "Ended" && Exit.isFailure(span.status.exit)).toBe(true)
      }
      expect(new Set(shared.flatMap((span) => span.links.slice(1)))).toEqual(new Set(rest.map((claim) => processOf(claim).spanId)))
      // No statement span anywhere: the manager's own writes record none.
      expect(spans.every((span) => span.name.startsWith("settle"))).toBe(true)
    }))
})
