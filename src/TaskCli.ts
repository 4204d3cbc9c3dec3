/**
 * The `effect-tasks` command line: migrate the schema, see queues, tasks and worker nodes, and
 * steer tasks (rerun, cancel, pause, resume, move, delete, clean), from a terminal or a script.
 * Every command reads `--url` (default: `DATABASE_URL`) and `--schema`, prints tables (`--json`
 * for scripts) and ends with an exit code scripts can test: 0 done, 1 an error, 2 bad arguments,
 * 3 nothing found, 4 refused, 5 not confirmed.
 *
 * @since 0.1.0
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"
import type { ExitCode } from "./internal/cli/common.js"
import { run as runCli } from "./internal/cli/main.js"

export {
  /**
   * The exit codes, by name.
   * @since 0.1.0
   * @category models
   */
  ExitCode
} from "./internal/cli/common.js"

/**
 * Runs the command line on `argv` (shaped as `process.argv`: the node binary and the script
 * first); succeeds with the exit code. Needs the platform's `FileSystem`, `Path` and `Terminal`
 * (`NodeContext.layer`).
 * @since 0.1.0
 * @category running
 */
export const run = runCli

/**
 * Runs the command line on this process's arguments and exits with its code.
 * @since 0.1.0
 * @category running
 */
export const main = (argv: ReadonlyArray<string> = process.argv): void =>
  runCli(argv).pipe(
    Effect.flatMap((code: ExitCode) => Effect.sync(() => (process.exitCode = code))),
    Effect.provide(NodeContext.layer),
    NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
  )
