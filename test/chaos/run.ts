/**
 * npm run chaos: the long chaos scenarios, each on the same dedicated embedded PostgreSQL, printed
 * as a table (markdown, ready for the README).
 */
import { Effect, Layer } from "effect"
import * as os from "node:os"
import { ChaosLive, type ScenarioResult } from "./harness.js"
import * as scenarios from "./scenarios.js"

const row = (result: ScenarioResult) =>
  `| ${result.scenario} | ${result.tasks} | ${result.lost} | ${result.failed} | ${result.duplicateCompletions} | ${result.overlappingRuns} | ${result.tasksThatLostAWorker} | ${result.tasksRetried} | ${result.unappliedRuns} | ${result.secondsToFinish} |`

/** `npm run chaos -- xmin` runs only the scenarios whose name contains the word. */
const only = process.argv[2]
const selected = (name: string) => only === undefined || name.includes(only)

const program = Effect.gen(function*() {
  const results: Array<ScenarioResult> = []
  const record = (result: ScenarioResult) =>
    Effect.sync(() => {
      results.push(result)
      console.log(row(result))
    })
  console.log(
    "| scenario | tasks | lost | failed | completed twice | ran twice at once | lost a worker | retried | unapplied runs | seconds to finish |"
  )
  console.log("|---|---|---|---|---|---|---|---|---|---|")
  if (selected("kill")) yield* Effect.flatMap(scenarios.killWorker({ tasks: 2000, millis: 100, workers: 3, faultSeconds: 2 }), record)
  if (selected("restart")) yield* Effect.flatMap(scenarios.restartPostgres({ tasks: 2000, millis: 100, workers: 3, faultSeconds: 2 }), record)
  if (selected("terminate")) yield* Effect.flatMap(scenarios.terminateConnections({ tasks: 2000, millis: 100, workers: 3, faultSeconds: 15 }), record)
  if (selected("exhaust")) yield* Effect.flatMap(scenarios.exhaustConnections({ tasks: 1000, millis: 20, workers: 3, faultSeconds: 10, held: 34 }), record)
  if (selected("repeated")) yield* Effect.flatMap(scenarios.repeatedKills({ tasks: 6000, millis: 100, workers: 3, faultSeconds: 60 }), record)
  if (selected("xmin")) {
    const { baseline, held } = yield* scenarios.idleInTransaction({ tasks: 5000, millis: 0, workers: 2, faultSeconds: 10 })
    console.log("\nidle-in-transaction session holding the xmin horizon (5,000 tasks, 2 workers):")
    console.log("| run | tasks/s | dead tuples in tasks after VACUUM |")
    console.log("|---|---|---|")
    console.log(`| baseline | ${baseline.tasksPerSecond} | ${baseline.deadTuples} |`)
    console.log(`| horizon held | ${held.tasksPerSecond} | ${held.deadTuples} |`)
  }
  console.log(`\nmachine: ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB; Node ${process.version}; ` +
    "embedded PostgreSQL 18.4 (fsync off, synchronous_commit off, max_connections 40)")
  const failures = results.filter((result) =>
    result.lost > 0 || result.failed > 0 || result.duplicateCompletions > 0 || result.overlappingRuns > 0
  )
  if (failures.length > 0) return yield* Effect.dieMessage(`${failures.length} scenario(s) lost, failed or ran tasks twice`)
}).pipe(Effect.scoped)

Effect.runPromise(program.pipe(Effect.provide(Layer.fresh(ChaosLive)))).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
