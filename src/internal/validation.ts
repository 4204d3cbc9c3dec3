/**
 * Validation of everything users hand in: task definitions, enqueue options, queue definitions,
 * the manager's options. The checks of single values (each returns the problem, or undefined)
 * become Schemas below, and each API decodes its whole options struct once, turning the first
 * issue into its one typed error, named by the field at fault.
 */
import { Duration, Either, Option, ParseResult, Schema } from "effect"

const int32 = 2 ** 31 - 1

// A UTF-16 surrogate without its partner (`key.slice(0, n)` cutting an emoji in two). The driver sends
// text as UTF-8, which turns it into U+FFFD, so the value read back is not the one written; jsonb
// refuses its \u escape. (String.prototype.isWellFormed is ES2024.)
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
// Every argument string is checked on enqueue: one scan for either, the slower look-arounds only on a hit.
const suspect = /[\u0000\uD800-\uDFFF]/

/** Text PostgreSQL cannot store as given: the NUL character, or a lone surrogate. */
export const textProblem = (text: string): string | undefined =>
  !suspect.test(text)
    ? undefined
    : text.includes("\u0000")
    ? "contains the NUL character (\\u0000), which PostgreSQL cannot store"
    : loneSurrogate.test(text)
    ? "contains a lone UTF-16 surrogate (half a character, such as an emoji cut in two), which PostgreSQL cannot store"
    : undefined

const priorityProblem = (priority: number): string | undefined =>
  !Number.isInteger(priority) || Math.abs(priority) > int32 ? `must be a 32-bit integer, got ${priority}` : undefined

// A due time must fit PostgreSQL's timestamptz (4714-11-24 BC to 294276 AD) and read back as a JS Date
// (up to 275760-09-13). The earliest is 4713 BC, not the exact bound: the driver sends a Date in local
// time with its offset cut to whole minutes, which can move it seconds earlier.
const earliestDue = Date.UTC(-4712, 0, 1)
// A delay is added to the database's clock: 200,000 years from any plausible now stays in range,
// without reading a local clock to check it.
const maxDelayMillis = 200_000 * 365.25 * 24 * 60 * 60 * 1000

const runAtProblem = (runAt: unknown): string | undefined =>
  !(runAt instanceof Date) || !Number.isFinite(runAt.getTime())
    ? "must be a valid Date"
    : runAt.getTime() < earliestDue
    ? `must not be before 4713 BC (PostgreSQL's earliest timestamp), got ${runAt.toISOString()}`
    : undefined

/**
 * `Duration.decode` reads a negative input as zero, so the sign is checked on the input itself; `millis`
 * is the decoded delay, NaN when the input is no duration.
 */
const delayProblem = (input: unknown, millis: number): string | undefined => {
  const signed = typeof input === "number"
    ? input
    : typeof input === "bigint"
    ? Number(input)
    : typeof input === "string"
    ? Number.parseFloat(input)
    : Array.isArray(input)
    ? Number(input[0]) * 1e9 + Number(input[1])
    : 0
  if (!Number.isFinite(millis) || !(signed >= 0)) {
    return `must be a finite, non-negative duration, got ${String(input)}`
  }
  if (millis > maxDelayMillis) return `must be at most 200,000 years, got ${millis} ms`
  return undefined
}

/** Longest texts the indexes that hold them take whole (a btree entry must stay under about 2.7 kB). */
export const maxLength = { queue: 128, owner: 512, uniqueKey: 512 } as const

/** A non-empty string of at most `max` UTF-16 units that PostgreSQL can store as given. */
const boundedTextProblem = (value: unknown, max: number): string | undefined =>
  typeof value !== "string" || value.length === 0
    ? "must be a non-empty string"
    : value.length > max
    ? `must be at most ${max} characters, got ${value.length}`
    : textProblem(value)

/** A non-empty string that is not only white space, at most 128 characters, storable. */
const queueNameProblem = (queue: unknown): string | undefined =>
  typeof queue !== "string" || queue.trim().length === 0
    ? "must be a non-empty string"
    : boundedTextProblem(queue, maxLength.queue)

/** A Schema of `base` whose failures say `problem` (or, when the input is not even a `base`, `notA`). */
const checked = <A, I>(base: Schema.Schema<A, I>, notA: string, problem: (value: A) => string | undefined) =>
  base.annotations({ message: () => notA }).pipe(Schema.filter((value) => problem(value) ?? true))

/** A queue's name. */
export const QueueName = checked(Schema.String, "must be a non-empty string", queueNameProblem)

/** A priority: a 32-bit integer. */
export const Priority = checked(Schema.Number, "must be a 32-bit integer", priorityProblem)

/** A non-empty text of at most `max` characters that PostgreSQL can store as given. */
export const BoundedText = (max: number) =>
  checked(Schema.String, "must be a non-empty string", (text) => boundedTextProblem(text, max))

/** A due time PostgreSQL and a JS Date can both hold. */
export const RunAt = checked(Schema.DateFromSelf, "must be a valid Date", runAtProblem)

/** A yes or no. */
export const Flag = Schema.Boolean.annotations({ message: () => "must be a boolean" })

/** An integer from `min` to `max`. */
export const IntegerIn = (min: number, max: number, describe = `an integer ≥ ${min}`) =>
  checked(Schema.Number, `must be ${describe}`, (n) =>
    Number.isInteger(n) && n >= min && n <= max ? undefined : `must be ${describe}, got ${n}`)

/** A queue limit or a count of at least one: an integer from 1 to 2^31 − 1. */
export const PositiveInteger = IntegerIn(1, int32)

/** A duration input, decoded; `problem` judges the decoded duration. */
const durationWhere = (
  problem: (input: unknown, duration: Duration.Duration) => string | undefined,
  options: { readonly forever?: boolean } = {}
) =>
  Schema.transformOrFail(Schema.Unknown, Schema.DurationFromSelf, {
    strict: true,
    decode: (input, _, ast) => {
      const decoded = options.forever === true && input === "forever"
        ? Option.some(Duration.infinity)
        : Duration.decodeUnknown(input)
      const issue = Option.isNone(decoded)
        ? `is not a duration: ${String(input)}`
        : problem(input, decoded.value)
      return issue === undefined
        ? ParseResult.succeed(Option.getOrThrow(decoded))
        : ParseResult.fail(new ParseResult.Type(ast, input, issue))
    },
    encode: ParseResult.succeed
  })

/** A positive, finite duration (intervals, timeouts). */
export const PositiveDuration = durationWhere((input, duration) =>
  Duration.toMillis(duration) > 0 && Duration.isFinite(duration)
    ? undefined
    : `must be a positive, finite duration, got ${String(input)}`
)

/** How long finished tasks are kept: a positive duration, or `"forever"` (an infinite one). */
export const Retention = durationWhere(
  (input, duration) =>
    Duration.toMillis(duration) > 0 && (!Duration.isFinite(duration) || Duration.toMillis(duration) <= maxDelayMillis)
      ? undefined
      : `must be a positive duration of at most 200,000 years, or "forever", got ${String(input)}`,
  { forever: true }
)

/** A delay: finite, not negative, at most 200,000 years. */
export const Delay = durationWhere((input, duration) => delayProblem(input, Duration.toMillis(duration)))

/** The first issue of a failed decoding: the path of the field at fault, and what is wrong. */
const firstIssue = (error: ParseResult.ParseError) => {
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
  return { path: (issue?.path ?? []).map(String), message: issue?.message ?? "is invalid" }
}

/**
 * Decodes an options struct in one go; the first problem as `onIssue(path, message)`, where the
 * path names the field (`["retry", "times"]`).
 */
export const decodeWith = <A, I, E>(
  schema: Schema.Schema<A, I>,
  onIssue: (path: ReadonlyArray<string>, message: string) => E
) => {
  const decode = Schema.decodeUnknownEither(schema, { errors: "first", onExcessProperty: "ignore" })
  return (input: unknown): Either.Either<A, E> =>
    Either.mapLeft(decode(input), (error) => {
      const { message, path } = firstIssue(error)
      return onIssue(path, message)
    })
}

/** The problem `schema` finds with `value`, if any. */
export const problemOf = <A, I>(schema: Schema.Schema<A, I>, value: unknown): string | undefined =>
  Either.match(Schema.decodeUnknownEither(schema)(value), {
    onLeft: (error) => firstIssue(error).message,
    onRight: () => undefined
  })
