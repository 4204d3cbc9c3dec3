import { Cause, Duration, Effect, Exit, FiberRef, Metric, Option, type Tracer } from "effect"
import * as TaskStatus from "../../TaskStatus.js"
import * as Task from "../../Task.js"
import type { Store } from "../store/store.js"
import type { Entry, TaskRegistry } from "../../TaskRegistry.js"
import { TaskNotFound, TaskTimeout } from "../../TaskError.js"
import type { ClaimedTask } from "../store/taskRow.js"
import { type Attempt, type AttemptEnd, makeAttemptEnd } from "../currentAttempt.js"
import { runHandler } from "../handlerRun.js"
import * as metrics from "../observability/metrics.js"
import {
  counterOf,
  logAnnotations,
  logFailure,
  makeProcessSpans,
  outcomeName
} from "../observability/attempt.js"
import type { SpanMaker } from "../observability/spans.js"
import { monotonicMillis } from "../monotonic.js"
import * as outcome from "./outcome.js"
import { makeRecorder, type RecorderOptions } from "./recorder.js"
import type { Deadlines } from "./deadlines.js"
import type { HandlerPace } from "./pace.js"
import type { Phases } from "./running.js"
import type { ClaimSlots } from "./slots.js"

export interface ExecutorOptions extends RecorderOptions {
  /** This node's id, on every log line of an attempt. */
  readonly nodeId: string
  /**
   * Makes the attempts' spans, when they are recorded: the application provided a tracer when the
   * manager started (undefined: none). Attempts run with it (forked so), the manager's own fibers
   * untraced.
   */
  readonly spans: SpanMaker | undefined
  readonly registry: TaskRegistry["Type"]
  /** Handlers running at once (`poolSize`): an attempt holds a permit while its handler runs. */
  readonly handlerSlots: Effect.Semaphore
  /** Attempts held at once, running or claimed ahead: the claimer takes one per claim; the executor gives it back when the handler has ended (or the attempt is handed back unstarted). */
  readonly claimSlots: ClaimSlots
  /** Where each attempt is (waiting for a handler slot, running, ending). */
  readonly phases: Phases
  /** Counts how long handlers take (it sizes the claim-ahead buffer). */
  readonly pace: HandlerPace
  /** Interrupts handlers that run past their timeout. */
  readonly deadlines: Deadlines
  /**
   * Longest an attempt claimed ahead may wait for a handler slot; past it, it is handed back
   * unstarted. The claim's deadline (timeout + nodeTimeout from the claim) must still leave its
   * handler the whole timeout: half of nodeTimeout keeps it clear of a rescue.
   */
  readonly maxWaitForSlot: Duration.Duration
  /** The attempt timeout for tasks that define none. */
  readonly defaultTimeout: Duration.Duration
  /** Called after a retry is scheduled, so this process claims it when it is due (not a scan later). */
  readonly wakeAfter: (delay: Duration.Duration) => Effect.Effect<void>
  /** Stores a running attempt's checkpoint and progress (see `Store.saveAttemptState`). */
  readonly saveState: Store["saveAttemptState"]
}

/**
 * Runs one claimed attempt and records how it ended. Its claim slot (taken by the claimer) goes back
 * when the handler ends. The handler runs interruptibly (timeout, stop); deciding and writing the
 * outcome do not, so an attempt interrupted by a stop is always handed back, never left `running`.
 */
export const makeExecutor = (options: ExecutorOptions) => {
  const { record, succeedInTransaction } = makeRecorder(options)
  const processSpans = options.spans === undefined
    ? undefined
    : { start: makeProcessSpans(options.spans, options.nodeId), end: options.spans.end }

  /** Runs the handler; succeeds with its encoded result and whether its success is already recorded (a transactional task). */
  const attempt = (
    claim: ClaimedTask,
    end: AttemptEnd,
    entry: Option.Option<Entry>,
    counted: metrics.TaskMetrics,
    span: Tracer.Span | undefined
  ): Effect.Effect<{ readonly result: string | null; readonly recorded: boolean }, unknown> =>
    Effect.gen(function*() {
      const task = Option.map(entry, (found) => found.task)
      const handler = Option.flatMap(entry, (found) => found.handler)
      if (Option.isNone(task) || Option.isNone(handler)) return yield* new TaskNotFound({ key: claim.key })
      yield* Metric.increment(counted.started)
      yield* Metric.update(counted.waitTime, claim.waitMillis)
      const timeout = Option.getOrElse(task.value.timeout, () => options.defaultTimeout)
      const current: Task.Current = { id: claim.id, key: claim.key, attempt: claim.attempt, maxAttempts: claim.maxAttempts }
      const submitting = yield* Effect.makeSemaphore(1)
      const attempt: Attempt = {
        id: claim.id,
        task: task.value,
        rootId: claim.rootId ?? claim.id,
        claimToken: claim.claimToken,
        submitting,
        end,
        checkpoint: claim.checkpoint,
        // On the manager's own connections: outside a transactional handler's transaction, never
        // waiting for the application's pool. A claim taken away makes it a no-op.
        save: (state) => Effect.asVoid(options.saveState({ id: claim.id, claimToken: claim.claimToken, ...state }))
      }
      const startedAt = yield* monotonicMillis
      // Only the handler is timed. (A deadline that passes just as the handler ends, before a
      // transactional handler's success commits, rolls the transaction back and counts as a
      // timeout; one that passes as it commits leaves the success in place, and the attempt's
      // later write is refused as stale.) The handler (and a transactional one's whole
      // transaction) runs in the attempt's span: its own spans are children of it, its log lines
      // events on it. Only those: every step a fiber takes in a span costs the tracer's context
      // switch (with OpenTelemetry, more than the step).
      const inSpan = <A, E, R>(self: Effect.Effect<A, E, R>) => span === undefined ? self : Effect.withParentSpan(self, span)
      const timed = runHandler(task.value, handler.value, claim, current, attempt, (run) =>
        options.deadlines.within(run, timeout, () => {
          end.timedOutAfter = Duration.toMillis(timeout)
        }), span).pipe(
          Effect.ensuring(Effect.flatMap(monotonicMillis, (now) => Metric.update(counted.runTime, now - startedAt)))
        )
      return yield* task.value.transactional
        ? options.store.withTransaction(
          Effect.tap(timed, (result) => succeedInTransaction(claim, result))
        ).pipe(Effect.map((result) => ({ result, recorded: true })), inSpan)
        : Effect.map(timed, (result) => ({ result, recorded: false }))
    })

  const nextDelay = (claim: ClaimedTask, entry: Option.Option<Entry>, cause: Cause.Cause<unknown>) =>
    Option.match(entry, {
      onNone: () => Effect.succeedNone,
      onSome: ({ task }) => outcome.retryAfter(task.retry, claim.attempt, cause)
    })

  /**
   * Runs `self` in a handler slot. A free slot is taken at once; an attempt claimed ahead waits for
   * one (in claim order), and gives up after `maxWaitForSlot`.
   */
  const inHandlerSlot = <A, E>(token: string, self: Effect.Effect<A, E>) =>
    Effect.uninterruptibleMask((restore) => {
      // "running" exactly while the handler slot is held: `manager.running` counts these.
      const occupied = Effect.zipRight(
        options.phases.set(token, "running"),
        options.pace.timed(restore(self)).pipe(Effect.ensuring(options.phases.set(token, "ending")))
      )
      // A free slot goes to this attempt only when none claimed before it waits: claim order holds.
      const atOnce = Effect.flatMap(
        options.phases.count("waiting"),
        (waiting) => waiting === 0 ? options.handlerSlots.withPermitsIfAvailable(1)(occupied) : Effect.succeedNone
      )
      return Effect.flatMap(atOnce, (now) =>
        Option.isSome(now) ? Effect.succeed(now.value) : Effect.gen(function*() {
          yield* options.phases.set(token, "waiting")
          // Only an attempt that has to wait pays for a timer.
          const slot = yield* restore(options.handlerSlots.take(1).pipe(Effect.timeoutOption(options.maxWaitForSlot)))
          if (Option.isNone(slot)) {
            return yield* new outcome.WaitedTooLong({ waitedMillis: Duration.toMillis(options.maxWaitForSlot) })
          }
          // No longer waiting: the claimer may be waiting for that.
          yield* options.claimSlots.signal
          return yield* occupied.pipe(Effect.ensuring(options.handlerSlots.release(1)))
        }))
    })

  /**
   * One attempt from its claim to its recorded end; fails with the handler's failure when the
   * attempt failed (for its span), after everything is recorded.
   */
  const run = (claim: ClaimedTask, entry: Option.Option<Entry>, counted: metrics.TaskMetrics, span: Tracer.Span | undefined) =>
    Effect.suspend(() => {
      // The claim slot goes back as soon as the handler has ended: the claimer need not wait for
      // the end to be written. Given back once, whatever path the attempt takes.
      let holdsSlot = true
      const giveBackSlot = Effect.suspend(() => {
        if (!holdsSlot) return Effect.void
        holdsSlot = false
        return options.claimSlots.release(1)
      })
      const end = makeAttemptEnd()
      return Effect.gen(function*() {
        const ran = yield* Effect.exit(Effect.interruptible(inHandlerSlot(claim.claimToken, attempt(claim, end, entry, counted, span))))
        yield* options.phases.set(claim.claimToken, "ending")
        yield* giveBackSlot
        const isStopping = yield* options.phases.wasStopped(claim.claimToken)
        const exit = end.timedOutAfter !== undefined && !isStopping && Exit.isFailure(ran) && Cause.isInterruptedOnly(ran.cause)
          ? Exit.fail(new TaskTimeout({ id: claim.id, key: claim.key, timeout: Duration.millis(end.timedOutAfter) }))
          : Exit.map(ran, (ended) => ended.result)
        const delay = exit._tag === "Failure" ? yield* nextDelay(claim, entry, exit.cause) : Option.none()
        const ended = outcome.decide(claim, exit, delay, isStopping, Option.fromNullable(end.snoozedFor))
        const status = Exit.isSuccess(ran) && ran.value.recorded
          ? TaskStatus.succeeded
          : yield* record(claim, ended, end.timedOutAfter !== undefined, span)
        const counter = status === null || status === undefined ? undefined : counterOf(ended, status)
        if (status === null) yield* Metric.increment(counted.staleWrites)
        else if (counter !== undefined) yield* Metric.increment(counted[counter])
        span?.attribute("effect_tasks.task.outcome", status === null ? "stale" : counter === undefined ? "unrecorded" : outcomeName[counter])
        if (ended._tag === "Retry" || ended._tag === "Snoozed") yield* options.wakeAfter(ended.delay)
        if (exit._tag === "Failure" && (ended._tag === "Retry" || ended._tag === "Failed")) {
          // One line per failed attempt as recorded (nothing per success; a stale or unrecorded end
          // logged its own line), and the handler's failure on the attempt's span.
          if (counter === "retried" || counter === "failed") yield* logFailure(claim, ended, exit.cause)
          return yield* Effect.failCause(exit.cause)
        }
      }).pipe(Effect.ensuring(Effect.all([
        options.phases.remove(claim.claimToken),
        giveBackSlot,
        // One end fewer to write: a claimer held back by a backlog of ends may go on.
        options.claimSlots.signal
      ], { discard: true })))
    })

  /**
   * Uninterruptible except while it waits for a handler slot and while the handler runs: whatever
   * ends the attempt (success, failure, timeout, a stop, even before it started), its outcome is
   * decided and written, and its claim slot released. In a `process` span, on log lines annotated
   * with the attempt.
   */
  return (claim: ClaimedTask): Effect.Effect<void> =>
    // The definition and handler, looked up once (the claim took only keys this node runs).
    Effect.flatMap(options.registry.get(claim.key), (entry) => {
      const counted = metrics.forTask(claim.key, claim.queue)
      // With tracing off, no span at all: not even a no-op one costs its steps. The attempt's span
      // is current nowhere but in its handler (see `attempt`); it ends with the attempt's exit (the
      // handler's failure, recorded on it), and the attempt itself has ended.
      const span = processSpans?.start(claim, entry)
      return Effect.map(Effect.exit(run(claim, entry, counted, span)), (exit) => {
        if (span !== undefined) processSpans?.end(span, exit)
      })
    }).pipe(
        Effect.uninterruptible,
        // Exactly the attempt's: not the claimer's annotations the executor fiber inherits.
        Effect.locally(FiberRef.currentLogAnnotations, logAnnotations(claim, options.nodeId))
      )
}
