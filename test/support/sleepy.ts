import { Schema } from "effect"
import { Task } from "../../src/index.js"

/** The task `workerProcess.ts` runs: its handler sleeps for a minute. */
export const Sleepy = Task.make("sleepy", { args: Schema.Struct({}) })
