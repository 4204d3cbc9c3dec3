import { Args, Command, Options, Prompt } from "@effect/cli"
import { Effect, Option } from "effect"
import * as TaskAdmin from "../../TaskAdmin.js"
import { applyChange } from "../admin/apply.js"
import { type Change, isEmptyFilter, within } from "../admin/changeable.js"
import { CliFailure, connection, ExitCode, storeLayer } from "./common.js"
import { filterOptions, type FilterInput, toFilter } from "./filter.js"
import { print } from "./render.js"

const changeOptions = {
  ...connection,
  ...filterOptions,
  yes: Options.boolean("yes").pipe(Options.withAlias("y"), Options.withDescription("change the tasks a filter matches without asking")),
  ids: Args.text({ name: "id" }).pipe(Args.withDescription("task ids (or a filter instead)"), Args.repeated)
}

interface ChangeInput extends FilterInput {
  readonly ids: ReadonlyArray<string>
  readonly yes: boolean
}

/**
 * The tasks a change names: its ids, or its filter once confirmed (asked on a terminal, else
 * `--yes` needed), told how many of the tasks it matches the change can apply to. Both, or
 * neither, is a usage error.
 */
const targetOf = (verb: Change, input: ChangeInput) =>
  Effect.gen(function*() {
    const filter = yield* toFilter(input)
    const hasFilter = !isEmptyFilter(filter)
    if (input.ids.length > 0 && hasFilter) {
      return yield* new CliFailure({ message: `${verb}: give task ids or a filter, not both`, code: ExitCode.usage })
    }
    if (input.ids.length > 0) return input.ids as TaskAdmin.Target
    if (!hasFilter) {
      return yield* new CliFailure({ message: `${verb}: give task ids or a filter (--status, --queue, ...)`, code: ExitCode.usage })
    }
    if (!input.yes) {
      const matching = yield* TaskAdmin.count(within(filter, verb))
      const question = `${verb} the ${matching} task(s) the filter matches now?`
      if (process.stdin.isTTY !== true) {
        return yield* new CliFailure({ message: `${question} Not confirmed: pass --yes`, code: ExitCode.notConfirmed })
      }
      const confirmed = yield* Prompt.confirm({ message: question }).pipe(Effect.orElseSucceed(() => false))
      if (!confirmed) return yield* new CliFailure({ message: "not confirmed: nothing changed", code: ExitCode.notConfirmed })
    }
    return filter as TaskAdmin.Target
  })

const report = (json: boolean, verb: string, changed: ReadonlyArray<string>) =>
  print(json, { changed }, () =>
    changed.length === 0 ? `${verb}: no task changed` : `${verb}: ${changed.length} task(s): ${changed.join(", ")}`)

/** A change of tasks named by ids or a filter (see `applyChange`), reporting the ids it changed. */
const changeCommand = (verb: Exclude<Change, "move">, description: string) =>
  Command.make(verb, changeOptions, (options) =>
    Effect.flatMap(targetOf(verb, options), (target) => applyChange(verb, target)).pipe(
      Effect.flatMap((changed) => report(options.json, verb, changed)),
      Effect.provide(storeLayer(options))
    )).pipe(Command.withDescription(description))

export const cancel = changeCommand("cancel", "Cancel tasks: waiting ones at once, running ones by their node")
export const rerun = changeCommand("rerun", "Run finished tasks (succeeded, failed, canceled) again")
export const remove = changeCommand("delete", "Delete tasks that are not running")
export const pause = changeCommand("pause", "Pause tasks (a queue's: --queue): waiting ones at once, running ones once their node stops them")
export const resume = changeCommand("resume", "Resume paused tasks (a queue's: --queue)")

/** `move`: waiting or paused tasks to another queue, priority, owner or due time. */
export const move = Command.make("move", {
  ...changeOptions,
  toQueue: Options.text("to-queue").pipe(Options.withDescription("the queue to move them to"), Options.optional),
  toPriority: Options.integer("to-priority").pipe(Options.withDescription("their new priority"), Options.optional),
  toOwner: Options.text("to-owner").pipe(Options.withDescription("their new owner"), Options.optional),
  toRunAt: Options.date("to-run-at").pipe(Options.withDescription("their new due time"), Options.optional)
}, (options) =>
  Effect.gen(function*() {
    const to: TaskAdmin.MoveOptions = {
      queue: Option.getOrUndefined(options.toQueue),
      priority: Option.getOrUndefined(options.toPriority),
      owner: Option.getOrUndefined(options.toOwner),
      runAt: Option.getOrUndefined(options.toRunAt)
    }
    if (Object.values(to).every((value) => value === undefined)) {
      return yield* new CliFailure({ message: "move: say where: --to-queue, --to-priority, --to-owner or --to-run-at", code: ExitCode.usage })
    }
    const changed = yield* applyChange("move", yield* targetOf("move", options), to)
    yield* report(options.json, "move", changed)
  }).pipe(Effect.provide(storeLayer(options)))).pipe(
    Command.withDescription("Move waiting or paused tasks to another queue, priority, owner or due time")
  )
