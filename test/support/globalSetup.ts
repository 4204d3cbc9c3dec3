/**
 * One database server per test run: DATABASE_URL when it is set, otherwise an embedded PostgreSQL
 * started here and stopped when the run ends. Each test then works in schemas of its own.
 */
import { Config, Context, Effect, Exit, Layer, Option, Redacted, Scope } from "effect"
import type { TestProject } from "vitest/node"
import { EmbeddedPostgres } from "../../src/index.js"

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string
  }
}

export default async function setup(project: TestProject) {
  const configured = await Effect.runPromise(Config.option(Config.redacted("DATABASE_URL")))
  if (Option.isSome(configured)) {
    project.provide("databaseUrl", Redacted.value(configured.value))
    return
  }
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(EmbeddedPostgres.layer, scope))
  project.provide("databaseUrl", Redacted.value(Context.get(context, EmbeddedPostgres.EmbeddedPostgres).url))
  return async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}
