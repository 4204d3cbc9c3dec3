import { Schema } from "effect"
import { Task } from "../../src/index.js"

/**
 * The task `workerProcess.ts` runs: its handler sleeps for a minute. It checkpoints the step it has
 * reached (1 on a first attempt, one more after each resume), so tests see where an attempt began.
 */
export const Sleepy = Task.make("sleepy", {
  args: Schema.Struct({}),
  checkpoint: Schema.Struct({ step: Schema.Number })
})
