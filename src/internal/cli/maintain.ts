import { Args, Command, Options } from "@effect/cli"
import { Effect } from "effect"
import { pathToFileURL } from "node:url"
import { resolve } from "node:path"
import * as Task from "../../Task.js"
import * as TaskAdmin from "../../TaskAdmin.js"
import { TaskStore } from "../../TaskStore.js"
import { CliFailure, connection, ExitCode, storeLayer } from "./common.js"
import { print, table } from "./render.js"

/** `migrate`: brings the schema up to date; `--status` and `--dry-run` only tell. */
export const migrate = Command.make("migrate", {
  ...connection,
  status: Options.boolean("status").pipe(Options.withDescription("print the applied and newest versions, apply nothing")),
  dryRun: Options.boolean("dry-run").pipe(Options.withDescription("print the migrations that would be applied, apply nothing"))
}, (options) =>
  Effect.gen(function*() {
    const before = yield* TaskAdmin.migrationStatus
    if (before.version > before.latest) {
      yield* print(options.json, before, () => `schema ${before.schema}: version ${before.version}, newer than this code's ${before.latest}`)
      return yield* new CliFailure({
        message: `schema ${before.schema} is newer (version ${before.version}) than this code (${before.latest}): upgrade effect-tasks`,
        code: ExitCode.refused
      })
    }
    if (options.status || options.dryRun) {
      return yield* print(options.json, before, () =>
        [
          `schema ${before.schema}: version ${before.version}, newest ${before.latest}`,
          before.pending.length === 0
            ? "up to date"
            : `${options.dryRun ? "would apply" : "to apply"}: ${before.pending.join(", ")}`
        ].join("\n"))
    }
    yield* Effect.flatMap(TaskStore, (store) => store.migrate)
    const after = yield* TaskAdmin.migrationStatus
    yield* print(options.json, { ...after, applied: before.pending }, () =>
      before.pending.length === 0
        ? `schema ${after.schema}: version ${after.version}, up to date`
        : `schema ${after.schema}: applied ${before.pending.join(", ")}; version ${after.version}`)
  }).pipe(Effect.provide(storeLayer(options)))).pipe(
    Command.withDescription("Create or update the task tables (--status, --dry-run: tell only)")
  )

/** `clean`: deletes finished tasks past their retention now; `--dry-run` counts them. */
export const clean = Command.make("clean", {
  ...connection,
  dryRun: Options.boolean("dry-run").pipe(Options.withDescription("count the tasks that would be deleted, delete nothing"))
}, (options) =>
  Effect.gen(function*() {
    const cleaned = yield* TaskAdmin.clean({ dryRun: options.dryRun })
    yield* print(options.json, cleaned, () =>
      options.dryRun
        ? `${cleaned.expired} finished task(s) past their retention would be deleted`
        : `deleted ${cleaned.deleted} finished task(s) past their retention`)
  }).pipe(Effect.provide(storeLayer(options)))).pipe(
    Command.withDescription("Delete finished tasks past their retention now (--dry-run: count them)")
  )

/** The task definitions a module exports: each export that is one, and those in exported arrays or objects. */
const definitionsIn = (exports: Record<string, unknown>): ReadonlyArray<Task.Any> => {
  const found = new Map<string, Task.Any>()
  const visit = (value: unknown) => {
    if (Task.isTask(value)) found.set(value.key, value)
    else if (Array.isArray(value)) value.forEach((item) => Task.isTask(item) && found.set(item.key, item))
  }
  for (const value of Object.values(exports)) {
    visit(value)
    if (value !== null && typeof value === "object" && !Array.isArray(value) && !Task.isTask(value)) Object.values(value).forEach(visit)
  }
  return Array.from(found.values())
}

/** `verify <module>`: the unfinished tasks' payloads against the definitions a module exports. */
export const verify = Command.make("verify", {
  ...connection,
  module: Args.text({ name: "module" }).pipe(
    Args.withDescription("a JavaScript module (path) that exports your task definitions")
  )
}, (options) =>
  Effect.gen(function*() {
    const exports = yield* Effect.tryPromise({
      try: () => import(pathToFileURL(resolve(options.module)).href) as Promise<Record<string, unknown>>,
      catch: (error) =>
        new CliFailure({ message: `cannot load ${options.module}: ${error instanceof Error ? error.message : String(error)}`, code: ExitCode.usage })
    })
    const definitions = definitionsIn(exports)
    if (definitions.length === 0) {
      return yield* new CliFailure({ message: `${options.module} exports no task definitions`, code: ExitCode.usage })
    }
    const verification = yield* TaskAdmin.verify(definitions)
    yield* print(options.json, verification, () =>
      [
        `checked ${verification.checked} unfinished task(s) against ${definitions.length} definition(s)`,
        ...(verification.undecodable.length === 0 ? [] : [
          "",
          "payloads that no longer decode:",
          table(["KEY", "TASKS", "EXAMPLE"], verification.undecodable.map((u) => [u.key, u.count, u.examples.map((e) => `${e.id}: ${e.issue}`)[0]]))
        ]),
        ...(verification.unknownKeys.length === 0 ? [] : [
          "",
          "keys with no definition:",
          table(["KEY", "TASKS"], verification.unknownKeys.map((u) => [u.key, u.count]))
        ])
      ].join("\n"))
    if (verification.undecodable.length > 0 || verification.unknownKeys.length > 0) {
      return yield* new CliFailure({ message: "some unfinished tasks would not run", code: ExitCode.refused })
    }
  }).pipe(Effect.provide(storeLayer(options)))).pipe(
    Command.withDescription("Check unfinished tasks' arguments against your task definitions")
  )
