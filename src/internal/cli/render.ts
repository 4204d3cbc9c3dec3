import { Console, Effect } from "effect"

/** A value as one cell of a table: dates in ISO form, none as "-". */
export const cell = (value: unknown): string =>
  value === null || value === undefined
    ? "-"
    : value instanceof Date
    ? value.toISOString()
    : typeof value === "object"
    ? JSON.stringify(value)
    : String(value)

/** Rows as a plain text table: a header line, then one line per row, columns padded to their widest cell. */
export const table = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<unknown>>): string => {
  const cells = rows.map((row) => row.map(cell))
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map((row) => row[i]!.length)))
  const line = (row: ReadonlyArray<string>) => row.map((text, i) => text.padEnd(widths[i]!)).join("  ").trimEnd()
  return [line(headers), ...cells.map(line)].join("\n")
}

/** Seconds as a short duration: "0s", "42s", "3m 5s", "2h 1m", "3d 4h". */
export const age = (seconds: number): string => {
  const s = Math.max(0, Math.floor(seconds))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`
}

/** JSON for scripts (dates as ISO strings, Options as their value or null), or the human text. */
export const print = (json: boolean, value: unknown, human: () => string): Effect.Effect<void> =>
  json ? Console.log(JSON.stringify(value, jsonReplacer, 2)) : Console.log(human())

const jsonReplacer = (_key: string, value: unknown) => {
  if (value !== null && typeof value === "object" && "_tag" in value && "_id" in value && (value as { _id: unknown })._id === "Option") {
    const option = value as { _tag: string; value?: unknown }
    return option._tag === "Some" ? option.value : null
  }
  return value
}
