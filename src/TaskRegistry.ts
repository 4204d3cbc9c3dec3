/**
 * The task definitions and handlers one process knows. `Tasks.run("key", ...)` looks definitions up
 * here; the worker claims only the keys that have a handler here. Handler Layers
 * (`task.handler(...)`) register into it; `TaskManager.layer` provides one.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Option, Stream, SubscriptionRef, type Tracer } from "effect"
import type * as Task from "./Task.js"
import { InvalidTaskDefinition } from "./TaskError.js"

/**
 * A handler with its services already provided: it takes the decoded argument and, from a worker,
 * the attempt's span, to make current while it runs (`Task.handler` does; a handler registered by
 * hand that ignores it runs outside the attempt's span).
 * @since 0.1.0
 * @category models
 */
export type Handler = (args: unknown, span?: Tracer.AnySpan) => Effect.Effect<unknown, unknown>

/**
 * A known definition and, when this process runs it, its handler.
 * @since 0.1.0
 * @category models
 */
export interface Entry {
  readonly task: Task.Any
  readonly handler: Option.Option<Handler>
}

/**
 * @since 0.1.0
 * @category services
 */
export class TaskRegistry extends Context.Tag("effect-tasks/TaskRegistry")<TaskRegistry, {
  /** Adds a definition without a handler, so it can be enqueued by key. Idempotent for the same definition. */
  readonly define: (task: Task.Any) => Effect.Effect<void, InvalidTaskDefinition>
  /** Adds a definition with its handler. Fails when the key already has a handler or another definition. */
  readonly register: (task: Task.Any, handler: Handler) => Effect.Effect<void, InvalidTaskDefinition>
  /** The entry for a key, if any. */
  readonly get: (key: string) => Effect.Effect<Option.Option<Entry>>
  /** The keys this process has handlers for: the only keys its worker claims. */
  readonly runnableKeys: Effect.Effect<ReadonlyArray<string>>
  /** Emits once now and once after every change (used to wake the claimer when handlers arrive). */
  readonly changes: Stream.Stream<void>
}>() {}

const conflict = (entries: ReadonlyMap<string, Entry>, task: Task.Any): string | undefined => {
  const existing = entries.get(task.key)
  return existing !== undefined && existing.task !== task
    ? "another definition already uses this key"
    : undefined
}

/**
 * Builds an empty registry.
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<TaskRegistry["Type"]> = Effect.gen(function*() {
    const entries = yield* SubscriptionRef.make<ReadonlyMap<string, Entry>>(new Map())

    const update = (task: Task.Any, handler: Option.Option<Handler>) =>
      SubscriptionRef.modifyEffect(entries, (current) => {
        const reason = conflict(current, task) ??
          (Option.isSome(handler) && Option.isSome(current.get(task.key)?.handler ?? Option.none())
            ? "a handler is already registered for this key"
            : undefined)
        if (reason !== undefined) return Effect.fail(new InvalidTaskDefinition({ key: task.key, reason }))
        const kept = Option.orElse(handler, () => current.get(task.key)?.handler ?? Option.none())
        return Effect.succeed([undefined, new Map(current).set(task.key, { task, handler: kept })] as const)
      })

    const service: TaskRegistry["Type"] = {
      define: (task) => update(task, Option.none()),
      register: (task, handler) => update(task, Option.some(handler)),
      get: (key) => Effect.map(SubscriptionRef.get(entries), (current) => Option.fromNullable(current.get(key))),
      runnableKeys: Effect.map(
        SubscriptionRef.get(entries),
        (current) => Array.from(current.values()).filter((entry) => Option.isSome(entry.handler)).map((entry) => entry.task.key)
      ),
      changes: Stream.map(entries.changes, () => undefined)
    }
    return service
  })

/**
 * A registry holding the given definitions: what a producer-only process provides so that
 * `Tasks.run("key", ...)` can find a task by its key.
 * @since 0.1.0
 * @category layers
 */
export const layer = (definitions: Iterable<Task.Any> = []): Layer.Layer<TaskRegistry, InvalidTaskDefinition> =>
  Layer.effect(TaskRegistry, Effect.tap(make, (registry) => Effect.forEach(definitions, registry.define)))
