import { Effect, Option, ParseResult, Schema } from "effect"
import type * as Task from "../../Task.js"
import type { SchemaNotMigrated, TaskStoreError } from "../../TaskError.js"
import * as TaskStatus from "../../TaskStatus.js"
import type { TaskRow } from "../store/taskRow.js"
import type { TaskStore } from "../store/service.js"
import { withStore } from "./context.js"

/**
 * What `verify` found: how many unfinished tasks it checked, the keys whose stored arguments or
 * checkpoints the definitions given no longer decode (with up to three examples each), and the keys
 * no definition given has.
 * @since 0.1.0
 * @category models
 */
export interface Verification {
  readonly checked: number
  readonly undecodable: ReadonlyArray<{
    readonly key: string
    readonly count: number
    readonly examples: ReadonlyArray<{ readonly id: string; readonly issue: string }>
  }>
  readonly unknownKeys: ReadonlyArray<{ readonly key: string; readonly count: number }>
}

/** The definitions to check against: a list, or a `TaskRegistry`'s. */
type Definitions = ReadonlyArray<Task.Any> | { readonly get: (key: string) => Effect.Effect<Option.Option<{ readonly task: Task.Any }>> }

const lookUp = (definitions: Definitions) => {
  if (!Array.isArray(definitions)) {
    const registry = definitions as Exclude<Definitions, ReadonlyArray<Task.Any>>
    return (key: string) => Effect.map(registry.get(key), Option.map((entry) => entry.task))
  }
  const byKey = new Map((definitions as ReadonlyArray<Task.Any>).map((task) => [task.key, task]))
  return (key: string) => Effect.succeed(Option.fromNullable(byKey.get(key)))
}

/** Why a stored value does not decode with `schema`, or undefined when it does. */
const problem = (schema: Schema.Schema<any, any>, value: unknown): string | undefined => {
  const decoded = Schema.decodeUnknownEither(schema)(value, { errors: "all" })
  return decoded._tag === "Right" ? undefined : ParseResult.TreeFormatter.formatErrorSync(decoded.left)
}

const check = (task: Task.Any, row: TaskRow): string | undefined => {
  const args = problem(task.args, row.args)
  if (args !== undefined) return `arguments: ${args}`
  if (row.checkpoint === null || row.checkpoint === undefined || Option.isNone(task.checkpointSchema)) return undefined
  const checkpoint = problem(task.checkpointSchema.value, row.checkpoint)
  return checkpoint === undefined ? undefined : `checkpoint: ${checkpoint}`
}

/**
 * Before a deploy: decodes every unfinished task's stored arguments (and checkpoint) with the
 * definitions about to run them (a list, or a `TaskRegistry`) and reports the tasks that would
 * fail as `UndecodableTask`, by key and count with examples, and the keys none of them defines.
 * Reads the unfinished tasks in pages of 1,000 through the index of unsettled tasks; changes
 * nothing.
 * @since 0.1.0
 * @category combinators
 */
export const verify = (
  definitions: Definitions
): Effect.Effect<Verification, SchemaNotMigrated | TaskStoreError, TaskStore> =>
  Effect.gen(function*() {
    const find = lookUp(definitions)
    const undecodable = new Map<string, { count: number; examples: Array<{ id: string; issue: string }> }>()
    const unknown = new Map<string, number>()
    let checked = 0
    let after: string | undefined
    for (;;) {
      const page = yield* withStore((store) =>
        store.list({ status: TaskStatus.unfinished }, { limit: 1000, order: "oldest", after })
      )
      for (const row of page) {
        checked += 1
        const task = yield* find(row.key)
        if (Option.isNone(task)) {
          unknown.set(row.key, (unknown.get(row.key) ?? 0) + 1)
          continue
        }
        const issue = check(task.value, row)
        if (issue === undefined) continue
        const found = undecodable.get(row.key) ?? { count: 0, examples: [] }
        found.count += 1
        if (found.examples.length < 3) found.examples.push({ id: row.id, issue })
        undecodable.set(row.key, found)
      }
      if (page.length < 1000) break
      after = page[page.length - 1]!.id
    }
    return {
      checked,
      undecodable: [...undecodable].map(([key, found]) => ({ key, ...found })).sort((a, b) => a.key.localeCompare(b.key)),
      unknownKeys: [...unknown].map(([key, count]) => ({ key, count })).sort((a, b) => a.key.localeCompare(b.key))
    }
  })
