/**
 * The web dashboard in a real headless Chromium (the system's, see `support/browser.ts`), mounted
 * under a path of an app's own router, over a real database: the overview's counts, a filter
 * narrowing the list, a failed task's error on its page, and a cancel from the page stopping a task
 * that runs in a worker process. With DASHBOARD_SCREENSHOTS=1 it saves each view under
 * docs/dashboard/ (the README shows them).
 */
import { HttpRouter, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer, Schema } from "effect"
import { mkdirSync } from "node:fs"
import { createServer } from "node:http"
import type { Page } from "puppeteer-core"
import { Task, Tasks, TaskStatus, TaskStore } from "../src/index.js"
import * as TaskDashboard from "../src/TaskDashboard.js"
import { browser } from "./support/browser.js"
import { databaseUrl, freshSchema, inSchema, PgTest } from "./support/database.js"
import { sleepyTaskInAProcess, startWorker, waitForStatus } from "./support/worker.js"

const Receipt = Task.make("dash-receipt", { args: Schema.Struct({ orderId: Schema.Number }), queue: "mail" })
const Charge = Task.make("dash-charge", { args: Schema.Struct({ orderId: Schema.Number }) })

/** A payment provider's refusal. */
class CardDeclined extends Schema.TaggedError<CardDeclined>()("CardDeclined", { reason: Schema.String }) {
  override get message() {
    return `card declined: ${this.reason}`
  }
}
/** One without its stack trace: the screenshots show the message alone. */
const declined = (reason: string) => {
  const error = new CardDeclined({ reason })
  error.stack = `CardDeclined: ${error.message}`
  return error
}

/** The dashboard mounted at /ops/tasks of an app's router, on a free port; its URL. */
const serve = (schema: string, options: TaskDashboard.Options = {}) =>
  Effect.gen(function*() {
    const app = HttpRouter.empty.pipe(HttpRouter.mount("/ops/tasks", TaskDashboard.router(options)))
    const context = yield* Layer.build(
      HttpServer.serve(app).pipe(
        Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
        Layer.provide(TaskStore.layer({ schema }))
      )
    )
    const address = Context.get(context, HttpServer.HttpServer).address as HttpServer.TcpAddress
    return `http://127.0.0.1:${address.port}/ops/tasks/`
  })

const screenshots = process.env.DASHBOARD_SCREENSHOTS === "1"
const shoot = (page: Page, name: string) =>
  screenshots
    ? Effect.promise(async () => {
      mkdirSync("docs/dashboard", { recursive: true })
      await page.screenshot({ path: `docs/dashboard/${name}.png`, fullPage: true })
    })
    : Effect.void

const textOf = (page: Page, selector: string) =>
  Effect.promise(() => page.waitForSelector(selector).then((handle) => handle!.evaluate((el) => el.textContent?.trim() ?? "")))
const visit = (page: Page, url: string) => Effect.promise(() => page.goto(url, { waitUntil: "domcontentloaded" }))
const waitUntil = (page: Page, predicate: string) => Effect.promise(() => page.waitForFunction(predicate, { timeout: 15_000 }))
/** Waits for the view whose heading starts with `text` (the page changes views without a reload). */
const viewShown = (page: Page, text: string) =>
  waitUntil(page, `(document.querySelector("main h1")?.textContent ?? "").startsWith(${JSON.stringify(text)})`)

layer(PgTest, { excludeTestServices: true })("dashboard", (it) => {
  it.scoped("in a browser: the overview counts seeded tasks, a filter narrows the list, a failed task shows its error, a cancel stops a running task in a worker process", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      // One task running in a worker process, three waiting in "mail", one failed.
      const { id: running } = yield* sleepyTaskInAProcess(databaseUrl(), schema)
      yield* Tasks.runMany(Receipt, [{ orderId: 1 }, { orderId: 2 }, { orderId: 3 }]).pipe(inSchema(schema))
      const failed = yield* Tasks.run(Charge, { orderId: 9 }).pipe(inSchema(schema))
      const worker = yield* startWorker(Charge.handler(() => Effect.fail(declined("insufficient funds"))), { schema })
      yield* waitForStatus(schema, [failed], [TaskStatus.failed])
      yield* worker.stop
      const url = yield* serve(schema)
      const page = yield* Effect.flatMap(browser, (chromium) => Effect.promise(() => chromium.newPage()))
      yield* Effect.promise(() => page.setViewport({ width: 1280, height: 800 }))

      // Overview: per queue, as seeded.
      yield* visit(page, url)
      expect(yield* textOf(page, "tr[data-queue=mail] td[data-count=waiting]")).toBe("3")
      expect(yield* textOf(page, "tr[data-queue=default] td[data-count=running]")).toBe("1")
      expect(yield* textOf(page, "tr[data-queue=default] td[data-count=failed]")).toBe("1")
      yield* shoot(page, "overview")

      // The list, reached from the keyboard: all five, then the failed one alone once the filter is applied.
      yield* Effect.promise(() => page.focus("nav a[data-view=tasks]"))
      yield* Effect.promise(() => page.keyboard.press("Enter"))
      yield* viewShown(page, "Tasks")
      // Every field has a label and every button a name.
      const unnamed = yield* Effect.promise(() =>
        page.evaluate(`Array.from(document.querySelectorAll("input, button, a")).filter((el) =>
          !(el.labels && el.labels.length) && !el.getAttribute("aria-label") && !el.textContent.trim()).map((el) => el.outerHTML)`))
      expect(unnamed).toEqual([])
      yield* waitUntil(page, "document.querySelectorAll('table.tasks tbody tr[data-id]').length === 5")
      yield* Effect.promise(() => page.click("input[name=status][value=failed]"))
      yield* Effect.promise(() => page.click("form.filters button[type=submit]"))
      yield* waitUntil(page, "document.querySelectorAll('table.tasks tbody tr[data-id]').length === 1")
      const ids = yield* Effect.promise(() => page.$$eval("table.tasks tbody tr[data-id]", (rows) => rows.map((row) => row.getAttribute("data-id"))))
      expect(ids).toEqual([failed])
      yield* shoot(page, "tasks")

      // The failed task's page shows its error.
      yield* Effect.promise(() => page.click(`a[href="#/task/${failed}"]`))
      yield* viewShown(page, `Task ${failed}`)
      expect(yield* textOf(page, "pre.error")).toContain("card declined: insufficient funds")
      expect(yield* textOf(page, "table caption")).toBe("Failed attempts, oldest first")
      expect(yield* textOf(page, "table tbody td.error-cell")).toContain("card declined: insufficient funds")
      yield* shoot(page, "task")

      // Cancel the running task from its page: the worker process interrupts it.
      yield* visit(page, `${url}#/task/${running}`)
      yield* viewShown(page, `Task ${running}`)
      const press = (label: string) =>
        Effect.promise(() =>
          page.evaluate(`Array.from(document.querySelectorAll('.actions button')).find((b) => b.textContent === '${label}').click()`))
      const dialogOpen = Effect.promise(() => page.waitForSelector("dialog[open]"))
      // A confirmed answer is not remembered: Escape on the next question changes nothing.
      yield* press("Resume")
      yield* dialogOpen
      yield* Effect.promise(() => page.click("dialog button[value=yes]"))
      yield* waitUntil(page, "document.getElementById('said').textContent.startsWith('resume: 0 task(s) changed')")
      yield* press("Delete")
      yield* dialogOpen
      yield* Effect.promise(() => page.keyboard.press("Escape"))
      yield* waitUntil(page, "document.getElementById('said').textContent === 'delete: nothing changed'")
      yield* press("Cancel")
      yield* dialogOpen
      yield* Effect.promise(() => page.click("dialog button[value=yes]"))
      yield* waitForStatus(schema, [running], [TaskStatus.canceled])
      yield* waitUntil(page, "document.getElementById('said').textContent.includes('cancel: 1 task(s) changed')")

      // The other views, for the screenshots (and that they render).
      yield* visit(page, `${url}#/nodes`)
      yield* viewShown(page, "Nodes")
      yield* shoot(page, "nodes")
      yield* visit(page, `${url}#/queues`)
      yield* viewShown(page, "Queues")
      expect(yield* textOf(page, "table caption")).toBe("Queues and their limits")
      yield* shoot(page, "queues")
      yield* Effect.promise(() => page.setViewport({ width: 390, height: 844, isMobile: true }))
      yield* visit(page, url)
      yield* textOf(page, "tr[data-queue=mail]")
      yield* shoot(page, "overview-phone")
    }), { timeout: 120_000 })

  it.scoped("authorize decides every request; read-only hides and refuses changes; changes come only as JSON", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      yield* Effect.orDie(Effect.flatMap(TaskStore.make({ schema }), (store) => store.migrate))
      const [id] = yield* Tasks.runMany(Receipt, [{ orderId: 1 }]).pipe(inSchema(schema))
      const url = yield* serve(schema, {
        readOnly: true,
        authorize: (request) => Effect.succeed(request.headers["x-operator"] === "ada")
      })
      const call = (path: string, init: RequestInit = {}, operator = "ada") =>
        Effect.promise(async () => {
          const response = await fetch(url + path, { ...init, headers: { "x-operator": operator, ...init.headers } })
          return { status: response.status, text: await response.text() }
        })
      const json = { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ids: [id] }) }
      for (const path of ["", "api/overview", "api/events", `api/tasks/${id}`]) expect((yield* call(path, {}, "mallory")).status).toBe(403)
      expect((yield* call("api/actions/cancel", json, "mallory")).status).toBe(403)
      const shown = yield* call("")
      expect(shown.status).toBe(200)
      expect(shown.text).toContain('data-read-only="true"')
      // Its API is relative to the page's own address, with or without the slash.
      expect(shown.text).toContain('<base href="./">')
      const unslashed = yield* Effect.promise(() => fetch(url.slice(0, -1), { headers: { "x-operator": "ada" } }).then((r) => r.text()))
      expect(unslashed).toContain('<base href="tasks/">')
      const detail = JSON.parse((yield* call(`api/tasks/${id}`)).text).task
      expect(detail).toMatchObject({ id, status: "initialized" })
      expect(detail).not.toHaveProperty("claimToken")
      const refused = yield* call("api/actions/cancel", json)
      expect(refused.status).toBe(403)
      expect(refused.text).toContain("read-only")
      // No page may frame it.
      const headers = yield* Effect.promise(() => fetch(url, { headers: { "x-operator": "ada" } }).then((r) => r.headers))
      expect(headers.get("x-frame-options")).toBe("DENY")

      // The live overview: server-sent events, the first at once.
      const first = yield* Effect.promise(async () => {
        const response = await fetch(`${url}api/events`, { headers: { "x-operator": "ada" } })
        const reader = response.body!.getReader()
        const { value } = await reader.read()
        await reader.cancel()
        return { type: response.headers.get("content-type"), text: new TextDecoder().decode(value) }
      })
      expect(first.type).toContain("text/event-stream")
      expect(first.text).toMatch(/^data: \{"queues":\[\{"queue":"mail","waiting":1/)

      // Writable: a change must be JSON, names ids or a filter, and answers what it changed.
      const writable = yield* serve(schema)
      const post = (path: string, init: RequestInit) =>
        Effect.promise(async () => {
          const response = await fetch(writable + path, { method: "POST", ...init })
          return { status: response.status, body: await response.json() as { changed?: ReadonlyArray<string>; error?: string } }
        })
      expect((yield* post("api/actions/cancel", { body: `ids=${id}`, headers: { "content-type": "application/x-www-form-urlencoded" } })).status)
        .toBe(403)
      expect((yield* post("api/actions/cancel", { ...json, headers: { ...json.headers, "sec-fetch-site": "cross-site" } })).status).toBe(403)
      expect((yield* post("api/actions/explode", json)).status).toBe(404)
      expect((yield* post("api/actions/cancel", { ...json, body: "{}" })).status).toBe(400)
      expect((yield* post("api/actions/cancel", { ...json, body: JSON.stringify({ filter: {} }) })).status).toBe(400)
      const count = (query: string) => Effect.promise(() => fetch(`${writable}api/count?${query}`).then((r) => r.json() as Promise<{ count: number }>))
      expect(yield* count("queue=mail")).toEqual({ count: 1 })
      // For a change: only the tasks it applies to (a waiting task cannot be rerun).
      expect(yield* count("queue=mail&action=rerun")).toEqual({ count: 0 })
      expect(yield* count("queue=mail&action=cancel")).toEqual({ count: 1 })
      // Time bounds narrow the list; a move by filter takes the waiting tasks it matches.
      const listed = (query: string) =>
        Effect.promise(() => fetch(`${writable}api/tasks?${query}`).then((r) => r.json() as Promise<{ tasks: ReadonlyArray<{ id: string }> }>))
      const future = new Date(Date.now() + 3_600_000).toISOString()
      expect((yield* listed(`createdAfter=${future}`)).tasks).toEqual([])
      expect((yield* listed(`createdBefore=${future}&queue=mail`)).tasks.map((row) => row.id)).toEqual([id])
      const moved = yield* post("api/actions/move", { ...json, body: JSON.stringify({ filter: { queue: "mail" }, to: { queue: "post" } }) })
      expect(moved.body.changed).toEqual([id])
      expect((yield* listed("queue=post")).tasks.map((row) => row.id)).toEqual([id])
      expect((yield* post("api/actions/pause", { ...json, body: JSON.stringify({ filter: { queue: "post" } }) })).body.changed).toEqual([id])
      expect((yield* post("api/actions/cancel", json)).body.changed).toEqual([id])
      const again = yield* post("api/actions/cancel", json)
      expect(again.status).toBe(409)
      expect(again.body.error).toContain(`task ${id} is canceled`)
    }))
})
