import { Effect } from "effect"
import { InvalidTaskId, type TaskStoreError } from "../../TaskError.js"
import { refailUnmigrated } from "../store/refail.js"
import { type PublicStore, TaskStore } from "../store/service.js"

/** Runs a store operation; missing tables mean nothing has migrated the schema yet, which the error says. */
export const withStore = <A>(operation: (store: PublicStore) => Effect.Effect<A, TaskStoreError>) =>
  Effect.flatMap(TaskStore, (store) => refailUnmigrated(store.schema)(operation(store)))

const idPattern = /^[1-9][0-9]{0,18}$/
const maxId = 2n ** 63n - 1n

/** A task id: a positive 64-bit integer in decimal, as `Tasks.run` returns it. */
export const isTaskId = (id: unknown): id is string => typeof id === "string" && idPattern.test(id) && BigInt(id) <= maxId

/** The ids, or `InvalidTaskId` for the first that is not one. */
export const checkIds = (ids: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<string>, InvalidTaskId> => {
  const bad = ids.find((id) => !isTaskId(id))
  return bad === undefined ? Effect.succeed(ids) : Effect.fail(new InvalidTaskId({ id: String(bad) }))
}
