import { Schedule, Schema } from "effect"
import { Task } from "../../src/index.js"

/** The task every chaos scenario runs: sleep `millis`, then record the execution. */
export const ChaosJob = Task.make("chaos-job", {
  args: Schema.Struct({ n: Schema.Number, millis: Schema.Number }),
  retry: { times: 50, schedule: Schedule.spaced("100 millis") }
})
