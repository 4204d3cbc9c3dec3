import { Schedule, Schema } from "effect"
import { Task } from "../../src/index.js"

/** The task every chaos scenario runs: sleep `millis`, then record the execution. */
export const ChaosJob = Task.make("chaos-job", {
  args: Schema.Struct({ n: Schema.Number, millis: Schema.Number }),
  // Enough retries, backing off to 2 s, to outlast the outages the scenarios cause (attempts fail while the database is gone).
  retry: { times: 25, schedule: Schedule.exponential("100 millis").pipe(Schedule.union(Schedule.spaced("2 seconds"))) }
})
