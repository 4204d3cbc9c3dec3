import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Duration, Effect, Ref } from "effect"
import { makeElector } from "../../src/internal/maintenance/elector.js"
import { makeLeadership } from "../../src/internal/maintenance/leadership.js"
import { PgTest } from "../support/database.js"
import { migratedSchema } from "../support/worker.js"

layer(PgTest, { excludeTestServices: true })("elector", (it) => {
  it.scoped("one node at a time leads: the first to take the lease keeps it round after round; another takes over once it lapses", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const { schema, store } = yield* migratedSchema
      const node = (nodeId: string) =>
        Effect.gen(function*() {
          const incarnation = yield* store.register({ nodeId, host: "test", pid: 1, nodeTimeout: Duration.seconds(10) })
          const leadership = yield* makeLeadership
          const round = makeElector({
            store,
            registration: yield* Ref.make(incarnation),
            leadership,
            leaseDuration: Duration.seconds(30)
          })
          return { round, isLeader: leadership.isLeader }
        })
      const a = yield* node("a")
      const b = yield* node("b")
      expect(yield* a.round).toBe(true)
      expect(yield* b.round).toBe(false)
      expect(yield* a.round).toBe(true)
      expect([yield* a.isLeader, yield* b.isLeader]).toEqual([true, false])
      // The leader goes silent: its lease lapses (moved into the past here rather than waited for).
      yield* sql`UPDATE ${sql(`${schema}.leases`)} SET expires_at = now() - interval '1 second'`
      expect(yield* b.round).toBe(true)
      expect(yield* a.round).toBe(false)
      expect([yield* a.isLeader, yield* b.isLeader]).toEqual([false, true])
    }))
})
