import { Args, Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import * as TaskAdmin from "../../TaskAdmin.js"
import type { TaskRow } from "../../TaskStore.js"
import { CliFailure, connection, ExitCode, storeLayer } from "./common.js"
import { filterOptions, toFilter } from "./filter.js"
import { age, cell, print, table } from "./render.js"

/** `status`: per queue and state, the oldest wait, and the nodes (live or not, the leader). */
export const status = Command.make("status", connection, (options) =>
  Effect.gen(function*() {
    const [queues, nodes] = yield* Effect.all([TaskAdmin.stats, TaskAdmin.nodes])
    yield* print(options.json, { queues, nodes }, () =>
      [
        queues.length === 0 ? "no tasks" : table(
          ["QUEUE", "WAITING", "PAUSED", "RUNNING", "OLDEST WAIT", "SUCCEEDED 1H", "FAILED 1H", "CANCELED 1H"],
          queues.map((q) => [q.queue, q.waiting, q.paused, q.running, age(q.oldestWaitingSeconds), q.succeededLastHour, q.failedLastHour, q.canceledLastHour])
        ),
        "",
        nodes.length === 0 ? "no nodes" : table(
          ["NODE", "HOST", "PID", "STATE", "LAST BEAT", "RUNNING", "LEADER"],
          nodes.map((n) => [n.id, n.host, n.pid, n.isLive ? "live" : "silent", `${age(n.silentSeconds)} ago`, n.running, n.isLeader ? "yes" : ""])
        )
      ].join("\n"))
  }).pipe(Effect.provide(storeLayer(options)))).pipe(
    Command.withDescription("Tasks per queue and state, the oldest wait, and the worker nodes with the leader")
  )

const rowsTable = (tasks: ReadonlyArray<TaskRow>) =>
  table(
    ["ID", "KEY", "QUEUE", "STATUS", "ATTEMPT", "RUN AT", "CREATED", "LAST ERROR"],
    tasks.map((t) => [t.id, t.key, t.queue, t.status, `${t.attempt}/${t.maxAttempts}`, t.runAt, t.createdAt, firstLine(t.lastError)])
  )

const firstLine = (text: string | null) => text === null ? null : text.split("\n")[0]!.slice(0, 100)

/** `list`: the tasks a filter matches, one keyset page at a time. */
export const list = Command.make("list", {
  ...connection,
  ...filterOptions,
  limit: Options.integer("limit").pipe(Options.withDescription("tasks per page (1 to 1,000)"), Options.withDefault(50)),
  oldest: Options.boolean("oldest").pipe(Options.withDescription("oldest first (default: newest first)")),
  after: Options.text("after").pipe(Options.withDescription("the cursor printed after the page before"), Options.optional)
}, (options) =>
  Effect.gen(function*() {
    const filter = yield* toFilter(options)
    const page = yield* TaskAdmin.list(filter, {
      limit: options.limit,
      order: options.oldest ? "oldest" : "newest",
      after: Option.getOrUndefined(options.after)
    })
    yield* print(options.json, page, () =>
      [
        page.tasks.length === 0 ? "no tasks" : rowsTable(page.tasks),
        ...Option.match(page.next, { onNone: () => [], onSome: (next) => [`next page: --after ${next}`] })
      ].join("\n"))
  }).pipe(Effect.provide(storeLayer(options)))).pipe(
    Command.withDescription("List tasks by status, key, queue, owner, lineage, arguments or time; newest first, in pages")
  )

const id = Args.text({ name: "id" }).pipe(Args.withDescription("a task id"))

const found = <A>(id: string, option: Option.Option<A>) =>
  Option.match(option, {
    onNone: () => Effect.fail(new CliFailure({ message: `no task ${id}`, code: ExitCode.notFound })),
    onSome: Effect.succeed
  })

/** `show <id>`: the row, its last error, checkpoint, progress, result and children, and why it waits. */
export const show = Command.make("show", { ...connection, id }, (options) =>
  Effect.gen(function*() {
    const task = yield* found(options.id, yield* TaskAdmin.get(options.id))
    const children = yield* TaskAdmin.list({ parentId: task.id }, { limit: 100, order: "oldest" })
    const explanation = yield* found(options.id, yield* TaskAdmin.explain(task.id))
    yield* print(options.json, { task, children: children.tasks, explanation }, () => {
      const fields: Array<[string, unknown]> = [
        ["id", task.id],
        ["key", task.key],
        ["queue", task.queue],
        ["status", task.status],
        ["attempt", `${task.attempt}/${task.maxAttempts}`],
        ["priority", task.priority],
        ["run at", task.runAt],
        ["created", task.createdAt],
        ["started", task.startedAt],
        ["finished", task.finishedAt],
        ["claimed by", task.claimedBy],
        ["owner", task.owner],
        ["parent", task.parentId],
        ["root", task.rootId],
        ["lost", task.lostCount],
        ["args", task.args],
        ["checkpoint", task.checkpoint],
        ["progress", task.progress === null ? null : `${Math.round(task.progress.fraction * 100)}% ${task.progress.phase}`],
        ["result", task.result],
        ["trace", task.traceparent]
      ]
      return [
        ...fields.map(([name, value]) => `${name.padEnd(11)} ${cell(value)}`),
        "",
        `why: ${explanation.text}`,
        ...(task.errors === null || task.errors.length === 0 ? [] : [
          "",
          "failed attempts:",
          table(["ATTEMPT", "AT", "ERROR"], task.errors.map((failed) => [failed.attempt, failed.at, firstLine(failed.error)]))
        ]),
        ...(task.lastError === null ? [] : ["", "last error:", task.lastError]),
        ...(children.tasks.length === 0 ? [] : ["", `children (${children.tasks.length}):`, rowsTable(children.tasks)])
      ].join("\n")
    })
  }).pipe(Effect.provide(storeLayer(options)))).pipe(
    Command.withDescription("One task's row, failed attempts, last error, checkpoint, progress, result and children")
  )

/** `explain <id>`: why a task is where it is (not due, paused, a queue at its limit, ...). */
export const explain = Command.make("explain", { ...connection, id }, (options) =>
  Effect.gen(function*() {
    const explanation = yield* found(options.id, yield* TaskAdmin.explain(options.id))
    yield* print(options.json, explanation, () => `${explanation.id} ${explanation.status}: ${explanation.text}`)
  }).pipe(Effect.provide(storeLayer(options)))).pipe(
    Command.withDescription("Why a task waits, runs or ended")
  )

