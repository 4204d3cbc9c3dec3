import { Effect, Option } from "effect"
import * as TaskStatus from "../../TaskStatus.js"
import { type Filter, list } from "./find.js"

const { canceled, failed, initialized, paused, running, succeeded } = TaskStatus

/** The statuses each change applies to: by filter, it changes only the matching tasks in one of these. */
export const changeable = {
  rerun: TaskStatus.ended,
  cancel: TaskStatus.unfinished,
  delete: [initialized, paused, succeeded, failed, canceled],
  move: [initialized, paused],
  pause: [initialized, running],
  resume: [paused]
} as const satisfies Record<string, ReadonlyArray<TaskStatus.TaskStatus>>

export type Change = keyof typeof changeable

/** The filter narrowed to the tasks `change` applies to (the statuses it names among those). */
export const within = (filter: Filter, change: Change): Filter => {
  const statuses: ReadonlyArray<TaskStatus.TaskStatus> = changeable[change]
  const asked = filter.status === undefined ? statuses : ([] as ReadonlyArray<TaskStatus.TaskStatus>).concat(filter.status)
  return { ...filter, status: asked.filter((status) => statuses.includes(status)) }
}

/** Whether a filter names nothing, and so matches every task (a change by it is refused). */
export const isEmptyFilter = (filter: Filter): boolean =>
  Object.values(filter).every((value) => value === undefined || (Array.isArray(value) && value.length === 0))

/** The ids of every task `change` would change among those a filter matches, page after page (pause and resume take ids). */
export const idsMatching = (filter: Filter, change: Change) =>
  Effect.gen(function*() {
    const narrowed = within(filter, change)
    const ids: Array<string> = []
    let after: string | undefined
    for (;;) {
      const page = yield* list(narrowed, { limit: 1000, order: "oldest", after })
      ids.push(...page.tasks.map((task) => task.id))
      if (Option.isNone(page.next)) return ids
      after = page.next.value
    }
  })
