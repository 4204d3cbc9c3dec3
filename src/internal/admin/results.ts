import { Effect, Option, ParseResult, Schema } from "effect"
import type * as Task from "../../Task.js"
import { type InvalidTaskId, type SchemaNotMigrated, type TaskStoreError, UndecodableTask } from "../../TaskError.js"
import type * as TaskStatus from "../../TaskStatus.js"
import type { TaskStore } from "../store/service.js"
import { checkIds, withStore } from "./context.js"

/**
 * A task's status and, once it succeeded, its result.
 * @since 0.1.0
 * @category models
 */
export interface TaskResult<S> {
  readonly id: string
  readonly status: TaskStatus.TaskStatus
  /** What the handler returned, decoded with the definition's `success` Schema; None until it succeeded (or without one). */
  readonly result: Option.Option<S>
}

/**
 * The results of tasks of one definition, decoded with its `success` Schema, in id order (ids of
 * other definitions, or no task, are left out). From a handler, the last of a parent's children
 * reads its siblings' results this way (fan-in). A stored result that no longer decodes is
 * `UndecodableTask`.
 * @since 0.1.0
 * @category combinators
 */
export const results = <S>(
  task: Task.Task<any, any, any, any, S>,
  ids: ReadonlyArray<string>
): Effect.Effect<
  ReadonlyArray<TaskResult<S>>,
  InvalidTaskId | UndecodableTask | SchemaNotMigrated | TaskStoreError,
  TaskStore
> =>
  Effect.gen(function*() {
    const checked = yield* checkIds(ids)
    const rows = yield* withStore((store) => store.getMany(checked))
    const decode = Option.map(task.successSchema, (schema) => Schema.decodeUnknown(schema))
    return yield* Effect.forEach(rows.filter((row) => row.key === task.key), (row) =>
      Option.isNone(decode) || row.result === null || row.result === undefined
        ? Effect.succeed({ id: row.id, status: row.status, result: Option.none<S>() })
        : decode.value(row.result, { errors: "all" }).pipe(
          Effect.mapBoth({
            onFailure: (error) =>
              new UndecodableTask({
                id: row.id,
                key: row.key,
                issue: `its result no longer decodes:\n${ParseResult.TreeFormatter.formatErrorSync(error)}`
              }),
            onSuccess: (result) => ({ id: row.id, status: row.status, result: Option.some(result) })
          })
        ))
  })
