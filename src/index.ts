/**
 * effect-tasks: durable, transactional tasks for Effect on PostgreSQL.
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Task from "./Task.js"

/** @since 0.1.0 */
export * as Tasks from "./Tasks.js"

/** @since 0.1.0 */
export * as TaskRegistry from "./TaskRegistry.js"

/** @since 0.1.0 */
export * as TaskManager from "./TaskManager.js"

/** @since 0.1.0 */
export * as TaskAdmin from "./TaskAdmin.js"

/** @since 0.1.0 */
export * as TaskMetrics from "./TaskMetrics.js"

/** @since 0.1.0 */
export * as SchedulingPolicy from "./SchedulingPolicy.js"

/**
 * A test kit: `Tasks.run` into memory and handlers run on the `TestClock`, without PostgreSQL.
 * @since 0.1.0
 */
export * as TaskTest from "./TaskTest.js"

/** @since 0.1.0 */
export * as TaskStore from "./TaskStore.js"

/** @since 0.1.0 */
export * as TaskStatus from "./TaskStatus.js"

/** @since 0.1.0 */
export * as TaskError from "./TaskError.js"

/** @since 0.1.0 */
export * as EmbeddedPostgres from "./EmbeddedPostgres.js"

/**
 * The worker Layer configured from the environment (`TaskManager.layerConfig()`).
 * @since 0.1.0
 */
export { TaskManagerLive } from "./TaskManager.js"
