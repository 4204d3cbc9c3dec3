import { Deferred, Duration, Effect, Exit, Queue, type Scope } from "effect"
import type { TaskStoreError } from "../../TaskError.js"
import type { Store } from "../store/store.js"
import type { Finish } from "../store/finish.js"
import type { TaskStatus } from "../../TaskStatus.js"
import { type Settled, settleSpan } from "../observability/attempt.js"
import type { SpanMaker } from "../observability/spans.js"
import { untraced } from "../observability/trace.js"

/** Records the ends of attempts. */
export interface Completer {
  /**
   * Writes one attempt's end, guarded by its claim token; succeeds with the status the task now
   * has (an operator's stop request may have changed it), or null when it did not apply (stale).
   * `settled` names the attempt's `process` span for the write's `settle` span.
   */
  readonly complete: (finish: Finish, settled?: Settled) => Effect.Effect<TaskStatus | null, TaskStoreError>
}

export interface CompleterOptions {
  readonly store: Store
  /** Most ends written by one statement. */
  readonly maxBatch: number
  /**
   * How long an end may wait for others to share its statement (zero: written at once). A batch is
   * written when its first end has waited this long, or as soon as it is full.
   */
  readonly delay: Duration.Duration
  /** Makes the `settle` spans with the application's tracer (undefined: none recorded). */
  readonly spans: SpanMaker | undefined
}

/**
 * Most links one settle span has, those in effect where the manager started included (when they
 * alone reach it, each span links one attempt besides them): OpenTelemetry's default limit.
 */
export const maxLinks = 128

interface Pending {
  readonly finish: Finish
  readonly settled: Settled | undefined
  readonly applied: Deferred.Deferred<TaskStatus | null, TaskStoreError>
}

/**
 * Ends that arrive together share one statement. With no delay nothing waits: a single writer
 * takes every end queued so far (up to `maxBatch`), writes them with one guarded `finishIfClaimed`,
 * and answers each caller; ends that arrive while that statement runs form the next batch. So an
 * idle node writes each end at once, and a busy one pays one commit for many. With a delay, the
 * writer holds a batch open until its first end has waited `delay` or it is full: fewer commits,
 * each end later. Each end is still fenced by its own claim token, and each caller still learns
 * whether its own write applied. A failed statement fails every end of its batch: each caller
 * decides whether to try again. With a tracer, each statement is in a `settle` span linked to the
 * `process` span of every attempt whose end it writes (one span per write, not per attempt; a
 * write of more ends than a span may link is in several).
 */
export const makeCompleter = (options: CompleterOptions): Effect.Effect<Completer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* Effect.acquireRelease(Queue.unbounded<Pending>(), Queue.shutdown)
    // Tells a writer holding a batch open that it is full. Coalesced: a sliding queue of one.
    const full = yield* Effect.acquireRelease(Queue.sliding<void>(1), Queue.shutdown)
    const isDelayed = Duration.toMillis(options.delay) > 0
    const { spans } = options
    const inSettleSpan = (batch: ReadonlyArray<Pending>) => {
      // One lock order for every batch: two statements never wait on each other's rows crosswise.
      const written = options.store.finishIfClaimed(batch.map((pending) => pending.finish).sort((a, b) => Number(BigInt(a.id) - BigInt(b.id))))
      if (spans === undefined) return written
      const settled = batch.flatMap((pending) => pending.settled === undefined ? [] : [pending.settled])
      if (settled.length === 0) return written
      // The statement itself records no span (the writer runs untraced). A span links at most
      // `maxLinks` (OpenTelemetry's default limit drops the rest), those in effect where the
      // manager started included: a bigger batch is written inside several settle spans.
      const share = Math.max(1, maxLinks - spans.inheritedLinks)
      return Effect.suspend(() => {
        const started = Array.from({ length: Math.ceil(settled.length / share) }, (_, i) => {
          const span = settleSpan(settled.slice(i * share, (i + 1) * share), settled.length > 1)
          return spans.start(span.name, span.start)
        })
        return Effect.onExit(written, (exit) => Effect.sync(() => started.forEach((span) => spans.end(span, exit))))
      })
    }
    const write = (batch: ReadonlyArray<Pending>) =>
      inSettleSpan(batch).pipe(
        Effect.exit,
        Effect.flatMap((exit) =>
          Effect.suspend(() => {
            const statusOf = Exit.map(exit, (applied) => new Map(applied.map((row) => [row.id, row.status])))
            return Effect.forEach(batch, (pending) =>
              Deferred.done(pending.applied, Exit.map(statusOf, (status) => status.get(pending.finish.id) ?? null)), {
              discard: true
            })
          })
        )
      )
    const heldOpen = Effect.gen(function*() {
      const first = yield* Queue.take(queue)
      yield* Queue.takeAll(full)
      if ((yield* Queue.size(queue)) + 1 < options.maxBatch) {
        yield* Effect.raceFirst(Effect.sleep(options.delay), Queue.take(full))
      }
      return [first, ...(yield* Queue.takeUpTo(queue, options.maxBatch - 1))] as ReadonlyArray<Pending>
    })
    const nextBatch = isDelayed ? heldOpen : Effect.map(Queue.takeBetween(queue, 1, options.maxBatch), (chunk): ReadonlyArray<Pending> => Array.from(chunk))
    // The writer runs untraced (as the manager's own fibers do): its statements record no spans.
    yield* nextBatch.pipe(Effect.flatMap(write), Effect.forever, untraced, Effect.forkScoped)
    const offer = (pending: Pending) =>
      isDelayed
        ? Effect.zipRight(
          Queue.offer(queue, pending),
          Effect.flatMap(Queue.size(queue), (size) => size + 1 >= options.maxBatch ? Queue.offer(full, undefined) : Effect.void)
        )
        : Queue.offer(queue, pending)
    return {
      complete: (finish, settled) =>
        Effect.flatMap(Deferred.make<TaskStatus | null, TaskStoreError>(), (applied) =>
          Effect.zipRight(offer({ finish, settled, applied }), Deferred.await(applied)))
    }
  })
