import { Effect, Either, ParseResult, Schema } from "effect"
import { InvalidTaskArgs } from "../../TaskError.js"
import { textProblem } from "../validation.js"

/** What is stored: values of one task (its key, for errors) encoded with one of its Schemas (arguments, checkpoint). */
export interface Stored {
  readonly key: string
  readonly schema: Schema.Schema<any, any>
}

/** Encoded arguments jsonb cannot store: refused here, typed, rather than as a failed insert. */
class Unstorable {
  constructor(readonly issue: string) {}
}

const at = (key: string) => key === "" ? "" : ` at ${JSON.stringify(key)}`

const typeName = (value: unknown) =>
  typeof value === "object" && value !== null
    ? String((value.constructor as { readonly name?: unknown } | undefined)?.name || "object")
    : typeof value

/** What JSON.stringify did to a value that may not read back as written, if anything. */
const lossyConversion = (key: string, original: unknown, value: unknown): string | undefined => {
  if (typeof value === "number") {
    return Number.isFinite(value) ? undefined : `the number ${value}${at(key)} is stored as null`
  }
  if (original !== value) return `a ${typeName(original)}${at(key)} is stored as what its toJSON() returns`
  if (typeof value === "undefined" || typeof value === "function" || typeof value === "symbol") {
    return `a value of type ${typeof value}${at(key)} is left out (stored as null in an array or alone)`
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined
  const prototype = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
    ? undefined
    : `a ${typeName(value)}${at(key)} is stored as a plain object`
}

/**
 * The JSON text of encoded arguments, and the first conversion that may not read back as written
 * (NaN becomes null, a Date its string, a Map `{}`, an undefined property is dropped, ...). Noting
 * it costs almost nothing; only then does the caller pay for decoding the text to decide.
 */
export const stringify = (encoded: unknown): { readonly json: string; readonly lossy: string | undefined } => {
  let lossy: string | undefined
  const json = JSON.stringify(encoded, function(this: Record<string, unknown>, key: string, value: unknown) {
    const keyIssue = textProblem(key)
    if (keyIssue !== undefined) throw new Unstorable(`the object key ${JSON.stringify(key)} ${keyIssue}`)
    const text = typeof value === "string" ? value : value instanceof String ? value.valueOf() : undefined
    const textIssue = text === undefined ? undefined : textProblem(text)
    if (textIssue !== undefined) throw new Unstorable(`a string${at(key)} ${textIssue}`)
    lossy ??= lossyConversion(key, this[key], value)
    return value
  })
  return { json: json ?? "null", lossy }
}

/**
 * The JSON text of encoded arguments, or why it cannot be stored; `undefined` in `lossy` when the
 * text surely reads back as written.
 */
const storable = (task: Stored, encoded: unknown): { readonly json: string; readonly lossy: string | undefined } | InvalidTaskArgs => {
  try {
    return stringify(encoded)
  } catch (cause) {
    return new InvalidTaskArgs({
      key: task.key,
      issue: cause instanceof Unstorable
        ? cause.issue
        : `the encoded arguments are not JSON-serialisable: ${cause instanceof Error ? cause.message : String(cause)}`
    })
  }
}

/**
 * Proves the text decodes back with the task's Schema (what the worker will do) whenever it may
 * not: arguments that pass validation but cannot run are refused here, not on their first attempt.
 */
const decodesBack = (task: Stored, json: string, lossy: string): Effect.Effect<string, InvalidTaskArgs> =>
  Schema.decodeUnknown(task.schema)(JSON.parse(json), { errors: "all" }).pipe(Effect.mapBoth({
    onFailure: (error) =>
      new InvalidTaskArgs({
        key: task.key,
        issue: `${lossy}, and the stored JSON does not decode with the task's Schema:\n${
          ParseResult.TreeFormatter.formatErrorSync(error)
        }`
      }),
    onSuccess: () => json
  }))

const invalidArgs = (task: Stored, issue: ParseResult.ParseIssue) =>
  new InvalidTaskArgs({ key: task.key, issue: ParseResult.TreeFormatter.formatIssueSync(issue) })

/**
 * The arguments encoded with the task's Schema, as JSON texts in input order. A plain loop with no
 * Effect per argument when the Schema is synchronous (its encoding then answers an `Either`): this
 * runs per argument of a bulk enqueue, where each Effect step shows.
 */
export const encodeAll = (task: Stored, args: Iterable<unknown>): Effect.Effect<Array<string>, InvalidTaskArgs> =>
  Effect.suspend(() => {
    const encode = ParseResult.encodeUnknown(task.schema, { errors: "all" }) as (
      u: unknown
    ) => Either.Either<unknown, ParseResult.ParseIssue> | Effect.Effect<unknown, ParseResult.ParseIssue>
    const texts: Array<string> = []
    const iterator = args[Symbol.iterator]()
    /** Keeps one encoded argument's text: at once (undefined), or after proving it decodes back. */
    const keep = (encoded: unknown): Effect.Effect<void, InvalidTaskArgs> | undefined => {
      const stored = storable(task, encoded)
      if (stored instanceof InvalidTaskArgs) return Effect.fail(stored)
      if (stored.lossy !== undefined) {
        return Effect.map(decodesBack(task, stored.json, stored.lossy), (json) => void texts.push(json))
      }
      texts.push(stored.json)
      return undefined
    }
    const loop = (): Effect.Effect<Array<string>, InvalidTaskArgs> => {
      for (let next = iterator.next(); !next.done; next = iterator.next()) {
        const encoded = encode(next.value)
        if (!Either.isEither(encoded)) {
          // An asynchronous Schema: this argument through the Effect, then on with the rest.
          return Effect.mapError(encoded, (issue) => invalidArgs(task, issue)).pipe(
            Effect.flatMap((value) => keep(value) ?? Effect.void),
            Effect.flatMap(loop)
          )
        }
        if (Either.isLeft(encoded)) return Effect.fail(invalidArgs(task, encoded.left))
        const later = keep(encoded.right)
        if (later !== undefined) return Effect.flatMap(later, loop)
      }
      return Effect.succeed(texts)
    }
    return loop()
  })
