import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { ChaosLive, type ScenarioResult } from "./harness.js"
import * as scenarios from "./scenarios.js"

/** Short versions of the chaos scenarios (npm run chaos runs the long ones). */
const nothingLost = (result: ScenarioResult) =>
  Effect.gen(function*() {
    yield* Effect.log(JSON.stringify(result))
    expect(result.lost).toBe(0)
    expect(result.duplicateCompletions).toBe(0)
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
