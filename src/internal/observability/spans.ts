import { Chunk, Context, Effect, type Exit, FiberRef, Option, type Tracer } from "effect"
import type { Placement } from "./trace.js"

/**
 * A span to start: under `parent`, or a root (with `links`). Passed to the tracer as its options,
 * as `Effect.useSpan` passes its own.
 */
export type SpanStart = Placement & {
  readonly kind: Tracer.SpanKind
  readonly attributes: Readonly<Record<string, unknown>>
}

/**
 * Makes and ends the worker's spans (`process`, `settle`) straight through the application's
 * tracer: what `Effect.useSpan` does, with the fiber's tracer, clock, span timing, annotations and
 * links read once (where the manager starts), not again for each span, and without the steps that
 * end a span on exit (the worker ends it where it already has the exit). A span made so is current
 * nowhere: the worker makes it the handler's parent itself.
 */
export interface SpanMaker {
  readonly start: (name: string, start: SpanStart) => Tracer.Span
  /** The links in effect where the manager started: every span starts with them, before its own. */
  readonly inheritedLinks: number
  readonly end: (span: Tracer.Span, exit: Exit.Exit<unknown, unknown>) => void
}

const zero = BigInt(0)

/** A maker for `tracer`, with the clock and span settings of the calling fiber (the manager's start). */
export const makeSpanMaker = (tracer: Tracer.Tracer): Effect.Effect<SpanMaker> =>
  Effect.map(
    Effect.all([
      Effect.clock,
      FiberRef.get(FiberRef.currentTracerTimingEnabled),
      FiberRef.get(FiberRef.currentTracerSpanAnnotations),
      FiberRef.get(FiberRef.currentTracerSpanLinks)
    ]),
    ([clock, timing, annotations, linksOfFiber]): SpanMaker => {
      const now = timing ? () => clock.unsafeCurrentTimeNanos() : () => zero
      const annotated = Array.from(annotations)
      const inherited = Chunk.toReadonlyArray(linksOfFiber)
      // A new array for each span: a tracer may keep it and add to it (`Span.addLinks`).
      const linksOf = (start: SpanStart): Array<Tracer.SpanLink> =>
        "links" in start && start.links !== undefined ? [...inherited, ...start.links] : [...inherited]
      return {
        inheritedLinks: inherited.length,
        start: (name, start) => {
          const parent = "parent" in start ? Option.some(start.parent) : Option.none()
          const span = tracer.span(name, parent, Context.empty(), linksOf(start), now(), start.kind, start)
          for (const [key, value] of annotated) span.attribute(key, value)
          for (const key in start.attributes) span.attribute(key, start.attributes[key])
          return span
        },
        end: (span, exit) => {
          if (span.status._tag === "Started") span.end(now(), exit)
        }
      }
    }
  )
