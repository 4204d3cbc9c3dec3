import { Options } from "@effect/cli"
import { Effect, Option } from "effect"
import type { Filter } from "../admin/find.js"
import * as TaskStatus from "../../TaskStatus.js"
import { CliFailure, ExitCode } from "./common.js"

/** The filter options of `list` and of every change by filter: each given must hold. */
export const filterOptions = {
  status: Options.choice("status", TaskStatus.TaskStatus.literals).pipe(
    Options.withDescription("tasks in this status (repeat for several)"),
    Options.repeated
  ),
  key: Options.text("key").pipe(Options.withDescription("tasks of this task key (repeat for several)"), Options.repeated),
  queue: Options.text("queue").pipe(Options.withDescription("tasks in this queue"), Options.optional),
  owner: Options.text("owner").pipe(Options.withDescription("tasks of this owner"), Options.optional),
  parent: Options.text("parent").pipe(Options.withDescription("children of this task id"), Options.optional),
  root: Options.text("root").pipe(Options.withDescription("descendants of this root task id"), Options.optional),
  args: Options.text("args").pipe(
    Options.withDescription("JSON the stored arguments contain, e.g. '{\"orderId\":42}'"),
    Options.optional
  ),
  createdAfter: Options.date("created-after").pipe(Options.withDescription("created after this time"), Options.optional),
  createdBefore: Options.date("created-before").pipe(Options.withDescription("created before this time"), Options.optional),
  finishedAfter: Options.date("finished-after").pipe(Options.withDescription("finished after this time"), Options.optional),
  finishedBefore: Options.date("finished-before").pipe(Options.withDescription("finished before this time"), Options.optional)
}

export interface FilterInput {
  readonly status: ReadonlyArray<TaskStatus.TaskStatus>
  readonly key: ReadonlyArray<string>
  readonly queue: Option.Option<string>
  readonly owner: Option.Option<string>
  readonly parent: Option.Option<string>
  readonly root: Option.Option<string>
  readonly args: Option.Option<string>
  readonly createdAfter: Option.Option<Date>
  readonly createdBefore: Option.Option<Date>
  readonly finishedAfter: Option.Option<Date>
  readonly finishedBefore: Option.Option<Date>
}

/** The options as a `TaskAdmin` filter; `--args` must be JSON. */
export const toFilter = (input: FilterInput): Effect.Effect<Filter, CliFailure> =>
  Effect.gen(function*() {
    const text = Option.getOrUndefined(input.args)
    const args = text === undefined ? undefined : yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: () => new CliFailure({ message: `--args must be JSON: ${text}`, code: ExitCode.usage })
    })
    return {
      ...(input.status.length > 0 ? { status: input.status } : {}),
      ...(input.key.length > 0 ? { key: input.key } : {}),
      queue: Option.getOrUndefined(input.queue),
      owner: Option.getOrUndefined(input.owner),
      parentId: Option.getOrUndefined(input.parent),
      rootId: Option.getOrUndefined(input.root),
      ...(args === undefined ? {} : { args }),
      createdAfter: Option.getOrUndefined(input.createdAfter),
      createdBefore: Option.getOrUndefined(input.createdBefore),
      finishedAfter: Option.getOrUndefined(input.finishedAfter),
      finishedBefore: Option.getOrUndefined(input.finishedBefore)
    }
  })
