/**
 * What every implementation of the store must do for the worker's protocol, written against the
 * `Store` interface alone (tasks are enqueued with `Tasks.run`, which writes through the same
 * database): claims, guarded ends, hand-backs, heartbeats, leases, node registration and rescue,
 * children held by their parent's attempt and run in order, queue limits, fair claims, pause and
 * resume, and the abnormal-task check.
 * Run against PostgreSQL by test/store/store.test.ts; a second SQL dialect passes the same suite.
 */
import type { SqlClient } from "@effect/sql"
import { expect } from "@effect/vitest"
import { type Context, Duration, Effect, Option, Schema, type Scope } from "effect"
import type { Finish } from "../../src/internal/store/finish.js"
import type { NewTask } from "../../src/internal/store/insert.js"
import type { Incarnation } from "../../src/internal/store/nodes.js"
import type { Store } from "../../src/internal/store/store.js"
import type { ClaimedTask } from "../../src/internal/store/taskRow.js"
import { SchedulingPolicy, Task, Tasks, TaskStatus } from "../../src/index.js"

/** A fresh, migrated store, and the services `Tasks.run` enqueues into it with. */
export interface FreshStore {
  readonly store: Store
  readonly context: Context.Context<SqlClient.SqlClient>
}

interface Methods {
  readonly scoped: (name: string, self: () => Effect.Effect<void, unknown, any>) => void
}

const Job = Task.make("job", { args: Schema.Struct({ n: Schema.Number }), retry: { times: 2 } })

const request = (nodeId: string, limit: number, leaseDuration = Duration.minutes(1)) => ({
  keys: [Job.key],
  timeouts: [Duration.minutes(1)],
  deadlineGrace: Duration.seconds(1),
  limit,
  nodeId,
  leaseDuration,
  policy: SchedulingPolicy.strictPriority
})

const ended = (claim: ClaimedTask, status: TaskStatus.TaskStatus): Finish => ({
  id: claim.id,
  claimToken: claim.claimToken,
  status,
  delayMillis: status === TaskStatus.initialized ? null : 0,
  error: null,
  countsAsAttempt: status !== TaskStatus.initialized,
  keepsChildren: status === TaskStatus.succeeded,
  result: null
})

/** A child of the attempt `parent`, as `Tasks.run` makes it inside a handler. */
export const childOf = (parent: ClaimedTask, n: number, key: string = Job.key): NewTask => ({
  key,
  queue: "default",
  priority: 0,
  args: JSON.stringify({ n }),
  maxAttempts: 3,
  runAt: null,
  delayMillis: 0,
  uniqueKey: null,
  owner: null,
  parentId: parent.id,
  rootId: parent.rootId ?? parent.id,
  heldBy: parent.claimToken,
  paused: false
})

/** Registers a live node `nodeId` (an incarnation of it). */
export const registered = (store: Store, nodeId: string) =>
  Effect.map(store.register({ nodeId, host: "test", pid: 1, nodeTimeout: Duration.seconds(10) }), Option.getOrThrow)

/** One heartbeat of `node` holding `claims`, renewing every lease, saying it runs `Job`. */
const beat = (store: Store, node: Incarnation, claims: ReadonlyArray<ClaimedTask>) =>
  store.heartbeat({
    ...node,
    claimTokens: claims.map((claim) => claim.claimToken),
    keys: [Job.key],
    leaseDuration: Duration.minutes(1),
    freshFor: Duration.zero
  })

export const taskStoreSuite = <R>(it: Methods, fresh: Effect.Effect<FreshStore, never, Scope.Scope | R>) => {
  const scoped = (name: string, body: (store: Store) => Effect.Effect<void, unknown, SqlClient.SqlClient>) =>
    it.scoped(name, () => Effect.flatMap(fresh, ({ context, store }) => Effect.provide(body(store), context)))
  const statuses = (store: Store, ids: ReadonlyArray<string>) =>
    Effect.map(store.getMany(ids), (rows) => rows.map((row) => row.status))

  scoped("a claim takes due tasks of its keys, oldest first, up to its limit, each once, with a claim token", (store) =>
    Effect.gen(function*() {
      const ids = yield* Tasks.runMany(Job, [1, 2, 3].map((n) => ({ n })))
      const first = yield* store.claim(request("node-a", 2))
      expect(first.map((claim) => [claim.id, claim.attempt])).toEqual([[ids[0], 1], [ids[1], 1]])
      expect(new Set(first.map((claim) => claim.claimToken)).size).toBe(2)
      const second = yield* store.claim(request("node-b", 5))
      expect(second.map((claim) => claim.id)).toEqual([ids[2]])
      expect(yield* store.claim(request("node-c", 5))).toEqual([])
      expect(yield* statuses(store, ids)).toEqual([TaskStatus.running, TaskStatus.running, TaskStatus.running])
    }))

  scoped("an end applies only under the attempt's claim token; a stale end applies nothing", (store) =>
    Effect.gen(function*() {
      const [id] = yield* Tasks.runMany(Job, [{ n: 1 }])
      const [claim] = yield* store.claim(request("node-a", 1))
      const stale = { ...claim!, claimToken: "00000000-0000-0000-0000-000000000000" }
      expect(yield* store.finishIfClaimed([ended(stale, TaskStatus.succeeded)])).toEqual([])
      expect(yield* statuses(store, [id!])).toEqual([TaskStatus.running])
      expect(yield* store.finishIfClaimed([ended(claim!, TaskStatus.succeeded)])).toEqual([{ id, status: TaskStatus.succeeded }])
      expect(yield* statuses(store, [id!])).toEqual([TaskStatus.succeeded])
      // Once ended, the same token applies nothing again.
      expect(yield* store.finishIfClaimed([ended(claim!, TaskStatus.failed)])).toEqual([])
    }))

  scoped("a hand-back makes the task runnable at once, without counting the attempt", (store) =>
    Effect.gen(function*() {
      const [id] = yield* Tasks.runMany(Job, [{ n: 1 }])
      const [claim] = yield* store.claim(request("node-a", 1))
      expect(yield* store.finishIfClaimed([ended(claim!, TaskStatus.initialized)])).toEqual([{ id, status: TaskStatus.initialized }])
      const [again] = yield* store.claim(request("node-b", 1))
      expect([again?.id, again?.attempt]).toEqual([id, 1])
    }))

  scoped("a node id a live node holds is refused; each start of a node is a new incarnation", (store) =>
    Effect.gen(function*() {
      const node = { nodeId: "node-a", host: "test", pid: 1, nodeTimeout: Duration.seconds(10) }
      const first = yield* store.register(node)
      expect(Option.isSome(first)).toBe(true)
      expect(yield* store.register(node)).toEqual(Option.none())
      yield* store.deregister(Option.getOrThrow(first))
      const second = yield* store.register(node)
      expect(Option.isSome(second) && second.value.incarnation !== Option.getOrThrow(first).incarnation).toBe(true)
    }))

  scoped("a heartbeat keeps the claims its node holds and reports the ones taken away", (store) =>
    Effect.gen(function*() {
      yield* Tasks.runMany(Job, [{ n: 1 }, { n: 2 }])
      const node = yield* registered(store, "node-a")
      const claims = yield* store.claim(request("node-a", 2))
      // The second claim is taken away (ended under its token by someone else, as a rescue would).
      yield* store.finishIfClaimed([ended(claims[1]!, TaskStatus.initialized)])
      const result = yield* beat(store, node, claims)
      expect(result.isRegistered).toBe(true)
      expect([...result.held]).toEqual([claims[0]!.claimToken])
    }))

  scoped("one holder of a named lease at a time, until it lapses", (store) =>
    Effect.gen(function*() {
      const a = yield* registered(store, "node-a")
      const b = yield* registered(store, "node-b")
      expect(yield* store.acquireLease("maintenance", a, Duration.millis(300))).toBe(true)
      expect(yield* store.acquireLease("maintenance", b, Duration.millis(300))).toBe(false)
      expect(yield* store.acquireLease("maintenance", a, Duration.millis(300))).toBe(true)
      yield* Effect.sleep("400 millis") // the lease's own duration, on the database's clock
      expect(yield* store.acquireLease("maintenance", b, Duration.seconds(10))).toBe(true)
      expect(yield* store.acquireLease("maintenance", a, Duration.seconds(10))).toBe(false)
    }))

  scoped("a rescue takes back claims whose lease lapsed, counting a worker loss; a live lease is left alone", (store) =>
    Effect.gen(function*() {
      const ids = yield* Tasks.runMany(Job, [{ n: 1 }, { n: 2 }])
      yield* store.claim(request("node-a", 1, Duration.millis(200)))
      yield* store.claim(request("node-b", 1, Duration.minutes(1)))
      yield* Effect.sleep("300 millis") // past the first lease, on the database's clock
      const rescued = yield* store.rescueExpired({ limit: 10, maxWorkerLosses: 3 })
      expect(rescued.map((task) => [task.id, task.status])).toEqual([[ids[0], TaskStatus.initialized]])
      const [lapsed, live] = yield* store.getMany(ids)
      expect(lapsed).toMatchObject({ status: TaskStatus.initialized, lostCount: 1, claimedBy: null })
      expect(live).toMatchObject({ status: TaskStatus.running, claimedBy: "node-b" })
    }))

  scoped("children wait for their parent's attempt to succeed, then run one after another in the order inserted", (store) =>
    Effect.gen(function*() {
      yield* Tasks.run(Job, { n: 0 })
      const [parent] = yield* store.claim(request("node-a", 1))
      const first = yield* store.insertChildren(parent!.claimToken, [childOf(parent!, 1), childOf(parent!, 2)])
      const [third] = yield* store.insertChildren(parent!.claimToken, [childOf(parent!, 3)])
      expect(yield* store.claim(request("node-a", 10))).toEqual([])
      yield* store.finishIfClaimed([ended(parent!, TaskStatus.succeeded)])
      const order: Array<string> = []
      for (let round = 0; round < 4; round++) {
        const claims = yield* store.claim(request("node-a", 10))
        expect(claims.length).toBeLessThanOrEqual(1)
        for (const claim of claims) {
          order.push(claim.id)
          yield* store.finishIfClaimed([ended(claim, TaskStatus.succeeded)])
        }
      }
      expect(order).toEqual([...first, third])
    }))

  scoped("children of an attempt that fails or is lost are removed with it", (store) =>
    Effect.gen(function*() {
      yield* Tasks.runMany(Job, [{ n: 0 }, { n: 1 }])
      const [failing] = yield* store.claim(request("node-a", 1))
      const [lost] = yield* store.claim(request("node-b", 1, Duration.millis(200)))
      const ofFailing = yield* store.insertChildren(failing!.claimToken, [childOf(failing!, 1)])
      const ofLost = yield* store.insertChildren(lost!.claimToken, [childOf(lost!, 2)])
      yield* store.finishIfClaimed([{ ...ended(failing!, TaskStatus.failed), keepsChildren: false,
  result: null }])
      yield* Effect.sleep("300 millis") // past the lost attempt's lease, on the database's clock
      yield* store.rescueExpired({ limit: 10, maxWorkerLosses: 3 })
      expect(yield* store.getMany([...ofFailing, ...ofLost])).toEqual([])
    }))

  scoped("children inserted after their attempt ended are settled in bounded batches: kept if it succeeded, else removed", (store) =>
    Effect.gen(function*() {
      yield* Tasks.runMany(Job, [{ n: 0 }, { n: 1 }])
      const [succeeded, failed] = yield* store.claim(request("node-a", 2))
      yield* store.finishIfClaimed([ended(succeeded!, TaskStatus.succeeded), { ...ended(failed!, TaskStatus.failed), keepsChildren: false,
  result: null }])
      // A handler's insert that commits just after its attempt's end was written.
      const late = yield* store.insertChildren(succeeded!.claimToken, [childOf(succeeded!, 1)])
      const void_ = yield* store.insertChildren(failed!.claimToken, [childOf(failed!, 2)])
      expect(yield* store.claim(request("node-a", 10))).toEqual([])
      const rounds = [yield* store.settleOrphanChildren(1), yield* store.settleOrphanChildren(1), yield* store.settleOrphanChildren(1)]
      expect(rounds.map(({ dropped, released }) => released + dropped)).toEqual([1, 1, 0])
      expect(yield* store.getMany(void_)).toEqual([])
      expect((yield* store.claim(request("node-a", 10))).map((claim) => claim.id)).toEqual(late)
    }))

  scoped("a queue's concurrency limit holds back claims until a running task of it ends", (store) =>
    Effect.gen(function*() {
      yield* store.defineQueue({ name: "narrow", maxSize: null, concurrency: 1, concurrencyPerNode: null })
      const ids = yield* Tasks.runMany(Job, [{ n: 1 }, { n: 2 }], { queue: "narrow" })
      const [first] = yield* store.claim(request("node-a", 10))
      expect(first?.id).toBe(ids[0])
      expect(yield* store.claim(request("node-b", 10))).toEqual([])
      yield* store.finishIfClaimed([ended(first!, TaskStatus.succeeded)])
      expect((yield* store.claim(request("node-b", 10))).map((claim) => claim.id)).toEqual([ids[1]])
    }))

  scoped("a fair claim takes turns between owners; a strict one takes the oldest first", (store) =>
    Effect.gen(function*() {
      const busy = yield* Tasks.runMany(Job, [1, 2, 3].map((n) => ({ n })), { owner: "busy" })
      const [quiet] = yield* Tasks.runMany(Job, [{ n: 4 }], { owner: "quiet" })
      const fair = yield* store.claim({ ...request("node-a", 2), policy: SchedulingPolicy.fair() })
      expect(fair.map((claim) => claim.id).sort()).toEqual([busy[0], quiet].sort())
      const strict = yield* store.claim(request("node-a", 1))
      expect(strict.map((claim) => claim.id)).toEqual([busy[1]])
    }))

  scoped("a paused task is never claimed until it is resumed; only waiting tasks pause", (store) =>
    Effect.gen(function*() {
      const [waiting, running] = yield* Tasks.runMany(Job, [{ n: 1 }, { n: 2 }])
      yield* store.pauseWaiting([waiting!])
      const [claim] = yield* store.claim(request("node-a", 10))
      expect(claim?.id).toBe(running)
      expect(yield* store.pauseWaiting([running!])).toEqual([])
      expect(yield* store.claim(request("node-a", 10))).toEqual([])
      expect(yield* store.resumePaused([waiting!, running!])).toEqual([waiting])
      expect((yield* store.claim(request("node-a", 10))).map((next) => next.id)).toEqual([waiting])
    }))

  scoped("the check reports tasks waiting or running past their timeouts, oldest first, at most its limit", (store) =>
    Effect.gen(function*() {
      const ids = yield* Tasks.runMany(Job, [1, 2, 3].map((n) => ({ n })))
      yield* store.claim(request("node-a", 1))
      const all = yield* store.findStuck({ initializedTimeout: Duration.zero, runningTimeout: Duration.zero, limit: 10 })
      expect(all.map((row) => row.id)).toEqual(ids)
      const some = yield* store.findStuck({ initializedTimeout: Duration.zero, runningTimeout: Duration.hours(1), limit: 1 })
      expect(some.map((row) => [row.id, row.status])).toEqual([[ids[1], TaskStatus.initialized]])
      expect(yield* store.findStuck({ initializedTimeout: Duration.hours(1), runningTimeout: Duration.hours(1), limit: 10 }))
        .toEqual([])
    }))

  scoped("a cancel ends waiting and paused tasks and their waiting descendants at once, and frees the siblings after them", (store) =>
    Effect.gen(function*() {
      const [other, waiting, paused] = yield* Tasks.runMany(Job, [{ n: 1 }, { n: 2 }, { n: 3 }])
      yield* store.pauseWaiting([paused!])
      // `other` runs, and its attempt submits two ordered children, released when it succeeds.
      const [parent] = yield* store.claim(request("node-a", 1))
      expect(parent?.id).toBe(other)
      const [first, second] = yield* store.insertChildren(parent!.claimToken, [childOf(parent!, 1), childOf(parent!, 2)])
      yield* store.finishIfClaimed([ended(parent!, TaskStatus.succeeded)])
      const result = yield* store.cancel([paused!, first!])
      expect(result).toEqual({ changed: [paused, first].sort(), refused: [] })
      expect(yield* statuses(store, [paused!, first!, second!])).toEqual([
        TaskStatus.canceled,
        TaskStatus.canceled,
        TaskStatus.initialized
      ])
      // Canceled tasks expire by the default retention of canceled tasks, 7 days.
      const [canceledRow] = yield* store.getMany([paused!])
      expect(Math.round((canceledRow!.expiresAt!.getTime() - canceledRow!.finishedAt!.getTime()) / 86_400_000)).toBe(7)
      // The sibling after the canceled child no longer waits for it.
      const next = yield* store.claim(request("node-b", 10))
      expect(next.map((claim) => claim.id).sort()).toEqual([second, waiting].sort())
    }))

  scoped("a cancel of a waiting parent cancels its waiting children with it", (store) =>
    Effect.gen(function*() {
      const [parentId] = yield* Tasks.runMany(Job, [{ n: 0 }])
      const [parent] = yield* store.claim(request("node-a", 1))
      const children = yield* store.insertChildren(parent!.claimToken, [childOf(parent!, 1), childOf(parent!, 2)])
      // The parent snoozes: it waits again, and keeps the children it submitted.
      const snoozed: Finish = { ...ended(parent!, TaskStatus.initialized), delayMillis: 60_000, countsAsAttempt: false, keepsChildren: true,
  result: null }
      yield* store.finishIfClaimed([snoozed])
      expect((yield* store.cancel([parentId!])).changed).toEqual([parentId, ...children])
      expect(yield* statuses(store, [parentId!, ...children])).toEqual([TaskStatus.canceled, TaskStatus.canceled, TaskStatus.canceled])
    }))

  scoped("a cancel of a finished or missing task changes nothing and names each with its status", (store) =>
    Effect.gen(function*() {
      const [done, waiting] = yield* Tasks.runMany(Job, [{ n: 1 }, { n: 2 }])
      const [claim] = yield* store.claim(request("node-a", 1))
      yield* store.finishIfClaimed([ended(claim!, TaskStatus.succeeded)])
      const result = yield* store.cancel([waiting!, done!, "999999"])
      expect(result).toEqual({
        changed: [],
        refused: [{ id: done, status: TaskStatus.succeeded }, { id: "999999", status: null }]
      })
      expect(yield* statuses(store, [waiting!])).toEqual([TaskStatus.initialized])
    }))

  scoped("a running task asked to cancel: its heartbeat says so, a hand-back or retry ends it canceled, a success stands", (store) =>
    Effect.gen(function*() {
      const [a, b, c] = yield* Tasks.runMany(Job, [{ n: 1 }, { n: 2 }, { n: 3 }])
      const node = yield* registered(store, "node-a")
      const claims = yield* store.claim(request("node-a", 3))
      expect((yield* store.cancel([a!, b!, c!])).changed).toEqual([a, b, c])
      expect(yield* statuses(store, [a!, b!, c!])).toEqual([TaskStatus.running, TaskStatus.running, TaskStatus.running])
      const result = yield* beat(store, node, claims)
      expect([...result.stopRequested].sort()).toEqual(claims.map((claim) => claim.claimToken).sort())
      const retry: Finish = { ...ended(claims[1]!, TaskStatus.initialized), delayMillis: 1000, error: "boom" }
      yield* store.finishIfClaimed([
        ended(claims[0]!, TaskStatus.initialized), // handed back by the interrupted attempt
        retry, // a failure that would retry
        ended(claims[2]!, TaskStatus.succeeded) // the handler won the race
      ])
      const rows = yield* store.getMany([a!, b!, c!])
      expect(rows.map((row) => row.status)).toEqual([TaskStatus.canceled, TaskStatus.canceled, TaskStatus.succeeded])
      expect(rows.every((row) => row.finishedAt !== null)).toBe(true)
      expect(yield* store.claim(request("node-b", 10))).toEqual([])
    }))

  scoped("a running task asked to cancel whose node is gone is canceled by the rescue, or by its node's last hand-back", (store) =>
    Effect.gen(function*() {
      const [lost, stopping] = yield* Tasks.runMany(Job, [{ n: 1 }, { n: 2 }])
      yield* store.claim(request("node-a", 1, Duration.millis(200)))
      const node = yield* registered(store, "node-b")
      yield* store.claim(request("node-b", 1))
      yield* store.cancel([lost!, stopping!])
      yield* Effect.sleep("300 millis") // past the first lease, on the database's clock
      expect((yield* store.rescueExpired({ limit: 10, maxWorkerLosses: 3 })).map((task) => [task.id, task.status]))
        .toEqual([[lost, TaskStatus.canceled]])
      expect(yield* store.releaseClaimedBy(node, [])).toEqual([stopping])
      expect(yield* statuses(store, [lost!, stopping!])).toEqual([TaskStatus.canceled, TaskStatus.canceled])
    }))

  scoped("a rerun makes finished tasks runnable again from attempt zero; unfinished ones and held unique keys refuse it", (store) =>
    Effect.gen(function*() {
      const [done, waiting] = yield* Tasks.runMany(Job, [{ n: 1 }, { n: 2 }])
      const [claim] = yield* store.claim(request("node-a", 1))
      yield* store.finishIfClaimed([{ ...ended(claim!, TaskStatus.failed), error: "boom" }])
      expect(yield* store.rerun([done!, waiting!])).toEqual({
        changed: [],
        refused: [{ id: waiting, status: TaskStatus.initialized }]
      })
      expect(yield* store.rerun([done!])).toEqual({ changed: [done], refused: [] })
      const [row] = yield* store.getMany([done!])
      expect(row).toMatchObject({ status: TaskStatus.initialized, attempt: 0, finishedAt: null, lastError: "boom" })
      // A unique key taken by an unfinished task since: the rerun would break it, and is refused.
      const keyed = yield* Tasks.run(Job, { n: 3 }, { uniqueKey: "k" })
      const [keyedClaim] = yield* store.claim({ ...request("node-a", 10) }).pipe(
        Effect.map((claims) => claims.filter((one) => one.id === keyed))
      )
      yield* store.finishIfClaimed([ended(keyedClaim!, TaskStatus.succeeded)])
      const holder = yield* Tasks.run(Job, { n: 4 }, { uniqueKey: "k" })
      expect(yield* store.rerun([keyed])).toEqual({
        changed: [],
        refused: [{ id: keyed, status: TaskStatus.succeeded, reason: `task ${holder} holds its unique key` }]
      })
    }))

  scoped("a delete removes tasks that are not running and frees the siblings after them; a running one refuses it", (store) =>
    Effect.gen(function*() {
      const [running, waiting] = yield* Tasks.runMany(Job, [{ n: 1 }, { n: 2 }])
      yield* store.claim(request("node-a", 1))
      expect(yield* store.remove([waiting!, running!])).toEqual({
        changed: [],
        refused: [{ id: running, status: TaskStatus.running }]
      })
      expect(yield* store.remove([waiting!])).toEqual({ changed: [waiting], refused: [] })
      expect(yield* store.getMany([waiting!, running!])).toHaveLength(1)
    }))

  scoped("a move changes the queue, priority, owner and due time of waiting tasks only", (store) =>
    Effect.gen(function*() {
      const [waiting, running] = yield* Tasks.runMany(Job, [{ n: 1 }, { n: 2 }], { delay: "1 hour", owner: "someone" })
      const runAt = new Date(Date.now() - 1000)
      yield* store.move([running!], { runAt })
      yield* store.claim(request("node-a", 1))
      expect((yield* store.move([waiting!, running!], { queue: "other" })).refused).toEqual([
        { id: running, status: TaskStatus.running }
      ])
      expect(yield* store.move([waiting!], { queue: "other", priority: 5, owner: null, runAt })).toEqual({
        changed: [waiting],
        refused: []
      })
      const [row] = yield* store.getMany([waiting!])
      expect(row).toMatchObject({ queue: "other", priority: 5, status: TaskStatus.initialized })
      expect(row?.runAt.getTime()).toBe(runAt.getTime())
      expect((yield* store.claim(request("node-a", 10))).map((claim) => claim.id)).toEqual([waiting])
    }))

  scoped("a pause of a running task asks its node to stop it, and the attempt's end keeps it paused, not counted", (store) =>
    Effect.gen(function*() {
      const [id] = yield* Tasks.runMany(Job, [{ n: 1 }])
      const [claim] = yield* store.claim(request("node-a", 1))
      expect(yield* store.pause([id!])).toEqual([id])
      yield* store.finishIfClaimed([ended(claim!, TaskStatus.initialized)]) // the interrupted attempt's hand-back
      const [row] = yield* store.getMany([id!])
      expect(row).toMatchObject({ status: TaskStatus.paused, attempt: 0, claimToken: null })
      expect(yield* store.claim(request("node-a", 10))).toEqual([])
      expect(yield* store.resumePaused([id!])).toEqual([id])
      expect((yield* store.claim(request("node-b", 10))).map((next) => [next.id, next.attempt])).toEqual([[id, 1]])
    }))

  scoped("an attempt's checkpoint and progress are stored under its claim only; a stale attempt's write changes nothing", (store) =>
    Effect.gen(function*() {
      const [id] = yield* Tasks.runMany(Job, [{ n: 1 }])
      const [claim] = yield* store.claim(request("node-a", 1))
      const save = (claimToken: string, checkpoint: string | null, progress: string | null) =>
        store.saveAttemptState({ id: id!, claimToken, checkpoint, progress })
      expect(yield* save(claim!.claimToken, `{"rows":10}`, `{"phase":"a","fraction":0.5}`)).toBe(true)
      expect(yield* save(claim!.claimToken, null, `{"phase":"b","fraction":0.75}`)).toBe(true)
      expect(yield* save("00000000-0000-0000-0000-000000000000", `{"rows":99}`, null)).toBe(false)
      const [row] = yield* store.getMany([id!])
      expect(row).toMatchObject({ checkpoint: { rows: 10 }, progress: { phase: "b", fraction: 0.75 } })
      // The next attempt is claimed with the checkpoint.
      yield* store.finishIfClaimed([ended(claim!, TaskStatus.initialized)])
      const [again] = yield* store.claim(request("node-b", 1))
      expect(again?.checkpoint).toEqual({ rows: 10 })
    }))

  scoped("a rerun of two finished tasks sharing a unique key reruns the first and refuses the other, naming it", (store) =>
    Effect.gen(function*() {
      const first = yield* Tasks.run(Job, { n: 1 }, { uniqueKey: "once" })
      const [claimed] = yield* store.claim(request("node-a", 1))
      yield* store.finishIfClaimed([ended(claimed!, TaskStatus.failed)])
      const second = yield* Tasks.run(Job, { n: 2 }, { uniqueKey: "once" })
      const [claimedAgain] = yield* store.claim(request("node-a", 1))
      yield* store.finishIfClaimed([ended(claimedAgain!, TaskStatus.failed)])
      expect(yield* store.rerun([first, second])).toEqual({
        changed: [],
        refused: [{ id: second, status: TaskStatus.failed, reason: `task ${first} holds its unique key` }]
      })
    }))

  scoped("a delete of a parent takes the children its attempt still holds with it", (store) =>
    Effect.gen(function*() {
      yield* Tasks.run(Job, { n: 0 })
      const [parent] = yield* store.claim(request("node-a", 1))
      yield* store.finishIfClaimed([ended(parent!, TaskStatus.failed)])
      // A late child, committed after its parent's attempt failed: held, waiting for the settler.
      const [late] = yield* store.insertChildren(parent!.claimToken, [childOf(parent!, 1)])
      expect(yield* store.remove([parent!.id])).toEqual({ changed: [parent!.id], refused: [] })
      expect(yield* store.getMany([late!])).toEqual([])
    }))
}
