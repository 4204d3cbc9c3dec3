/**
 * A worker process for tests: `node --import tsx transactionalWorkerProcess.ts URL SCHEMA commits|hangs`.
 * Runs a transactional "ship" handler that inserts its order into `SCHEMA.shipments`; with "hangs"
 * it then sleeps for a minute, inside its still-open transaction. Short heartbeats and leases, so a
 * killed process's claims lapse within two seconds.
 */
import { NodeRuntime } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted, Schema } from "effect"
import { Task, TaskManager } from "../../src/index.js"

const [url, schema, mode] = process.argv.slice(2)

const Ship = Task.make("ship", { args: Schema.Struct({ order: Schema.Number }), transactional: true })

const ShipLive = Ship.handler(({ order }) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`INSERT INTO ${sql(`${schema}.shipments`)} (order_id) VALUES (${order})`
    if (mode === "hangs") yield* Effect.sleep("60 seconds")
  })
)

Layer.launch(
  ShipLive.pipe(
    Layer.provideMerge(
      TaskManager.layer({
        schema: schema!,
        stopTimeout: "500 millis",
        scanInterval: "200 millis",
        heartbeatInterval: "250 millis",
        nodeTimeout: "2 seconds",
        rescueInterval: "100 millis"
      })
    ),
    Layer.provide(PgClient.layer({ url: Redacted.make(url!) }))
  )
).pipe(NodeRuntime.runMain)
