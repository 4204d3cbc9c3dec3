/** The task definitions `effect-tasks verify` checks in the CLI tests: a module exporting them. */
import { Schema } from "effect"
import { Task } from "../../src/index.js"

export const Receipt = Task.make("cli-receipt", { args: Schema.Struct({ orderId: Schema.Number }) })
export const Other = Task.make("cli-other", { args: Schema.Struct({ n: Schema.Number }) })
