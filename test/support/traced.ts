import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base"
import { Context, Effect, Option, Schedule, Schema } from "effect"
import { Task, Tasks } from "../../src/index.js"

/** A request id that travels from the enqueuing fiber to the handlers (the definitions' `context`). */
export class RequestId extends Context.Reference<RequestId>()("test/RequestId", { defaultValue: () => "none" }) {}

const carried = { reference: RequestId, schema: Schema.String }

/** Fails its first attempt, succeeds its second; notes the request id it was given on its span. */
export const Flaky = Task.make("traced-flaky", {
  args: Schema.Struct({}),
  retry: { times: 1, schedule: Schedule.spaced("10 millis") },
  context: carried
})

/** Enqueues one `Child`: the child's spans hang off this attempt's. */
export const Parent = Task.make("traced-parent", { args: Schema.Struct({}), context: carried })
export const Child = Task.make("traced-child", { args: Schema.Struct({}), context: carried })

/** Its attempts are children of the enqueuing span (`trace: "parent"`). */
export const Inline = Task.make("traced-inline", { args: Schema.Struct({}), trace: "parent" })

const noteRequestId = Effect.flatMap(RequestId, (id) => Effect.annotateCurrentSpan("test.request_id", id))

export const handlers = [
  Flaky.handler(() =>
    Effect.gen(function*() {
      yield* noteRequestId
      const { attempt } = Option.getOrThrow(yield* Task.CurrentTask)
      if (attempt === 1) return yield* Effect.fail(new Error("the first attempt fails"))
    })
  ),
  Parent.handler(() => Effect.zipRight(noteRequestId, Tasks.run(Child, {}).pipe(Effect.orDie))),
  Child.handler(() => noteRequestId),
  Inline.handler(() => Effect.void)
] as const

/** What a test reads of a finished span. */
export interface SpanSummary {
  readonly name: string
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | undefined
  readonly links: ReadonlyArray<{ readonly traceId: string; readonly spanId: string }>
  readonly attributes: Record<string, unknown>
  readonly status: number
  readonly events: ReadonlyArray<string>
}

export const summarize = (span: ReadableSpan): SpanSummary => ({
  name: span.name,
  traceId: span.spanContext().traceId,
  spanId: span.spanContext().spanId,
  parentSpanId: span.parentSpanContext?.spanId,
  links: span.links.map((link) => ({ traceId: link.context.traceId, spanId: link.context.spanId })),
  attributes: { ...span.attributes },
  status: span.status.code,
  events: span.events.map((event) => event.name)
})

/** The prefix of each span line `StdoutSpans` prints. */
export const spanLine = "SPAN "

/** Prints each finished span as one line of JSON (`SPAN {...}`), for a test in another process to read. */
export class StdoutSpans implements SpanExporter {
  export(spans: Array<ReadableSpan>, done: (result: { code: number }) => void): void {
    for (const span of spans) process.stdout.write(`${spanLine}${JSON.stringify(summarize(span))}\n`)
    done({ code: 0 })
  }
  shutdown(): Promise<void> {
    return Promise.resolve()
  }
}
