import { expect, layer } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Layer, Option } from "effect"
import { SchedulingPolicy, TaskManager } from "../src/index.js"
import { freshSchema, PgTest } from "./support/database.js"

layer(PgTest, { excludeTestServices: true })("configuration", (it) => {
  it.scoped("TaskManager.layerConfig reads EFFECT_TASKS_* keys, and unset keys take the defaults", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const provider = ConfigProvider.fromMap(new Map([
        ["EFFECT_TASKS_SCHEMA", schema],
        ["EFFECT_TASKS_POOL_SIZE", "7"],
        ["EFFECT_TASKS_SCAN_INTERVAL", "2 seconds"],
        ["EFFECT_TASKS_STOP_TIMEOUT", "1 second"],
        ["EFFECT_TASKS_NODE_ID", "node-7"],
        ["EFFECT_TASKS_SCHEDULING", "strict-priority"],
        ["EFFECT_TASKS_COMPLETION_DELAY", "50 millis"],
        ["EFFECT_TASKS_MAX_WORKER_LOSSES", "5"],
        ["EFFECT_TASKS_LISTEN", "false"],
        ["EFFECT_TASKS_KEEP_FAILED", "forever"],
        ["EFFECT_TASKS_KEEP_SUCCEEDED", "2 hours"]
      ]), { pathDelim: "_" }) // as the environment provider reads EFFECT_TASKS_POOL_SIZE
      const context = yield* Layer.build(TaskManager.layerConfig()).pipe(Effect.withConfigProvider(provider))
      const manager = yield* Effect.provide(TaskManager.TaskManager, context)
      expect(manager.nodeId).toBe("node-7")
      expect(manager.options.scheduling).toEqual(SchedulingPolicy.strictPriority)
      expect(manager.options).toMatchObject({ schema, poolSize: 7, claimAhead: 32, isClaimAheadAdaptive: true, claimBatchSize: 39, migrate: true, listen: false, maxWorkerLosses: 5 })
      expect(Duration.toMillis(manager.options.scanInterval)).toBe(2000)
      expect(Duration.toMillis(manager.options.stopTimeout)).toBe(1000)
      expect(Duration.toMillis(manager.options.completionDelay)).toBe(50)
      expect(manager.options.keepFailed).toEqual(Duration.infinity)
      expect(Duration.toMillis(manager.options.keepSucceeded)).toBe(2 * 3_600_000)
      expect(Duration.toMillis(manager.options.runningTimeout)).toBe(Duration.toMillis(TaskManager.defaults.runningTimeout))
    }))

  it.effect("TaskManager.config with no keys set gives every default", () =>
    Effect.gen(function*() {
      const options = yield* TaskManager.config.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map())))
      const resolved = yield* TaskManager.resolveOptions(options)
      const fromNothing = yield* TaskManager.resolveOptions()
      expect({ ...resolved, checkCallback: null }).toEqual({ ...fromNothing, checkCallback: null })
      expect(options).toMatchObject({ schema: "effect_tasks", poolSize: 10, migrate: true, listen: true, maxWorkerLosses: 3 })
      expect(Duration.toMillis(options.scanInterval!)).toBe(5_000)
    }))

  it.effect("the defaults: a bounded pool and a bounded stop", () =>
    Effect.gen(function*() {
      const resolved = yield* TaskManager.resolveOptions()
      expect(Duration.toMillis(resolved.scanInterval)).toBe(5_000)
      expect(Duration.toMillis(resolved.runningTimeout)).toBe(30 * 60_000)
      expect(Duration.toMillis(resolved.stopTimeout)).toBe(30_000)
      expect(resolved.poolSize).toBe(10)
      expect(Duration.toMillis(resolved.completionDelay)).toBe(0)
      expect(resolved.nodeId).toEqual(Option.none())
      expect(resolved.scheduling).toEqual(SchedulingPolicy.fair())
      expect(Duration.toMillis(resolved.keepSucceeded)).toBe(86_400_000)
      expect(Duration.toMillis(resolved.keepFailed)).toBe(7 * 86_400_000)
    }))

  it.effect("invalid configuration is a typed error naming the option", () =>
    Effect.gen(function*() {
      const cases = [
        [{ poolSize: 0 }, "poolSize"],
        [{ claimBatchSize: -1 }, "claimBatchSize"],
        [{ scanInterval: 0 }, "scanInterval"],
        [{ stopTimeout: "forever" as never }, "stopTimeout"],
        [{ runningTimeout: Duration.infinity }, "runningTimeout"],
        [{ schema: "public; drop" }, "schema"],
        [{ heartbeatInterval: "1 second", nodeTimeout: "3 seconds" }, "nodeTimeout"],
        [{ scheduling: SchedulingPolicy.fair({ weights: { critical: 0 } }) }, "scheduling"],
        [{ scheduling: { _tag: "Random" } as never }, "scheduling"],
        [{ nodeId: "" }, "nodeId"],
        [{ nodeId: "node\u0000" }, "nodeId"],
        [{ nodeId: `node-${"🙂".slice(0, 1)}` }, "nodeId"],
        [{ nodeId: "n".repeat(201) }, "nodeId"],
        [{ completionDelay: -1 }, "completionDelay"],
        [{ completionDelay: "10 seconds" }, "completionDelay"],
        [{ completionDelay: Duration.infinity }, "completionDelay"],
        [{ keepSucceeded: 0 }, "keepSucceeded"],
        [{ keepFailed: "sometimes" as never }, "keepFailed"]
      ] as const
      for (const [options, option] of cases) {
        const error = yield* Effect.flip(TaskManager.resolveOptions(options))
        expect(error._tag).toBe("InvalidTaskOptions")
        expect(error.option).toBe(option)
      }
    }))
})
