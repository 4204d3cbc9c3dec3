import { Effect, FiberRef, Option, Tracer } from "effect"

/**
 * Spans after the OpenTelemetry messaging conventions: `send <queue>` (producer) where tasks are
 * enqueued, `process <queue>` (consumer) per attempt, `settle <queue>` for the write of its
 * outcome. Tracing follows whatever Tracer the application provides; none is forced.
 */
export const messagingSystem = "effect_tasks"

export type Operation = "send" | "process" | "settle"

/** Effect's own tracer, in place when the application provides none: its spans reach no exporter. */
const defaultTracer: Tracer.Tracer = Effect.runSync(Effect.tracer)

/**
 * The application's tracer when spans made here can be seen, else undefined: tracing is on and the
 * application provides a tracer (an OpenTelemetry SDK, say). With Effect's default tracer nothing
 * would receive them, so the library makes none (and stores no traceparent): they would cost each
 * task for nothing.
 */
export const applicationTracer: Effect.Effect<Tracer.Tracer | undefined> = Effect.zipWith(
  FiberRef.get(FiberRef.currentTracerEnabled),
  Effect.tracer,
  (enabled, tracer) => enabled && tracer !== defaultTracer ? tracer : undefined
)

/** Whether spans made here can be seen (see `applicationTracer`). */
export const isTracing: Effect.Effect<boolean> = Effect.map(applicationTracer, (tracer) => tracer !== undefined)

/**
 * `tracer` with its context hook called only while a span is current. A tracer's `context` runs at
 * every step of every fiber that has it; an OpenTelemetry tracer's makes the current span current
 * for OpenTelemetry's own API too, and has nothing to do without one, at a cost each step. An
 * attempt's fiber runs most of its steps with no span current (only its handler runs in the
 * attempt's span): those skip the hook.
 */
export const leanTracer = (tracer: Tracer.Tracer): Tracer.Tracer => {
  const context = tracer.context
  if (context === undefined) return tracer
  return Tracer.make({
    span: (name, parent, spanContext, links, startTime, kind, options) =>
      tracer.span(name, parent, spanContext, links, startTime, kind, options),
    context: (execution, fiber) => fiber.currentSpan === undefined ? execution() : context(execution, fiber)
  })
}

/**
 * Runs `self` with the application's tracer (its `leanTracer`), tracing on: where the manager makes
 * a span or runs a handler (whose own spans belong in the application's traces).
 */
export const withApplicationTracer = (tracer: Tracer.Tracer) => {
  const lean = leanTracer(tracer)
  return <A, E, R>(self: Effect.Effect<A, E, R>) => self.pipe(Effect.withTracer(lean), Effect.withTracerEnabled(true))
}

/**
 * Runs `self` untraced: with Effect's default tracer, tracing off. The manager's own fibers run so
 * (claims, heartbeats, writes of ends): they record no spans, and their steps pay no tracer's
 * context hook (an OpenTelemetry tracer's runs at every step of every fiber).
 */
export const untraced = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(Effect.withTracer(defaultTracer), Effect.withTracerEnabled(false))

/** The attributes every span of `operation` on `queue` carries (no destination for several queues: undefined). */
export const messaging = (operation: Operation, queue: string | undefined, operationName: string = operation) => ({
  "messaging.system": messagingSystem,
  "messaging.operation.type": operation,
  "messaging.operation.name": operationName,
  ...(queue === undefined ? {} : { "messaging.destination.name": queue })
})

const hex = /^[0-9a-f]+$/

/**
 * The W3C `traceparent` of a span (Effect spans carry no `tracestate`); null for a span without W3C
 * ids (tracing off: a no-op span).
 */
export const traceparentOf = (span: Tracer.AnySpan): string | null =>
  span.traceId.length === 32 && span.spanId.length === 16 && hex.test(span.traceId) && hex.test(span.spanId)
    ? `00-${span.traceId}-${span.spanId}-${span.sampled ? "01" : "00"}`
    : null

const traceparentPattern = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/

/** The span a stored `traceparent` names, as an external span; None for a missing or malformed one. */
export const spanOfTraceparent = (traceparent: string | null): Option.Option<Tracer.ExternalSpan> => {
  const match = traceparent === null ? null : traceparentPattern.exec(traceparent)
  if (match === null) return Option.none()
  const [, traceId, spanId, flags] = match as unknown as [string, string, string, string]
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return Option.none()
  return Option.some(Tracer.externalSpan({ traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 }))
}

/** Where an attempt's span hangs: under the enqueuing span, or a root (linked to it, when one was recorded). */
export type Placement = { readonly parent: Tracer.AnySpan } | { readonly root: true; readonly links?: ReadonlyArray<Tracer.SpanLink> }

const rootOfItsOwn: Placement = { root: true }

/**
 * How an attempt's span hangs off the span that enqueued its task: a root with a link to it
 * (`"link"`), or its child (`"parent"`); a root of its own when none was recorded. Remembers the
 * last placement made: tasks enqueued together share a traceparent and are claimed together.
 */
export const makeAttemptSpanPlacement = () => {
  let last: { readonly traceparent: string | null; readonly mode: string; readonly placement: Placement } | undefined
  return (traceparent: string | null, mode: "link" | "parent"): Placement => {
    if (last !== undefined && last.traceparent === traceparent && last.mode === mode) return last.placement
    const placement: Placement = Option.match(spanOfTraceparent(traceparent), {
      onNone: () => rootOfItsOwn,
      onSome: (enqueued) =>
        mode === "parent"
          ? { parent: enqueued }
          : { root: true, links: [{ _tag: "SpanLink", span: enqueued, attributes: { "messaging.operation.type": "send" } }] }
    })
    last = { traceparent, mode, placement }
    return placement
  }
}
