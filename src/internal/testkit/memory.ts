import { Option } from "effect"
import type * as Task from "../../Task.js"
import * as TaskStatus from "../../TaskStatus.js"
import type { NewTask } from "../store/insert.js"

/** One task of the test kit's memory: the fields a worker reads and writes, on the test's clock. */
export interface MemoryRow {
  readonly id: string
  readonly task: Task.Any
  /** The encoded arguments as stored (JSON text), decoded on every attempt like a worker does. */
  readonly args: string
  readonly queue: string
  readonly priority: number
  readonly owner: string | null
  readonly uniqueKey: string | null
  readonly parentId: string | null
  readonly rootId: string | null
  /** The claim token of the parent attempt that holds this child back, until that attempt ends. */
  heldBy: string | null
  /** The sibling submitted before this child: it waits until that one has ended. */
  readonly after: string | null
  status: TaskStatus.TaskStatus
  attempt: number
  readonly maxAttempts: number
  runAt: number
  readonly createdAt: number
  finishedAt: number | null
  lastError: string | null
  readonly errors: Array<string>
  /** The last checkpoint and progress its handler stored (JSON texts). */
  checkpoint: string | null
  progress: string | null
  /** A succeeded task's result (JSON text), when its definition declares a success Schema. */
  result: string | null
  /** The definition's propagated context as enqueued (JSON text), provided to its handler. */
  readonly context: string | null
}

/** Enqueues made on one connection of the stub SqlClient, kept until its transaction commits. */
interface Transaction {
  pending: Array<MemoryRow>
  /** Open savepoints, innermost last: a rollback to one drops what was enqueued after it. */
  readonly savepoints: Array<{ readonly name: string; readonly from: number }>
}

const unfinished: ReadonlySet<string> = new Set(TaskStatus.unfinished)

/**
 * The test kit's store: tasks in memory, in id order, with the same lifecycle as the database's
 * (a unique key held by an unfinished task, children held by their parent's attempt and ordered
 * after their siblings, enqueues inside a transaction visible only once it commits).
 */
export class Memory {
  private next = 0
  readonly rows = new Map<string, MemoryRow>()
  private readonly transactions = new WeakMap<object, Transaction>()

  /** Called by the stub connection for each transaction-control statement it receives. */
  control(connection: object, statement: string): void {
    const text = statement.trim().toUpperCase()
    if (text === "BEGIN") {
      this.transactions.set(connection, { pending: [], savepoints: [] })
      return
    }
    const tx = this.transactions.get(connection)
    if (tx === undefined) return
    if (text === "COMMIT") {
      for (const row of tx.pending) this.rows.set(row.id, row)
      this.transactions.delete(connection)
    } else if (text === "ROLLBACK") {
      this.transactions.delete(connection)
    } else if (text.startsWith("SAVEPOINT ")) {
      tx.savepoints.push({ name: text.slice("SAVEPOINT ".length), from: tx.pending.length })
    } else if (text.startsWith("ROLLBACK TO SAVEPOINT ")) {
      const name = text.slice("ROLLBACK TO SAVEPOINT ".length)
      const index = tx.savepoints.map((savepoint) => savepoint.name).lastIndexOf(name)
      if (index < 0) return
      tx.pending = tx.pending.slice(0, tx.savepoints[index]!.from)
      tx.savepoints.length = index + 1
    }
  }

  /** Whether a statement is transaction control, which the stub connection accepts. */
  static isControl(statement: string): boolean {
    return /^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT\s|RELEASE\s)/i.test(statement)
  }

  /** Every row visible from `connection`: the committed ones, then its own uncommitted ones. */
  private visible(connection: object | undefined): Array<MemoryRow> {
    const own = connection === undefined ? undefined : this.transactions.get(connection)
    return own === undefined ? [...this.rows.values()] : [...this.rows.values(), ...own.pending]
  }

  /**
   * Inserts tasks as the database's `enqueue` would, on `connection`'s open transaction if it has
   * one (committed with it), at once otherwise; returns their ids in input order.
   */
  insert(task: Task.Any, tasks: ReadonlyArray<NewTask>, now: number, connection: object | undefined): Array<string> {
    const tx = connection === undefined ? undefined : this.transactions.get(connection)
    const ids: Array<string> = []
    // What this insert sees: the rows before it, then those it inserts, in order.
    const visible = this.visible(connection)
    for (const input of tasks) {
      const holder = input.uniqueKey === null ? undefined : visible.find((row) =>
        row.task.key === input.key && row.uniqueKey === input.uniqueKey && unfinished.has(row.status)
      )
      if (holder !== undefined) {
        ids.push(holder.id)
        continue
      }
      const siblings = input.heldBy === null ? [] : visible.filter((row) => row.heldBy === input.heldBy)
      const row: MemoryRow = {
        id: String(++this.next),
        task,
        args: input.args,
        context: input.context ?? null,
        queue: input.queue,
        priority: input.priority,
        owner: input.owner,
        uniqueKey: input.uniqueKey,
        parentId: input.parentId,
        rootId: input.rootId,
        heldBy: input.heldBy,
        after: siblings.length === 0 ? null : siblings[siblings.length - 1]!.id,
        status: input.paused ? TaskStatus.paused : TaskStatus.initialized,
        attempt: 0,
        maxAttempts: input.maxAttempts,
        runAt: input.runAt === null ? now + input.delayMillis : input.runAt.getTime(),
        createdAt: now,
        finishedAt: null,
        lastError: null,
        errors: [],
        checkpoint: null,
        progress: null,
        result: null
      }
      if (tx === undefined) this.rows.set(row.id, row)
      else tx.pending.push(row)
      visible.push(row)
      ids.push(row.id)
    }
    return ids
  }

  /** Whether a row waits for nothing but its due time: not held, and its earlier sibling has ended. */
  private free(row: MemoryRow): boolean {
    if (row.status !== TaskStatus.initialized || row.heldBy !== null) return false
    if (row.after === null) return true
    const before = this.rows.get(row.after)
    return before === undefined || TaskStatus.isTerminal(before.status)
  }

  /** The next task to run at `now`, in priority, due time, id order, among keys with a handler. */
  nextRunnable(now: number, runnable: (key: string) => boolean): Option.Option<MemoryRow> {
    let best: MemoryRow | undefined
    for (const row of this.rows.values()) {
      if (row.runAt > now || !this.free(row) || !runnable(row.task.key)) continue
      if (
        best === undefined || row.priority > best.priority ||
        (row.priority === best.priority &&
          (row.runAt < best.runAt || (row.runAt === best.runAt && Number(row.id) < Number(best.id))))
      ) best = row
    }
    return Option.fromNullable(best)
  }

  /** The earliest due time among tasks that wait only for it (and have a handler). */
  nextDue(runnable: (key: string) => boolean): Option.Option<number> {
    let earliest: number | undefined
    for (const row of this.rows.values()) {
      if (!this.free(row) || !runnable(row.task.key)) continue
      if (earliest === undefined || row.runAt < earliest) earliest = row.runAt
    }
    return Option.fromNullable(earliest)
  }

  /** Ends the hold of an attempt on its children: kept (released) or dropped with the attempt. */
  settleChildren(token: string, keep: boolean): void {
    for (const row of [...this.rows.values()]) {
      if (row.heldBy !== token) continue
      if (keep) row.heldBy = null
      else this.rows.delete(row.id)
    }
  }
}
