import { Schema } from "effect"
import { Task } from "../../src/index.js"
import * as fs from "node:fs"

/** The task `recordingWorker.ts` runs: each run appends its start and end to the worker's records file. */
export const Recorded = Task.make("recorded", { args: Schema.Struct({ n: Schema.Number }), retry: { times: 5 } })

/** One line of a records file. `at` is the machine's real time in ms, whatever the process's wall clock says. */
export interface RunEvent {
  readonly task: string
  readonly attempt: number
  readonly node: string
  readonly event: "start" | "end"
  readonly at: number
  /** For an end: whether the run was interrupted. */
  readonly interrupted?: boolean
}

/** The runs of a records file, one per start, with its end when there is one. */
export interface Run {
  readonly task: string
  readonly attempt: number
  readonly node: string
  readonly start: number
  readonly end: number | undefined
  readonly interrupted: boolean
}

export const readRuns = (file: string): ReadonlyArray<Run> => {
  if (!fs.existsSync(file)) return []
  const events = fs.readFileSync(file, "utf8").split("\n").filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as RunEvent)
  return events.filter((event) => event.event === "start").map((start) => {
    const end = events.find((event) =>
      event.event === "end" && event.task === start.task && event.attempt === start.attempt && event.node === start.node
    )
    return {
      task: start.task,
      attempt: start.attempt,
      node: start.node,
      start: start.at,
      end: end?.at,
      interrupted: end?.interrupted === true
    }
  })
}

/** Pairs of runs of one task whose times overlap (a run without an end overlaps everything after its start). */
export const overlappingRuns = (runs: ReadonlyArray<Run>) =>
  runs.flatMap((a, i) =>
    runs.slice(i + 1).filter((b) =>
      a.task === b.task && a.start < (b.end ?? Infinity) && b.start < (a.end ?? Infinity)
    ).map((b) => [a, b] as const)
  )
