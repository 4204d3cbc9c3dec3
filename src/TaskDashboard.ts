/**
 * The operators' web dashboard: an `@effect/platform` `HttpRouter` to mount in your own Effect
 * HTTP server (behind your own authentication: `authorize`), or to serve on its own (`layer`, or
 * `effect-tasks dashboard`). Views: the overview (per queue counts and the last hour, live), the
 * task list (filters, keyset pages, bulk changes), one task's detail (error, arguments, result,
 * checkpoint, progress, children, why it waits), the nodes and the queues. One page with its
 * script and style inline: no build step, nothing loaded from elsewhere. It needs a `TaskStore`.
 *
 * @since 0.1.0
 */
import { HttpServer, type HttpRouter, type HttpServerError, type HttpServerRequest } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Deferred, Duration, Effect, Layer } from "effect"
import { createServer } from "node:http"
import { makeRouter, type Settings } from "./internal/dashboard/router.js"
import type { TaskStore } from "./TaskStore.js"

/**
 * How the dashboard is served.
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Shows everything and changes nothing: the change buttons are hidden and the change requests refused (403). Default false. */
  readonly readOnly?: boolean | undefined
  /**
   * Asked for every request, page and API alike; false answers 403. Check your session, token or
   * network here (or in a middleware of your own around the router). Default: every request is allowed.
   */
  readonly authorize?: ((request: HttpServerRequest.HttpServerRequest) => Effect.Effect<boolean>) | undefined
  /** The page's title. Default "effect-tasks". */
  readonly title?: string | undefined
  /** How often the live overview is sent again. Default 2 seconds. */
  readonly refreshInterval?: Duration.DurationInput | undefined
  /**
   * The `Host` headers answered (`"tasks.example.com"`, `"127.0.0.1:8080"`); others get 421. Default:
   * any (`layer` on a loopback address: only that address's names).
   */
  readonly allowedHosts?: ReadonlyArray<string> | undefined
}

const settingsOf = (options: Options, served: Pick<Settings, "closing" | "allowedHosts">): Settings => ({
  readOnly: options.readOnly ?? false,
  authorize: options.authorize ?? (() => Effect.succeed(true)),
  title: options.title ?? "effect-tasks",
  refreshInterval: Duration.decode(options.refreshInterval ?? "2 seconds"),
  ...served
})

/**
 * The dashboard as a router: mount it where you like (`HttpRouter.mount("/tasks", TaskDashboard.router())`);
 * its page calls its API relative to its own address. Changes (rerun, cancel, pause, resume,
 * delete, move) are POSTs of JSON from the page, refused from another site. Its live overview
 * holds a connection open for at most 30 seconds at a time (the page opens the next), so a
 * server's graceful stop waits that long at most for it.
 * @since 0.1.0
 * @category constructors
 */
export const router = (options: Options = {}): HttpRouter.HttpRouter<never, TaskStore> =>
  makeRouter(settingsOf(options, { closing: Effect.never, allowedHosts: options.allowedHosts }))

const loopback = ["127.0.0.1", "localhost", "::1"]

/**
 * The dashboard served on its own HTTP server (Node's), at `port` on `host` (default 127.0.0.1:
 * only this machine; put your own authentication in front before you open it wider). On a
 * loopback address it answers only requests addressed to it by that name (`allowedHosts`
 * defaults to `127.0.0.1:<port>`, `localhost:<port>` and `[::1]:<port>`). Its live streams end
 * when the layer is released, so the server stops at once.
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options & { readonly port: number; readonly host?: string | undefined }
): Layer.Layer<never, HttpServerError.ServeError, TaskStore> => {
  const host = options.host ?? "127.0.0.1"
  return Layer.scopedDiscard(Effect.gen(function*() {
    const closing = yield* Deferred.make<void>()
    // Released before the server closes (the serving added below stops first): live streams end.
    yield* Effect.addFinalizer(() => Deferred.succeed(closing, undefined))
    const address = (yield* HttpServer.HttpServer).address
    const port = address._tag === "TcpAddress" ? address.port : options.port
    const allowedHosts = options.allowedHosts ??
      (loopback.includes(host) ? [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`] : undefined)
    yield* HttpServer.serveEffect()(makeRouter(settingsOf(options, { closing: Deferred.await(closing), allowedHosts })))
  })).pipe(Layer.provide(NodeHttpServer.layer(createServer, { port: options.port, host })))
}
