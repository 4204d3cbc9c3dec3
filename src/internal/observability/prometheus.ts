import { Effect, Metric, MetricState, Option } from "effect"
import type { MetricPair } from "effect"

const name = (raw: string) => raw.replace(/[^a-zA-Z0-9_:]/g, "_").replace(/^([0-9])/, "_$1")

/** A label name: no colon (metric names may have one, label names may not). */
const labelName = (raw: string) => raw.replace(/[^a-zA-Z0-9_]/g, "_").replace(/^([0-9])/, "_$1")

const escape = (value: string) => value.replaceAll("\\", "\\\\").replaceAll("\"", "\\\"").replaceAll("\n", "\\n")

const labels = (tags: ReadonlyArray<readonly [string, string]>) =>
  tags.length === 0 ? "" : `{${tags.map(([key, value]) => `${labelName(key)}="${escape(value)}"`).join(",")}}`

const number = (value: number | bigint) =>
  typeof value === "bigint"
    ? value.toString()
    : Number.isNaN(value)
    ? "NaN"
    : value === Infinity
    ? "+Inf"
    : value === -Infinity
    ? "-Inf"
    : String(value)

interface Family {
  readonly type: "counter" | "gauge" | "histogram" | "summary"
  readonly help: string | undefined
  readonly lines: Array<string>
}

/** The sample lines of one metric, and the Prometheus type of its family. */
const samples = (pair: MetricPair.MetricPair.Untyped): { readonly type: Family["type"]; readonly lines: Array<string> } => {
  const base = name(pair.metricKey.name)
  const tags = pair.metricKey.tags.map((tag) => [tag.key, tag.value] as const)
  const state = pair.metricState
  if (MetricState.isCounterState(state)) return { type: "counter", lines: [`${base}${labels(tags)} ${number(state.count)}`] }
  if (MetricState.isGaugeState(state)) return { type: "gauge", lines: [`${base}${labels(tags)} ${number(state.value)}`] }
  if (MetricState.isHistogramState(state)) {
    const buckets = Array.from(state.buckets, ([bound, count]) => `${base}_bucket${labels([...tags, ["le", number(bound)]])} ${count}`)
    if (!Array.from(state.buckets).some(([bound]) => bound === Infinity)) {
      buckets.push(`${base}_bucket${labels([...tags, ["le", "+Inf"]])} ${state.count}`)
    }
    return {
      type: "histogram",
      lines: [...buckets, `${base}_sum${labels(tags)} ${number(state.sum)}`, `${base}_count${labels(tags)} ${state.count}`]
    }
  }
  if (MetricState.isSummaryState(state)) {
    const quantiles = Array.from(state.quantiles, ([quantile, value]) =>
      `${base}${labels([...tags, ["quantile", String(quantile)]])} ${Option.match(value, { onNone: () => "NaN", onSome: number })}`)
    return {
      type: "summary",
      lines: [...quantiles, `${base}_sum${labels(tags)} ${number(state.sum)}`, `${base}_count${labels(tags)} ${state.count}`]
    }
  }
  if (MetricState.isFrequencyState(state)) {
    return {
      type: "counter",
      lines: Array.from(state.occurrences, ([occurrence, count]) => `${base}${labels([...tags, ["key", occurrence]])} ${count}`)
    }
  }
  return { type: "gauge", lines: [] }
}

/**
 * Every metric in Effect's registry (this library's and the application's) in the Prometheus text
 * exposition format (version 0.0.4): one `# HELP` and `# TYPE` per family, then its samples.
 */
export const render: Effect.Effect<string> = Effect.map(Metric.snapshot, (pairs) => {
  const families = new Map<string, Family>()
  for (const pair of pairs) {
    const { lines, type } = samples(pair)
    const key = name(pair.metricKey.name)
    const family = families.get(key) ?? { type, help: Option.getOrUndefined(pair.metricKey.description), lines: [] }
    family.lines.push(...lines)
    families.set(key, family)
  }
  const text: Array<string> = []
  for (const [key, family] of [...families].sort(([a], [b]) => a.localeCompare(b))) {
    if (family.help !== undefined) text.push(`# HELP ${key} ${family.help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n")}`)
    text.push(`# TYPE ${key} ${family.type}`, ...family.lines)
  }
  return text.length === 0 ? "" : `${text.join("\n")}\n`
})

/** The content type of `render`'s text. */
export const contentType = "text/plain; version=0.0.4; charset=utf-8"
