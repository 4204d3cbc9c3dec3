import { CliApp, Command, ValidationError } from "@effect/cli"
import { Terminal } from "@effect/platform"
import { Cause, Console, Effect, Exit } from "effect"
import { createRequire } from "node:module"
import { CliFailure, ExitCode } from "./common.js"
import { cancel, move, pause, remove, rerun, resume } from "./change.js"
import { dashboard } from "./dashboard.js"
import { clean, migrate, verify } from "./maintain.js"
import { explain, list, show, status } from "./read.js"

const root = Command.make("effect-tasks").pipe(
  Command.withDescription("See and steer effect-tasks: queues, tasks and worker nodes in a PostgreSQL database"),
  Command.withSubcommands([migrate, status, list, show, explain, rerun, cancel, pause, resume, move, remove, clean, verify, dashboard])
)

const version = (createRequire(import.meta.url)("../../../package.json") as { version: string }).version

const cli = Command.run(root, { name: "effect-tasks", version })

/** The exit code of a failure, and what to print for it (nothing when @effect/cli printed it). */
const failureOf = (error: unknown): { readonly code: ExitCode; readonly message?: string } => {
  if (ValidationError.isValidationError(error)) return { code: ExitCode.usage }
  if (Terminal.isQuitException(error)) return { code: ExitCode.notConfirmed, message: "not confirmed: nothing changed" }
  if (error instanceof CliFailure) return { code: error.code, message: error.message }
  const tag = typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : ""
  const message = error instanceof Error ? error.message : String(error)
  switch (tag) {
    case "InvalidTaskId":
    case "InvalidTaskOptions":
      return { code: ExitCode.usage, message }
    case "TaskStateConflict":
      return { code: ExitCode.refused, message }
    case "SchemaNotMigrated":
      return { code: ExitCode.error, message: `${message} (run: effect-tasks migrate)` }
    default:
      return { code: ExitCode.error, message }
  }
}

/**
 * Runs the command line on `argv` (as `process.argv`: the node binary and the script first) and
 * succeeds with its exit code; errors go to stderr as one line.
 */
export const run = (argv: ReadonlyArray<string>): Effect.Effect<ExitCode, never, CliApp.CliApp.Environment> =>
  Effect.exit(cli(argv)).pipe(
    Effect.flatMap((exit) => {
      if (Exit.isSuccess(exit)) return Effect.succeed(ExitCode.ok)
      const failure = Cause.failureOption(exit.cause)
      const { code, message } = failure._tag === "Some"
        ? failureOf(failure.value)
        : { code: ExitCode.error, message: Cause.pretty(exit.cause) }
      return Effect.as(message === undefined ? Effect.void : Console.error(`effect-tasks: ${message}`), code)
    })
  )
