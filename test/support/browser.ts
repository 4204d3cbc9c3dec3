/**
 * A headless Chromium for the dashboard tests, driven by puppeteer-core (which downloads no
 * browser): the system's own, found on the usual paths or CHROMIUM_PATH. When there is none and
 * this runs as root on Debian, Debian's `chromium` package is installed first; otherwise the test
 * fails saying what to install.
 */
import { execFile } from "node:child_process"
import { existsSync } from "node:fs"
import { promisify } from "node:util"
import { Effect, type Scope } from "effect"
import puppeteer, { type Browser } from "puppeteer-core"

const run = promisify(execFile)
const candidates = () =>
  [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"]
    .filter((path): path is string => path !== undefined && path !== "")
const found = () => candidates().find((path) => existsSync(path))

/** The path of a Chromium binary, installing Debian's package when it can. */
export const chromiumPath: Effect.Effect<string, Error> = Effect.gen(function*() {
  const present = found()
  if (present !== undefined) return present
  const canInstall = process.getuid?.() === 0 && existsSync("/usr/bin/apt-get")
  if (canInstall) {
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
    const install = Effect.tryPromise(() => run("apt-get", ["install", "-y", "--no-install-recommends", "chromium"], { env, timeout: 600_000 }))
    // A fresh machine may have no package lists yet.
    yield* install.pipe(
      Effect.orElse(() => Effect.zipRight(Effect.tryPromise(() => run("apt-get", ["update"], { env, timeout: 300_000 })), install)),
      Effect.ignore
    )
  }
  const installed = found()
  if (installed !== undefined) return installed
  return yield* Effect.fail(
    new Error(
      `no Chromium for the dashboard tests (looked at ${candidates().join(", ")}${canInstall ? "; apt-get install chromium failed" : ""}): ` +
        "install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH to a Chromium or Chrome binary"
    )
  )
})

/** A headless browser, closed with the scope. */
export const browser: Effect.Effect<Browser, Error, Scope.Scope> = Effect.flatMap(chromiumPath, (executablePath) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () =>
        puppeteer.launch({
          executablePath,
          headless: true,
          // As root (CI, containers) Chromium needs its sandbox off.
          args: ["--no-sandbox", "--disable-dev-shm-usage"]
        }),
      catch: (error) => new Error(`cannot start ${executablePath}: ${String(error)}`)
    }),
    (browser) => Effect.promise(() => browser.close())
  ))
