/**
 * The worker: a scoped Layer that claims tasks this process has handlers for and runs them in a
 * bounded pool. It is woken by LISTEN/NOTIFY when a task is committed and also scans every
 * `scanInterval`, so a lost notification only costs latency. Closing its scope is the graceful
 * stop: stop claiming, let running handlers finish up to `stopTimeout`, interrupt the rest and hand
 * their tasks back (the interrupted attempt is not counted), then hand back anything this node
 * still holds. After a stop no task of this node is left `running`, unless the database is
 * unreachable at that moment.
 *
 * @since 0.1.0
 */
import type { SqlClient } from "@effect/sql"
import type { PgClient } from "@effect/sql-pg"
import { type Config, Context, Effect, Layer, type Scope } from "effect"
import type { DatabaseSchema } from "./internal/store/tables.js"
import { startManager } from "./internal/worker/manager.js"
import * as environment from "./internal/config/environment.js"
import * as managerOptions from "./internal/config/settings.js"
import type * as supervisor from "./internal/worker/supervisor.js"
import type { IncompatibleSchema, InvalidTaskOptions, NodeIdInUse, TaskStoreError } from "./TaskError.js"
import * as TaskRegistry from "./TaskRegistry.js"
import * as TaskStore from "./TaskStore.js"

/**
 * What `TaskManager.layer` accepts. Every field is optional; `defaults` holds the values used.
 * @since 0.1.0
 * @category config
 */
export type Options = managerOptions.Options

/**
 * The options after defaults are applied.
 * @since 0.1.0
 * @category config
 */
export type ResolvedOptions = managerOptions.ResolvedOptions

/**
 * The defaults: a bounded pool, a bounded stop, and timings that find a dead node within seconds.
 * @since 0.1.0
 * @category config
 */
export const defaults = managerOptions.defaults

/**
 * Applies defaults and validates every option (`InvalidTaskOptions` names the option).
 * @since 0.1.0
 * @category config
 */
export const resolveOptions = managerOptions.resolveOptions

/**
 * Reads `Options` from configuration: `EFFECT_TASKS_<NAME>` in the environment (durations such as
 * `"5 seconds"`). Unset keys take the defaults.
 * @since 0.1.0
 * @category config
 */
export const config = environment.config

/**
 * @since 0.1.0
 * @category services
 */
export class TaskManager extends Context.Tag("effect-tasks/TaskManager")<TaskManager, {
  /** This node's name, as written to `claimed_by`. */
  readonly nodeId: string
  /** The options in force. */
  readonly options: ResolvedOptions
  /** How many handlers run now. */
  readonly running: Effect.Effect<number>
  /** Asks the claimer to look for work now, without waiting for NOTIFY or the scan. */
  readonly wake: Effect.Effect<void>
  /** Whether this node leads maintenance (rescue, checks) now. */
  readonly isLeader: Effect.Effect<boolean>
  /** Each background fiber's last success and current error. */
  readonly health: Effect.Effect<ReadonlyArray<FiberHealth>>
}>() {}

/**
 * How one background fiber (claimer, heartbeat, rescuer, checker, ...) is doing.
 * @since 0.1.0
 * @category models
 */
export type FiberHealth = supervisor.FiberHealth

/**
 * Starts a manager in the current scope; closing the scope stops it gracefully.
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<
  TaskManager["Type"],
  InvalidTaskOptions | NodeIdInUse | TaskStoreError | IncompatibleSchema,
  Scope.Scope | SqlClient.SqlClient | PgClient.PgClient | TaskRegistry.TaskRegistry
> =>
  Effect.flatMap(resolveOptions(options), startManager)

/**
 * The worker Layer. It provides the `TaskManager`, the `TaskRegistry` that handler Layers register
 * into, the `TaskStore` it works through (so `TaskAdmin` runs in the same program), and the
 * `DatabaseSchema` that `Tasks.run` reads. Build handler Layers on top of it, and
 * provide the services handlers use below it, so they outlive the graceful stop:
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { TaskManager } from "effect-tasks"
 * import { SendReceiptLive } from "./tasks.js"
 * import { DatabaseLive, MailerLive } from "./services.js"
 *
 * const WorkerLive = SendReceiptLive.pipe(
 *   Layer.provideMerge(TaskManager.layer({ poolSize: 20 })),
 *   Layer.provide(MailerLive),
 *   Layer.provide(DatabaseLive)
 * )
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<
  TaskManager | TaskRegistry.TaskRegistry | TaskStore.TaskStore | DatabaseSchema,
  InvalidTaskOptions | NodeIdInUse | TaskStoreError | IncompatibleSchema,
  SqlClient.SqlClient | PgClient.PgClient
> =>
  Layer.scoped(TaskManager, Effect.flatMap(managerOptions.ManagerConfig, startManager)).pipe(
    Layer.provide(Layer.effect(managerOptions.ManagerConfig, resolveOptions(options))),
    Layer.provideMerge(Layer.effect(TaskRegistry.TaskRegistry, TaskRegistry.make)),
    Layer.provideMerge(TaskStore.layer({ schema: options.schema ?? defaults.schema })),
    Layer.merge(TaskStore.layerDatabaseSchema(options.schema ?? defaults.schema))
  )

/**
 * The worker Layer with its options read from a `Config` (by default, `config`).
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (options: Config.Config<Options> = config) => Layer.unwrapEffect(Effect.map(options, layer))

/**
 * `TaskManager.layerConfig()`: the worker Layer configured from the environment.
 * @since 0.1.0
 * @category layers
 */
export const TaskManagerLive = layerConfig()
