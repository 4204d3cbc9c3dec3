/** Checks shared by task definitions and per-enqueue options: each returns the problem, or undefined. */

const int32 = 2 ** 31 - 1

export const queueProblem = (queue: unknown): string | undefined =>
  typeof queue !== "string" || queue.trim().length === 0 ? "must be a non-empty string" : undefined

export const priorityProblem = (priority: number): string | undefined =>
  !Number.isInteger(priority) || Math.abs(priority) > int32 ? `must be a 32-bit integer, got ${priority}` : undefined
