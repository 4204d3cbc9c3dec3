import { PgClient } from "@effect/sql-pg"
import { expect, layer } from "@effect/vitest"
import { Clock, Effect, Layer, Option } from "effect"
import { Tasks, TaskStore } from "../../src/index.js"
import { waitFor } from "../support/waitFor.js"
import { startWorker as startManager } from "../support/worker.js"
import { ChaosJob } from "./chaosJob.js"
import { Chaos, ChaosLive, prepareSchema, restartServer, type ScenarioResult } from "./harness.js"
import * as scenarios from "./scenarios.js"

/** Short versions of the chaos scenarios (npm run chaos runs the long ones). */
const nothingLost = (result: ScenarioResult) =>
  Effect.gen(function*() {
    yield* Effect.log(JSON.stringify(result))
    expect(result.lost).toBe(0)
    expect(result.duplicateCompletions).toBe(0)
    expect(result.overlappingRuns).toBe(0)
    expect(result.failed).toBe(0)
    expect(result.succeeded).toBe(result.tasks)
  })

layer(ChaosLive, { excludeTestServices: true, timeout: "60 seconds" })("chaos (short)", (it) => {
  it.scoped("SIGKILL a worker mid-task: the others finish its tasks", () =>
    Effect.gen(function*() {
      const result = yield* scenarios.killWorker({ tasks: 400, millis: 100, workers: 3, faultSeconds: 0.3 })
      yield* nothingLost(result)
      expect(result.tasksThatLostAWorker).toBeGreaterThan(0)
    }), 90_000)

  it.scoped("PostgreSQL restarts under load: every task completes after it returns", () =>
    Effect.flatMap(scenarios.restartPostgres({ tasks: 300, millis: 100, workers: 2, faultSeconds: 0.5 }), nothingLost), 90_000)

  it.scoped("every worker connection is cut again and again: no loss", () =>
    Effect.flatMap(scenarios.terminateConnections({ tasks: 300, millis: 100, workers: 2, faultSeconds: 3 }), nothingLost), 90_000)

  it.scoped("connections exhausted by other clients: no loss, progress resumes", () =>
    Effect.flatMap(scenarios.exhaustConnections({ tasks: 100, millis: 20, workers: 2, faultSeconds: 3, held: 34 }), nothingLost), 90_000)

  it.scoped("workers killed and restarted every 2 s: no loss", () =>
    Effect.gen(function*() {
      const result = yield* scenarios.repeatedKills({ tasks: 800, millis: 100, workers: 3, faultSeconds: 8 })
      yield* nothingLost(result)
      expect(result.tasksThatLostAWorker).toBeGreaterThan(0)
    }), 120_000)
})

layer(ChaosLive, { excludeTestServices: true, timeout: "60 seconds" })("after a PostgreSQL restart", (it) => {
  it.scoped("every background fiber of a running manager recovers by itself, and NOTIFY pickup returns", () =>
    Effect.gen(function*() {
      const { server } = yield* Chaos
      const client = yield* Layer.build(PgClient.layer({ url: server.url, maxConnections: 6 }))
      const schema = yield* prepareSchema("fibers")
      const fiberNames = ["heartbeat", "rescuer", "checker", "reaper", "listener"]
      const { manager } = yield* startManager(ChaosJob.handler(() => Effect.void), {
        schema,
        scanInterval: "60 seconds", // only a recovered LISTEN explains a prompt pickup afterwards
        heartbeatInterval: "250 millis",
        nodeTimeout: "2 seconds",
        rescueInterval: "250 millis",
        checkInterval: "250 millis"
      }).pipe(Effect.provide(client))
      const healthyAfter = (since: number, names = fiberNames) =>
        Effect.map(manager.health, (fibers) =>
          names.every((name) => {
            const fiber = fibers.find((health) => health.fiber === name)
            return fiber !== undefined && Option.isNone(fiber.lastError) &&
              Option.exists(fiber.lastSuccessAt, (at) => at.getTime() > since)
          }))
      yield* waitFor("all fibers healthy", healthyAfter(0), (healthy) => healthy, "10 seconds")

      yield* restartServer
      const restartedAt = yield* Clock.currentTimeMillis
      yield* waitFor("some fiber to notice the restart", manager.health, (fibers) =>
        fibers.some((fiber) => Option.isSome(fiber.lastError)), "10 seconds").pipe(Effect.ignore)
      yield* waitFor("all fibers healthy again", healthyAfter(restartedAt), (healthy) => healthy, "20 seconds")

      const enqueuedAt = yield* Clock.currentTimeMillis
      const [id] = yield* Tasks.runMany(ChaosJob, [{ n: 1, millis: 0 }]).pipe(
        Effect.provide(TaskStore.layerDatabaseSchema(schema)),
        Effect.provide(client)
      )
      const store = yield* TaskStore.make({ schema }).pipe(Effect.provide(client))
      yield* waitFor("the task to run", store.getMany([id!]).pipe(Effect.provide(client)), (rows) =>
        rows[0]?.status === "succeeded", "5 seconds")
      expect((yield* Clock.currentTimeMillis) - enqueuedAt).toBeLessThan(5_000)
      // The claimer runs a round only when there is work: it has now, since the restart.
      expect(yield* healthyAfter(restartedAt, ["claimer"])).toBe(true)
    }), 90_000)
})
