import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Option, Schema } from "effect"
import * as TaskAdmin from "../../TaskAdmin.js"
import * as TaskStatus from "../../TaskStatus.js"
import { applyChange } from "../admin/apply.js"
import { type Change, changeable, isEmptyFilter, within } from "../admin/changeable.js"
import type { Filter } from "../admin/find.js"
import type { TaskRow } from "../store/taskRow.js"

/** A request the dashboard refuses, with the HTTP status and the message the page shows. */
export class Refused extends Schema.TaggedError<Refused>()("Refused", { status: Schema.Number, message: Schema.String }) {}

/** Everything the overview shows, read at once: queues, the last hour, nodes, queue limits. */
export const overview = Effect.all({
  queues: TaskAdmin.stats,
  lastHour: TaskAdmin.lastHour,
  nodes: TaskAdmin.nodes,
  limits: TaskAdmin.queues
}, { concurrency: "unbounded" })

const many = (params: URLSearchParams, name: string) => {
  const values = params.getAll(name).filter((value) => value !== "")
  return values.length === 0 ? undefined : values
}
const one = (params: URLSearchParams, name: string) => {
  const value = params.get(name)
  return value === null || value === "" ? undefined : value
}
const date = (params: URLSearchParams, name: string) => {
  const value = one(params, name)
  return value === undefined ? undefined : new Date(value)
}

/** The list filters of a query string (the names of `TaskAdmin.list`'s filter; `args` as JSON). */
export const filterOf = (params: URLSearchParams): Effect.Effect<Filter, Refused> =>
  Effect.gen(function*() {
    const args = one(params, "args")
    const parsed = args === undefined ? undefined : yield* Effect.try({
      try: () => JSON.parse(args) as unknown,
      catch: () => new Refused({ status: 400, message: "args: not JSON" })
    })
    return {
      status: many(params, "status") as ReadonlyArray<TaskStatus.TaskStatus> | undefined,
      key: many(params, "key"),
      queue: one(params, "queue"),
      owner: one(params, "owner"),
      parentId: one(params, "parentId"),
      rootId: one(params, "rootId"),
      ...(parsed === undefined ? {} : { args: parsed }),
      createdAfter: date(params, "createdAfter"),
      createdBefore: date(params, "createdBefore"),
      finishedAfter: date(params, "finishedAfter"),
      finishedBefore: date(params, "finishedBefore")
    }
  })

export const searchParams = Effect.map(HttpServerRequest.HttpServerRequest, (request) => new URL(request.url, "http://dashboard").searchParams)

/** A row as the page shows it: without its claim token (the fence of the attempt that holds it). */
const shown = ({ claimToken: _, ...row }: TaskRow) => row

/** A page of tasks: the filters, `limit`, `order` and `after` of the query string. */
export const tasks = Effect.gen(function*() {
  const params = yield* searchParams
  const limit = one(params, "limit")
  const order = one(params, "order")
  const page = yield* TaskAdmin.list(yield* filterOf(params), {
    limit: limit === undefined ? 50 : Number(limit),
    order: order === "oldest" ? "oldest" : "newest",
    after: one(params, "after")
  })
  return { tasks: page.tasks.map(shown), next: Option.getOrNull(page.next) }
})

/** One task: its row, why it is where it is, and its children (the first 200). */
export const task = (id: string) =>
  Effect.gen(function*() {
    const row = yield* TaskAdmin.get(id)
    if (Option.isNone(row)) return yield* new Refused({ status: 404, message: `no task ${id}` })
    const [explanation, children] = yield* Effect.all([
      TaskAdmin.explain(id),
      TaskAdmin.list({ parentId: id }, { limit: 200, order: "oldest" })
    ], { concurrency: "unbounded" })
    return {
      task: shown(row.value),
      explanation: Option.getOrNull(explanation),
      children: children.tasks.map(shown),
      moreChildren: Option.isSome(children.next)
    }
  })

const ActionBody = Schema.Struct({
  ids: Schema.optional(Schema.Array(Schema.String)),
  filter: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Union(Schema.String, Schema.Array(Schema.String)) })),
  to: Schema.optional(Schema.Struct({
    queue: Schema.optional(Schema.String),
    priority: Schema.optional(Schema.Number),
    runAt: Schema.optional(Schema.String)
  }))
})

export const actions = Object.keys(changeable) as ReadonlyArray<Change>

/**
 * An action on the task ids, or the filter (a query-string-like record), of a JSON body: what it
 * changed. A body with both or neither is refused.
 */
export const act = (action: Change) =>
  Effect.gen(function*() {
    const body = yield* HttpServerRequest.schemaBodyJson(ActionBody).pipe(
      Effect.mapError(() => new Refused({ status: 400, message: "the body must be JSON: { ids } or { filter }" }))
    )
    if ((body.ids === undefined) === (body.filter === undefined)) {
      return yield* new Refused({ status: 400, message: "give ids or a filter, not both" })
    }
    const filter = body.filter === undefined ? undefined : yield* filterOf(toParams(body.filter))
    if (filter !== undefined && isEmptyFilter(filter)) {
      return yield* new Refused({ status: 400, message: "an empty filter would change every task: name some" })
    }
    const changed = yield* applyChange(action, body.ids ?? filter!, {
      queue: body.to?.queue,
      priority: body.to?.priority,
      runAt: body.to?.runAt === undefined ? undefined : new Date(body.to.runAt)
    })
    return { action, changed }
  })

const toParams = (record: Readonly<Record<string, string | ReadonlyArray<string>>>) => {
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(record)) {
    for (const each of typeof value === "string" ? [value] : value) params.append(name, each)
  }
  return params
}

/** An error as the JSON the page shows, with its HTTP status. */
export const failure = (error: unknown): HttpServerResponse.HttpServerResponse => {
  const tag = typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : ""
  const message = error instanceof Error ? error.message : String(error)
  const status = error instanceof Refused
    ? error.status
    : tag === "InvalidTaskOptions" || tag === "InvalidTaskId"
    ? 400
    : tag === "TaskStateConflict"
    ? 409
    : 500
  return HttpServerResponse.unsafeJson({ error: message }, { status })
}

/** `self` as a JSON response, or its failure as one. */
export const answer = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<HttpServerResponse.HttpServerResponse, never, R> =>
  self.pipe(
    Effect.map((value) => HttpServerResponse.unsafeJson(value)),
    Effect.catchAll((error) => Effect.succeed(failure(error)))
  )


/** How many tasks a filter matches; with `action`, how many of them it would change. */
export const count = Effect.gen(function*() {
  const params = yield* searchParams
  const filter = yield* filterOf(params)
  const action = one(params, "action")
  const narrowed = action !== undefined && (actions as ReadonlyArray<string>).includes(action) ? within(filter, action as Change) : filter
  return { count: yield* TaskAdmin.count(narrowed) }
})
