import { expect, layer } from "@effect/vitest"
import { Deferred, Effect, Ref, Schema } from "effect"
import { makeCompleter } from "../../src/internal/worker/completer.js"
import * as TaskStatus from "../../src/TaskStatus.js"
import { Task, Tasks, TaskError, type TaskStore } from "../../src/index.js"
import { freshSchema, inSchema, PgTest } from "../support/database.js"
import { claimRequest, storeOf } from "../support/worker.js"

const Job = Task.make("job", { args: Schema.Struct({ n: Schema.Number }) })

/** A migrated schema with `count` claimed Jobs, and a store that counts its finish statements. */
const claimed = (count: number) =>
  Effect.gen(function*() {
    const schema = yield* freshSchema
    const store = yield* storeOf(schema)
    yield* store.migrate
    yield* Tasks.runMany(Job, Array.from({ length: count }, (_, n) => ({ n }))).pipe(inSchema(schema))
    const claims = yield* store.claim(claimRequest("completer-test", [Job.key], count))
    const statements = yield* Ref.make<ReadonlyArray<number>>([])
    const counting: TaskStore.TaskStore["Type"] = {
      ...store,
      finishIfClaimed: (finishes) =>
        Effect.zipRight(Ref.update(statements, (all) => [...all, finishes.length]), store.finishIfClaimed(finishes))
    }
    const succeeded = (claim: TaskStore.ClaimedTask): TaskStore.Finish => ({
      id: claim.id,
      claimToken: claim.claimToken,
      status: TaskStatus.succeeded,
      delayMillis: 0,
      error: null,
      countsAsAttempt: true,
      keepsChildren: true
    })
    return { store, counting, claims, statements, succeeded }
  })

layer(PgTest, { excludeTestServices: true })("completer", (it) => {
  it.scoped("ends that arrive together share a statement; each caller learns whether its own end applied", () =>
    Effect.gen(function*() {
      const { claims, counting, statements, store, succeeded } = yield* claimed(20)
      expect(claims).toHaveLength(20)
      const completer = yield* makeCompleter({ store: counting, maxBatch: 50 })
      // One end with a token that is not the claim's: stale, refused alone.
      const stale = { ...succeeded(claims[0]!), claimToken: "00000000-0000-0000-0000-000000000000" }
      const applied = yield* Effect.forEach([stale, ...claims.slice(1).map(succeeded)], completer.complete, {
        concurrency: "unbounded"
      })
      expect(applied).toEqual([false, ...claims.slice(1).map(() => true)])
      const sizes = yield* Ref.get(statements)
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(20)
      expect(sizes.length).toBeLessThan(20)
      const rows = yield* store.getMany(claims.map((claim) => claim.id))
      expect(rows.map((row) => row.status)).toEqual([TaskStatus.running, ...claims.slice(1).map(() => TaskStatus.succeeded)])
    }))

  it.scoped("an end waits for no other: alone, it is written at once, and batches never exceed maxBatch", () =>
    Effect.gen(function*() {
      const { claims, counting, statements, succeeded } = yield* claimed(12)
      const completer = yield* makeCompleter({ store: counting, maxBatch: 5 })
      expect(yield* completer.complete(succeeded(claims[0]!))).toBe(true)
      expect(yield* Ref.get(statements)).toEqual([1])
      yield* Effect.forEach(claims.slice(1).map(succeeded), completer.complete, { concurrency: "unbounded" })
      const sizes = yield* Ref.get(statements)
      expect(sizes.every((size) => size <= 5)).toBe(true)
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(12)
    }))

  it.scoped("a statement that fails fails every end of its batch, and the next batch is written", () =>
    Effect.gen(function*() {
      const { claims, store, succeeded } = yield* claimed(3)
      const failOnce = yield* Ref.make(true)
      const gate = yield* Deferred.make<void>()
      const flaky: TaskStore.TaskStore["Type"] = {
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
      const completer = yield* makeCompleter({ store: flaky, maxBatch: 10 })
      const first = yield* Effect.fork(Effect.either(completer.complete(succeeded(claims[0]!))))
      yield* Deferred.succeed(gate, undefined)
      const failed = yield* first.await
      expect(failed._tag === "Success" && failed.value._tag).toBe("Left")
      expect(yield* completer.complete(succeeded(claims[0]!))).toBe(true)
      expect(yield* completer.complete(succeeded(claims[1]!))).toBe(true)
    }))
})
