import { Duration, Effect, Option, Stream } from "effect"
import type * as Task from "../../Task.js"
import type { TaskRegistry } from "../../TaskRegistry.js"
import { defaultKey, type Retention } from "../store/retention.js"
import type { Store } from "../store/store.js"

/** A duration as the retention table stores it: milliseconds, -1 for an infinite one (kept forever). */
const millis = (duration: Duration.Duration): number => Duration.isFinite(duration) ? Duration.toMillis(duration) : -1

/** The retention row of one definition: what its `keep` sets, null for what it leaves to the default. */
export const retentionOf = (task: Task.Any): Retention => ({
  key: task.key,
  succeeded: Option.match(task.keep.succeeded, { onNone: () => null, onSome: millis }),
  failed: Option.match(task.keep.failed, { onNone: () => null, onSome: millis }),
  canceled: Option.match(task.keep.canceled, { onNone: () => null, onSome: millis })
})

/**
 * How long a finished task of a definition is kept, by status, in milliseconds (-1: forever): its
 * `keep`, else the worker's defaults; worked out once per definition. The worker writes it with
 * each end, so a task's expiry never waits for the retention table to be written.
 */
export const makeKeepFor = (defaults: { readonly keepSucceeded: Duration.Duration; readonly keepFailed: Duration.Duration }) => {
  const known = new WeakMap<Task.Any, { readonly succeeded: number; readonly failed: number; readonly canceled: number }>()
  return (task: Task.Any) => {
    const cached = known.get(task)
    if (cached !== undefined) return cached
    const row = retentionOf(task)
    const keep = {
      succeeded: row.succeeded ?? millis(defaults.keepSucceeded),
      failed: row.failed ?? millis(defaults.keepFailed),
      canceled: row.canceled ?? millis(defaults.keepFailed)
    }
    known.set(task, keep)
    return keep
  }
}

/**
 * Keeps the retention table in step with this worker: its defaults (`*`) at start, and the `keep`
 * of every definition it runs whenever its handlers change. The finish statements read it when a
 * task ends (its `expires_at`); the cleaner deletes by that.
 */
export const syncRetention = (options: {
  readonly store: Store
  readonly registry: TaskRegistry["Type"]
  readonly keepSucceeded: Duration.Duration
  readonly keepFailed: Duration.Duration
}) => {
  const defaults: Retention = {
    key: defaultKey,
    succeeded: millis(options.keepSucceeded),
    failed: millis(options.keepFailed),
    canceled: millis(options.keepFailed)
  }
  const write = Effect.gen(function*() {
    const keys = yield* options.registry.runnableKeys
    const tasks = yield* Effect.forEach(keys, (key) => options.registry.get(key))
    const rows = tasks.flatMap((entry) => Option.isSome(entry) ? [retentionOf(entry.value.task)] : [])
    yield* options.store.writeRetention([defaults, ...rows])
  }).pipe(Effect.catchAll((error) => Effect.logWarning("could not record the retention of finished tasks; trying at the next change", error)))
  return options.registry.changes.pipe(Stream.runForEach(() => write))
}
