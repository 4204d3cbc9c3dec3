import { Duration, Either, Option, Schema } from "effect"
import type { Options } from "../Task.js"
import { decodeWith, Flag, IntegerIn, PositiveDuration, Priority, problemOf, QueueName, Retention, textProblem } from "./validation.js"

const maxKeyLength = 128
const maxRetryTimes = 1_000

/** A task key: non-empty, not padded, at most 128 characters, storable. */
const TaskKey = Schema.String.annotations({ message: () => "the key is empty" }).pipe(Schema.filter((key) => {
  if (key.trim().length === 0) return "the key is empty"
  if (key !== key.trim()) return "the key has leading or trailing white space"
  if (key.length > maxKeyLength) return `the key is longer than ${maxKeyLength} characters`
  const text = textProblem(key)
  return text === undefined ? true : `the key ${text}`
}))

/** The policy part of `Options`, checked. */
const Definition = Schema.Struct({
  retry: Schema.optional(Schema.Struct({
    times: Schema.optional(IntegerIn(0, maxRetryTimes, `an integer from 0 to ${maxRetryTimes}`))
  })),
  timeout: Schema.optional(PositiveDuration),
  queue: Schema.optional(QueueName),
  priority: Schema.optional(Priority),
  transactional: Schema.optional(Flag),
  keep: Schema.optional(Schema.Struct({
    succeeded: Schema.optional(Retention),
    failed: Schema.optional(Retention),
    canceled: Schema.optional(Retention)
  }))
})

const policyProblem = decodeWith(Definition, (path, message) => `${path.join(".")} ${message}`)

/** What is wrong with a definition (its key, then its options), or undefined when nothing is. */
export const definitionProblem = <A, I, E, C, S>(key: string, options: Options<A, I, E, C, S>): string | undefined => {
  const keyProblem = problemOf(TaskKey, key)
  if (keyProblem !== undefined) return keyProblem
  if (options === undefined || options.args === undefined) return "options.args (a Schema) is required"
  if (options.error !== undefined && !Schema.isSchema(options.error)) return "options.error must be a Schema"
  for (const name of ["checkpoint", "success"] as const) {
    if (options[name] !== undefined && !Schema.isSchema(options[name])) return `options.${name} must be a Schema`
  }
  if (options.retry?.while !== undefined && typeof options.retry.while !== "function") return "retry.while must be a function"
  return Either.getLeft(policyProblem(options)).pipe(Option.getOrUndefined)
}

/** A definition's `keep`, decoded (it was checked by `definitionProblem`). */
export const keepOf = (keep: Options<any, any>["keep"]) => {
  const decode = (value: Duration.DurationInput | "forever" | undefined) =>
    value === undefined ? Option.none() : Option.some(value === "forever" ? Duration.infinity : Duration.decode(value))
  return { succeeded: decode(keep?.succeeded), failed: decode(keep?.failed), canceled: decode(keep?.canceled) }
}
