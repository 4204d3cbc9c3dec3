import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { makeLeadership } from "../../src/internal/maintenance/leadership.js"
import { makeNodeReaper } from "../../src/internal/maintenance/reaper.js"
import { monotonicMillis } from "../../src/internal/monotonic.js"
import { PgTest } from "../support/database.js"
import { migratedSchema } from "../support/worker.js"

layer(PgTest, { excludeTestServices: true })("node reaper", (it) => {
  it.scoped("a round on the leader forgets nodes silent past the retention and no other; off the leader it does nothing", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const { schema, store } = yield* migratedSchema
      for (const nodeId of ["gone", "quiet", "alive"]) {
        yield* store.register({ nodeId, host: "test", pid: 1, nodeTimeout: Duration.seconds(10) })
      }
      const nodes = sql(`${schema}.nodes`)
      yield* sql`UPDATE ${nodes} SET heartbeat_at = now() - interval '2 hours' WHERE id = 'gone'`
      yield* sql`UPDATE ${nodes} SET heartbeat_at = now() - interval '30 minutes' WHERE id = 'quiet'`
      const leadership = yield* makeLeadership
      const round = makeNodeReaper({ store, leadership, retention: Duration.hours(1) })
      const ids = Effect.map(sql<{ id: string }>`SELECT id FROM ${nodes} ORDER BY id`, (rows) => rows.map((row) => row.id))

      expect(yield* round).toBe(0) // not the leader
      expect(yield* ids).toEqual(["alive", "gone", "quiet"])
      yield* leadership.holdUntil((yield* monotonicMillis) + 60_000)
      expect(yield* round).toBe(1)
      expect(yield* ids).toEqual(["alive", "quiet"])
    }))
})
