import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Duration, Effect, Schedule, Stream } from "effect"
import type { TaskStore } from "../../TaskStore.js"
import { act, actions, answer, count, failure, overview, Refused, task, tasks } from "./api.js"
import type { Change } from "../admin/changeable.js"
import { page } from "./page.js"

/** How the dashboard is served (see `TaskDashboard.Options`), with its defaults. */
export interface Settings {
  readonly readOnly: boolean
  readonly authorize: (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<boolean>
  readonly title: string
  readonly refreshInterval: Duration.Duration
  /** The Host headers answered (undefined: any). */
  readonly allowedHosts: ReadonlyArray<string> | undefined
  /** Completes when the server stops: live streams end then (else each ends after `streamLimit`). */
  readonly closing: Effect.Effect<void>
}

/** How long one live stream lasts at most: the browser opens the next by itself, and a server's stop never waits longer. */
const streamLimit = Duration.seconds(30)

/**
 * The page's base, relative to its own address so that a proxy's prefix does not matter: "./"
 * when the address ends with a slash, else its last segment with one ("tasks/" at /ops/tasks).
 */
const baseHrefOf = (request: HttpServerRequest.HttpServerRequest) => {
  const path = (request.originalUrl.split(/[?#]/)[0] ?? "").replace(/\/{2,}/g, "/")
  if (path === "" || path.endsWith("/")) return "./"
  return `${path.slice(path.lastIndexOf("/") + 1)}/`
}

/**
 * The overview as server-sent events: one `data:` line of JSON each `interval` (`event: failure`
 * when it cannot be read), until the server stops or `streamLimit` has passed.
 */
const events = (interval: Duration.Duration, closing: Effect.Effect<void>) =>
  Effect.map(Effect.context<TaskStore>(), (context) =>
    HttpServerResponse.stream(
      Stream.repeatEffectWithSchedule(
        overview.pipe(
          Effect.map((data) => `data: ${JSON.stringify(data)}\n\n`),
          Effect.catchAll((error) => Effect.succeed(`event: failure\ndata: ${JSON.stringify({ error: error.message })}\n\n`))
        ),
        Schedule.spaced(interval)
      ).pipe(
        Stream.interruptWhen(Effect.race(closing, Effect.sleep(streamLimit))),
        Stream.encodeText,
        Stream.provideContext(context)
      ),
      { contentType: "text/event-stream", headers: { "cache-control": "no-cache" } }
    ))

/**
 * A change comes from the page itself: JSON (a cross-site form cannot send it without a preflight,
 * which is never answered) and, where the browser says, not from another site.
 */
const isSameSiteJson = (request: HttpServerRequest.HttpServerRequest) =>
  (request.headers["content-type"] ?? "").startsWith("application/json") &&
  request.headers["sec-fetch-site"] !== "cross-site"

export const makeRouter = (settings: Settings): HttpRouter.HttpRouter<never, TaskStore> => {
  /**
   * Every route checks the Host (when the server names its own: a page of another site that
   * rebinds its name to this address is not answered) and asks `authorize` first; no page may
   * frame it.
   */
  const guarded = <E, R>(handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      const { allowedHosts } = settings
      if (allowedHosts !== undefined && !allowedHosts.includes((request.headers.host ?? "").toLowerCase())) {
        return Effect.succeed(failure(new Refused({ status: 421, message: "not this server's address" })))
      }
      return Effect.flatMap(settings.authorize(request), (allowed) =>
        allowed ? handler : Effect.succeed(failure(new Refused({ status: 403, message: "not allowed" }))))
    }).pipe(Effect.map(HttpServerResponse.setHeaders({
      "x-frame-options": "DENY",
      "content-security-policy": "frame-ancestors 'none'",
      "x-content-type-options": "nosniff"
    })))

  const change = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const { action } = yield* HttpRouter.params
    if (settings.readOnly) return failure(new Refused({ status: 403, message: "the dashboard is read-only" }))
    if (!isSameSiteJson(request)) return failure(new Refused({ status: 403, message: "changes come as JSON from the dashboard's page" }))
    if (!actions.includes(action as Change)) return failure(new Refused({ status: 404, message: `no action ${action}` }))
    return yield* answer(act(action as Change))
  })

  return HttpRouter.empty.pipe(
    HttpRouter.get("/", Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
      HttpServerResponse.html(page({ baseHref: baseHrefOf(request), readOnly: settings.readOnly, title: settings.title })))),
    HttpRouter.get("/api/overview", answer(overview)),
    HttpRouter.get("/api/events", events(settings.refreshInterval, settings.closing)),
    HttpRouter.get("/api/tasks", answer(tasks)),
    HttpRouter.get("/api/tasks/:id", Effect.flatMap(HttpRouter.params, ({ id }) => answer(task(id ?? "")))),
    HttpRouter.get("/api/count", answer(count)),
    HttpRouter.post("/api/actions/:action", change),
    HttpRouter.use(guarded)
  )
}
