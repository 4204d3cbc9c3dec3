import { type ChildProcess, spawn } from "node:child_process"
import { Effect, type Scope } from "effect"

/** A TypeScript program running as a real process (under tsx). */
export interface TsxProcess {
  readonly child: ChildProcess
  /** Completes with the exit code (null when a signal ended it). */
  readonly exited: Effect.Effect<number | null>
  /** Sends a signal (it does not wait: see `exited`). */
  readonly kill: (signal: NodeJS.Signals) => Effect.Effect<void>
  /** Everything it printed so far, stdout and stderr together (with `output: "capture"`). */
  readonly output: Effect.Effect<string>
}

/**
 * Starts `file` under tsx as a process of its own with these arguments; the scope SIGKILLs it if
 * it still runs. Its output is ignored, captured (see `TsxProcess.output`) or written to a file
 * descriptor.
 */
export const spawnTsx = (
  file: string,
  args: ReadonlyArray<string> = [],
  options: { readonly env?: Record<string, string>; readonly output?: "ignore" | "capture" | number } = {}
): Effect.Effect<TsxProcess, never, Scope.Scope> =>
  Effect.gen(function*() {
    const output = options.output ?? "ignore"
    let printed = ""
    const child = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const started = spawn(process.execPath, ["--import", "tsx", file, ...args], {
          env: { ...process.env, ...options.env },
          stdio: output === "capture" ? ["ignore", "pipe", "pipe"] : ["ignore", output, output]
        })
        const append = (chunk: Buffer) => void (printed += chunk.toString())
        started.stdout?.on("data", append)
        started.stderr?.on("data", append)
        return started
      }),
      (child) => Effect.sync(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"))
    )
    const exited = Effect.async<number | null>((resume) => {
      if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.succeed(child.exitCode))
      child.once("exit", (code) => resume(Effect.succeed(code)))
    })
    return {
      child,
      exited,
      kill: (signal) => Effect.sync(() => void child.kill(signal)),
      output: Effect.sync(() => printed)
    }
  })
