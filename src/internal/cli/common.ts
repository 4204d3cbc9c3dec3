import { Options } from "@effect/cli"
import { PgClient } from "@effect/sql-pg"
import { Config, Data, Effect, Layer, Option, Redacted } from "effect"
import * as TaskStore from "../../TaskStore.js"

/**
 * What a command's exit code tells a script: 0 done; 1 an error (the database unreachable, say);
 * 2 bad arguments; 3 nothing found; 4 refused (a task in another state, payloads that do not
 * decode); 5 not confirmed (a change by filter without `--yes`).
 */
export const ExitCode = { ok: 0, error: 1, usage: 2, notFound: 3, refused: 4, notConfirmed: 5 } as const
export type ExitCode = typeof ExitCode[keyof typeof ExitCode]

/** A command that ends with a message on stderr and an exit code other than 0. */
export class CliFailure extends Data.TaggedError("CliFailure")<{ readonly message: string; readonly code: ExitCode }> {}

/** The options every command that reads the database takes. */
export const connection = {
  url: Options.redacted("url").pipe(
    Options.withDescription("PostgreSQL connection URL (default: the DATABASE_URL environment variable)"),
    Options.optional
  ),
  schema: Options.text("schema").pipe(
    Options.withDescription("the database schema of the task tables"),
    Options.withDefault("effect_tasks")
  ),
  json: Options.boolean("json").pipe(Options.withDescription("print JSON for scripts instead of tables"))
}

export interface Connection {
  readonly url: Option.Option<Redacted.Redacted>
  readonly schema: string
}

/** The `TaskStore` (and its `SqlClient`) of the database and schema the options name. */
export const storeLayer = (options: Connection) =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const missing = new CliFailure({ message: "no database: pass --url or set DATABASE_URL", code: ExitCode.usage })
    const url = Option.isSome(options.url)
      ? options.url.value
      : yield* Config.redacted("DATABASE_URL").pipe(Effect.mapError(() => missing))
    if (Redacted.value(url) === "") return yield* missing
    const client = PgClient.layer({ url, maxConnections: 2 })
    return TaskStore.layer({ schema: options.schema }).pipe(
      Layer.provideMerge(client),
      Layer.mapError((error) =>
        error._tag === "InvalidTaskOptions"
          ? new CliFailure({ message: error.message, code: ExitCode.usage })
          : new CliFailure({ message: `cannot connect to the database: ${error.message}`, code: ExitCode.error })
      )
    )
  }))
