import { Effect, Option, Random, Ref } from "effect"
import * as os from "node:os"
import { NodeIdInUse } from "../../TaskError.js"
import type { Store } from "../store/store.js"
import type { Incarnation } from "../store/nodes.js"
import type { ResolvedOptions } from "../config/settings.js"

const generatedNodeId = Effect.map(
  Random.nextIntBetween(0, 36 ** 6),
  (n) => `${os.hostname()}/${process.pid}/${n.toString(36).padStart(6, "0")}`
)

/** This process as a node: its name, and the incarnation its heartbeat and maintenance present. */
export interface Node {
  readonly nodeId: string
  readonly host: string
  readonly registration: Ref.Ref<Option.Option<Incarnation>>
}

/**
 * Brings the schema to this code's version (or checks it is, with `migrate: false`), then
 * registers this process under its node id as a new incarnation; a name a live node holds is
 * `NodeIdInUse`.
 */
export const registerNode = (store: Store, options: ResolvedOptions) =>
  Effect.gen(function*() {
    yield* options.migrate ? store.migrate : store.verifyVersion
    const nodeId = Option.isSome(options.nodeId) ? options.nodeId.value : yield* generatedNodeId
    const host = os.hostname()
    const incarnation = yield* store.register({ nodeId, host, pid: process.pid, nodeTimeout: options.nodeTimeout })
    if (Option.isNone(incarnation)) return yield* new NodeIdInUse({ nodeId })
    const node: Node = { nodeId, host, registration: yield* Ref.make<Option.Option<Incarnation>>(incarnation) }
    return node
  })
