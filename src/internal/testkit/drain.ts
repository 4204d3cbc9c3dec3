import { SqlClient } from "@effect/sql"
import { Chunk, Clock, Duration, Effect, Exit, Fiber, Option, TestClock } from "effect"
import * as Task from "../../Task.js"
import { TaskTimeout } from "../../TaskError.js"
import type { Handler } from "../../TaskRegistry.js"
import { TaskRegistry } from "../../TaskRegistry.js"
import * as TaskStatus from "../../TaskStatus.js"
import { type Attempt, makeAttemptEnd } from "../currentAttempt.js"
import { runHandler } from "../handlerRun.js"
import * as outcome from "../worker/outcome.js"
import type { Memory, MemoryRow } from "./memory.js"

/** Spins of the scheduler without a pending sleep before the drain waits for a handler plainly. */
const idleSpins = 100

/**
 * Waits for `fiber`, moving the TestClock to the earliest pending sleep whenever the fiber is not
 * done: a handler's own sleeps, its timeout and its retries' waits pass at once. A fiber that waits
 * for something other than the clock (a real promise) is then simply awaited.
 */
const driveToEnd = <A, E>(fiber: Fiber.RuntimeFiber<A, E>): Effect.Effect<Exit.Exit<A, E>> =>
  Effect.gen(function*() {
    let idle = 0
    while (true) {
      const done = yield* Fiber.poll(fiber)
      if (Option.isSome(done)) return done.value
      const sleeps = Chunk.toReadonlyArray(yield* TestClock.sleeps())
      if (sleeps.length > 0) {
        const now = yield* Clock.currentTimeMillis
        yield* TestClock.adjust(Duration.millis(Math.max(0, Math.min(...sleeps) - now)))
        idle = 0
      } else if (++idle < idleSpins) {
        yield* Effect.yieldNow()
      } else {
        return yield* Fiber.await(fiber)
      }
    }
  })

/** Moves `row` to `to`, holding the memory to the same state machine as the database's guards. */
const move = (row: MemoryRow, to: TaskStatus.TaskStatus) =>
  TaskStatus.canTransition(row.status, to)
    ? Effect.sync(() => void (row.status = to))
    : Effect.dieMessage(`task ${row.id} cannot move from ${row.status} to ${to}`)

/** One attempt of `row` through its real handler, decided and recorded as a worker would. */
const runAttempt = (memory: Memory, row: MemoryRow, handler: Handler) =>
  Effect.gen(function*() {
    const task = row.task
    yield* move(row, TaskStatus.running)
    row.attempt += 1
    const token = `test-attempt-${row.id}-${row.attempt}`
    const current: Task.Current = { id: row.id, key: task.key, attempt: row.attempt, maxAttempts: row.maxAttempts }
    const end = makeAttemptEnd()
    const attempt: Attempt = {
      id: row.id,
      task,
      rootId: row.rootId ?? row.id,
      claimToken: token,
      submitting: yield* Effect.makeSemaphore(1),
      end,
      checkpoint: row.checkpoint === null ? null : JSON.parse(row.checkpoint),
      save: (state) =>
        Effect.sync(() => {
          row.checkpoint = state.checkpoint ?? row.checkpoint
          row.progress = state.progress ?? row.progress
        })
    }
    // The timeout on the TestClock (the worker's deadline watcher keeps the process's own clock).
    const handled = runHandler(task, handler, {
      args: JSON.parse(row.args),
      context: row.context === null ? null : JSON.parse(row.context)
    }, current, attempt, (run) =>
      Option.match(task.timeout, {
        onNone: () => run,
        onSome: (timeout) =>
          Effect.timeoutFail(run, { duration: timeout, onTimeout: () => new TaskTimeout({ id: row.id, key: task.key, timeout }) })
      }))
    const sql = yield* SqlClient.SqlClient
    const exit = yield* driveToEnd(yield* Effect.fork(task.transactional ? sql.withTransaction(handled) : handled))
    const retryDelay = Exit.isFailure(exit) ? yield* outcome.retryAfter(task.retry, row.attempt, exit.cause) : Option.none()
    // Recorded as the database records the same end (`toFinish`, as `finishIfClaimed` applies it).
    const finish = outcome.toFinish(
      { id: row.id, claimToken: token },
      outcome.decide(row, exit, retryDelay, false, Option.fromNullable(end.snoozedFor))
    )
    const now = yield* Clock.currentTimeMillis
    yield* move(row, finish.status)
    if (finish.status === TaskStatus.succeeded) row.result = finish.result
    if (!finish.countsAsAttempt) row.attempt -= 1
    if (finish.error !== null) {
      row.lastError = finish.error
      row.errors.push(finish.error)
    }
    if (finish.delayMillis !== null && finish.status === TaskStatus.initialized) row.runAt = now + finish.delayMillis
    if (TaskStatus.isTerminal(finish.status)) row.finishedAt = now
    memory.settleChildren(token, finish.keepsChildren)
  })

/**
 * Runs the tasks in memory through their handlers, one attempt at a time in priority, due time, id
 * order, moving the TestClock to the next due time whenever nothing is due, until no task that has
 * a handler is left waiting. Fails, as a defect, after `limit` attempts (a task that keeps
 * re-enqueuing itself).
 */
export const drain = (memory: Memory, limit: number) =>
  Effect.gen(function*() {
    const registry = yield* TaskRegistry
    const handlers = new Map<string, Option.Option<Handler>>()
    const handlerOf = (key: string) => handlers.get(key) ?? Option.none()
    const runnable = (key: string) => Option.isSome(handlerOf(key))
    for (let attempts = 0; attempts <= limit;) {
      for (const row of memory.rows.values()) {
        if (!handlers.has(row.task.key)) {
          handlers.set(row.task.key, Option.flatMap(yield* registry.get(row.task.key), (entry) => entry.handler))
        }
      }
      const now = yield* Clock.currentTimeMillis
      const next = memory.nextRunnable(now, runnable)
      if (Option.isSome(next)) {
        if (++attempts > limit) break
        yield* runAttempt(memory, next.value, Option.getOrThrow(handlerOf(next.value.task.key)))
        continue
      }
      const due = memory.nextDue(runnable)
      if (Option.isNone(due)) return
      yield* TestClock.adjust(Duration.millis(due.value - now))
    }
    return yield* Effect.dieMessage(
      `TaskTest.drain: tasks were still waiting after ${limit} attempts (a task that enqueues itself forever?)`
    )
  })
