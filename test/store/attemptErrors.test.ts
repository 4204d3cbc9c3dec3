/**
 * The errors of a task's failed attempts (`TaskRow.errors`): each failed attempt's error is added
 * with its attempt number and time, the last ten kept, `last_error` the newest; a success or a
 * hand-back adds none.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Task, Tasks, TaskStatus } from "../../src/index.js"
import type { Finish } from "../../src/internal/store/finish.js"
import { inSchema, PgTest } from "../support/database.js"
import { claimRequest, migratedSchema } from "../support/worker.js"

const Flaky = Task.make("errors-flaky", { args: Schema.Struct({}), retry: { times: 20 } })

layer(PgTest, { excludeTestServices: true })("failed attempts' errors", (it) => {
  it.scoped("every failed attempt adds its error; the last ten are kept, oldest first; other ends add none", () =>
    Effect.gen(function*() {
      const { schema, store } = yield* migratedSchema
      const id = yield* Tasks.run(Flaky, {}).pipe(inSchema(schema))
      const end = (finish: Omit<Finish, "id" | "claimToken" | "countsAsAttempt" | "keepsChildren" | "result">) =>
        Effect.gen(function*() {
          const [claim] = yield* store.claim(claimRequest("errors-node", [Flaky.key], 1))
          expect(claim?.id).toBe(id)
          const applied = yield* store.finishIfClaimed([{
            id,
            claimToken: claim!.claimToken,
            countsAsAttempt: finish.delayMillis !== null,
            keepsChildren: false,
            result: null,
            ...finish
          }])
          expect(applied).toHaveLength(1)
        })
      // A hand-back (no error) first: nothing recorded.
      yield* end({ status: TaskStatus.initialized, delayMillis: null, error: null })
      expect((yield* store.getMany([id]))[0]?.errors).toBeNull()
      for (let n = 1; n <= 12; n++) yield* end({ status: TaskStatus.initialized, delayMillis: 0, error: `boom ${n}` })
      yield* end({ status: TaskStatus.succeeded, delayMillis: 0, error: null })
      const [row] = yield* store.getMany([id])
      expect(row?.status).toBe(TaskStatus.succeeded)
      expect(row?.errors?.map((failed) => failed.attempt)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
      expect(row?.errors?.map((failed) => failed.error)).toEqual(Array.from({ length: 10 }, (_, i) => `boom ${i + 3}`))
      expect(row?.lastError).toBe("boom 12")
      expect(row?.errors?.every((failed) => failed.at instanceof Date && Math.abs(failed.at.getTime() - Date.now()) < 60_000)).toBe(true)
    }))

  it.scoped("an error is kept whole in last_error and by its first 500 characters in errors", () =>
    Effect.gen(function*() {
      const { schema, store } = yield* migratedSchema
      const id = yield* Tasks.run(Flaky, {}).pipe(inSchema(schema))
      const [claim] = yield* store.claim(claimRequest("errors-node", [Flaky.key], 1))
      const long = `attempt 1/21: ${"x".repeat(2_000)}`
      yield* store.finishIfClaimed([{
        id,
        claimToken: claim!.claimToken,
        status: TaskStatus.initialized,
        delayMillis: 0,
        error: long,
        countsAsAttempt: true,
        keepsChildren: false,
        result: null
      }])
      const [row] = yield* store.getMany([id])
      expect(row?.lastError).toBe(long)
      expect(row?.errors).toEqual([{ attempt: 1, at: expect.any(Date), error: long.slice(0, 500) }])
    }))
})
