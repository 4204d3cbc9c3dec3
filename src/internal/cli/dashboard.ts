import { Command, Options } from "@effect/cli"
import { Console, Effect, Layer } from "effect"
import * as TaskDashboard from "../../TaskDashboard.js"
import { CliFailure, connection, ExitCode, storeLayer } from "./common.js"

/** `dashboard`: serves the web dashboard until interrupted (Ctrl-C). */
export const dashboard = Command.make("dashboard", {
  url: connection.url,
  schema: connection.schema,
  port: Options.integer("port").pipe(Options.withDescription("the port to listen on"), Options.withDefault(8080)),
  host: Options.text("host").pipe(
    Options.withDescription("the address to listen on (default: this machine only)"),
    Options.withDefault("127.0.0.1")
  ),
  readOnly: Options.boolean("read-only").pipe(Options.withDescription("show everything, change nothing"))
}, (options) =>
  Effect.gen(function*() {
    const served = TaskDashboard.layer({ port: options.port, host: options.host, readOnly: options.readOnly }).pipe(
      Layer.mapError((error) => new CliFailure({ message: `cannot listen on ${options.host}:${options.port}: ${String(error.cause ?? error)}`, code: ExitCode.error }))
    )
    // Said once the server listens.
    yield* Layer.launch(Layer.effectDiscard(
      Console.log(`dashboard at http://${options.host}:${options.port}/${options.readOnly ? " (read-only)" : ""}; Ctrl-C stops it`)
    ).pipe(Layer.provide(served)))
  }).pipe(Effect.provide(storeLayer(options)))).pipe(
    Command.withDescription("Serve the web dashboard (until Ctrl-C)")
  )
