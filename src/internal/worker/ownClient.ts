import * as Reactivity from "@effect/experimental/Reactivity"
import type { SqlError } from "@effect/sql/SqlError"
import { TaskStoreError } from "../../TaskError.js"
import { PgClient } from "@effect/sql-pg"
import { Duration, Effect, Redacted, type Scope } from "effect"
import { createHash } from "node:crypto"
import * as Pg from "pg"
import { tuning } from "../config/settings.js"

/**
 * A node-postgres client that prepares every statement with parameters under a name derived from
 * its text: each connection parses and plans it once, then only binds and executes it. The
 * worker's statements are few and their texts fixed (values are always parameters), so the named
 * statements per connection stay few; PostgreSQL plans them with the parameters for the first five
 * executions, then keeps a generic plan if it is no worse.
 */
class PreparingClient extends Pg.Client {
  private readonly names = new Map<string, string>()

  override query(...args: Array<any>): any {
    const [text, values] = args
    if (typeof text === "string" && Array.isArray(values) && values.length > 0) {
      let name = this.names.get(text)
      if (name === undefined) {
        name = `effect_tasks_${createHash("sha1").update(text).digest("base64url")}`
        this.names.set(text, name)
      }
      args[0] = { name, text, values }
      args.splice(1, 1)
    }
    return (super.query as (...args: Array<any>) => any)(...args)
  }
}

const millis = (input: Duration.DurationInput | undefined) => input === undefined ? undefined : Duration.toMillis(input)

/**
 * The worker's own PgClient: the application's connection settings, `maxConnections` of its own,
 * and prepared statements (see `PreparingClient`).
 */
const makeOwnClient = (
  config: PgClient.PgClientConfig,
  maxConnections: number
): Effect.Effect<PgClient.PgClient, SqlError, Scope.Scope | Reactivity.Reactivity> =>
  PgClient.fromPool({
    acquire: Effect.acquireRelease(
      Effect.sync(() => {
        const pool = new Pg.Pool({
          Client: PreparingClient,
          connectionString: config.url === undefined ? undefined : Redacted.value(config.url),
          user: config.username,
          host: config.host,
          database: config.database,
          password: config.password === undefined ? undefined : Redacted.value(config.password),
          ssl: config.ssl,
          port: config.port,
          ...(config.stream === undefined ? {} : { stream: config.stream }),
          connectionTimeoutMillis: millis(config.connectTimeout),
          idleTimeoutMillis: millis(config.idleTimeout),
          max: maxConnections,
          maxLifetimeSeconds: config.connectionTTL === undefined ? undefined : Duration.toSeconds(config.connectionTTL),
          application_name: config.applicationName ?? "@effect/sql-pg",
          types: config.types
        } as Pg.PoolConfig)
        pool.on("error", () => {})
        return pool
      }),
      (pool) => Effect.promise(() => pool.end()).pipe(Effect.interruptible, Effect.timeoutOption(1000))
    ),
    applicationName: config.applicationName,
    spanAttributes: config.spanAttributes,
    transformResultNames: config.transformResultNames,
    transformQueryNames: config.transformQueryNames,
    transformJson: config.transformJson,
    types: config.types
  })

/**
 * Connections of the manager's own, for the heartbeat, claims, attempts' ends, maintenance and
 * LISTEN pings (one statement at a time each):
 * handlers that hold every connection of the application's pool cannot starve the heartbeat, so a
 * healthy node never fences itself or loses its leases for want of a connection.
 */

/**
 * The manager's own PgClient (prepared statements, the application's connection settings).
 * `Reactivity` is provided fresh: it only matters to queries that use it, and the manager's do not.
 */
export const makeManagerClient = (pg: PgClient.PgClient) =>
  makeOwnClient(pg.config, tuning.ownConnections).pipe(
    Effect.provide(Reactivity.layer),
    Effect.mapError((cause) => new TaskStoreError({ operation: "connect", cause }))
  )
