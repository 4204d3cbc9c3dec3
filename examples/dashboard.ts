/**
 * The dashboard mounted in an application's own HTTP server, behind its own check (README,
 * "Dashboard"): `DATABASE_URL=... OPERATOR_TOKEN=... npx tsx examples/dashboard.ts`, then open
 * http://localhost:3000/ops/tasks/ with the cookie `operator_session` set to that token.
 */
import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import { Config, Effect, Layer } from "effect"
import { TaskStore } from "effect-tasks"
import * as TaskDashboard from "effect-tasks/dashboard"
import { createServer } from "node:http"

const token = process.env.OPERATOR_TOKEN ?? ""

const app = HttpRouter.empty.pipe(
  HttpRouter.get("/", Effect.succeed(HttpServerResponse.text("my app"))),
  HttpRouter.mount("/ops/tasks", TaskDashboard.router({
    // Your authentication, asked for every request (the page and its API calls alike): here the
    // session cookie your own login sets. The browser sends it with the page's calls too.
    authorize: (request) => Effect.succeed(token !== "" && request.cookies["operator_session"] === token)
  }))
)

HttpServer.serve(app).pipe(
  Layer.provide(NodeHttpServer.layerConfig(createServer, { port: Config.integer("PORT").pipe(Config.withDefault(3000)) })),
  Layer.provide(TaskStore.layer()),
  Layer.provide(PgClient.layerConfig({ url: Config.redacted("DATABASE_URL") })),
  Layer.launch,
  NodeRuntime.runMain
)
