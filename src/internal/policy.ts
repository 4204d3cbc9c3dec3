/** Checks of task definitions and per-enqueue options: each returns the problem, or undefined. */

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

export const queueProblem = (queue: unknown): string | undefined =>
  typeof queue !== "string" || queue.trim().length === 0
    ? "must be a non-empty string"
    : boundedTextProblem(queue, maxLength.queue)

export const priorityProblem = (priority: number): string | undefined =>
  !Number.isInteger(priority) || Math.abs(priority) > int32 ? `must be a 32-bit integer, got ${priority}` : undefined

// A due time must fit PostgreSQL's timestamptz (4714-11-24 BC to 294276 AD) and read back as a JS Date
// (up to 275760-09-13). The earliest is 4713 BC, not the exact bound: the driver sends a Date in local
// time with its offset cut to whole minutes, which can move it seconds earlier.
const earliestDue = Date.UTC(-4712, 0, 1)
// A delay is added to the database's clock: 200,000 years from any plausible now stays in range,
// without reading a local clock to check it.
const maxDelayMillis = 200_000 * 365.25 * 24 * 60 * 60 * 1000

export const runAtProblem = (runAt: unknown): string | undefined =>
  !(runAt instanceof Date) || !Number.isFinite(runAt.getTime())
    ? "must be a valid Date"
    : runAt.getTime() < earliestDue
    ? `must not be before 4713 BC (PostgreSQL's earliest timestamp), got ${runAt.toISOString()}`
    : undefined

/**
 * `Duration.decode` reads a negative input as zero, so the sign is checked on the input itself; `millis`
 * is the decoded delay, NaN when the input is no duration.
 */
export const delayProblem = (input: unknown, millis: number): string | undefined => {
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
export const boundedTextProblem = (value: unknown, max: number): string | undefined =>
  typeof value !== "string" || value.length === 0
    ? "must be a non-empty string"
    : value.length > max
    ? `must be at most ${max} characters, got ${value.length}`
    : textProblem(value)
