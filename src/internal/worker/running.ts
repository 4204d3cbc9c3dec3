import { Effect, Fiber, FiberMap, Option } from "effect"

/** The executors of the attempts a node runs, by claim token. */
export type Running = FiberMap.FiberMap<string, void, never>

/** The claim tokens of the attempts running now. */
export const tokensOf = (running: Running): ReadonlyArray<string> => Array.from(running, ([token]) => token)

/**
 * The node stops these attempts (a stop, or claims found lost): each is marked as stopped by the
 * node, so its executor hands it back rather than failing it, then interrupted, all at once,
 * without waiting for any of them: each executor records its hand-back on its own, and a write
 * that hangs (a lost connection) holds up nothing else. (`FiberMap.clear` interrupts one fiber at
 * a time and waits for each.)
 */
/**
 * Stops the attempts among `tokens` that have not ended yet (waiting for a slot or running): an
 * operator's cancel or pause must not cut an attempt that is writing its end (a success stands).
 */
export const stopUnended = (running: Running, phases: Phases, tokens: ReadonlyArray<string>): Effect.Effect<void> =>
  Effect.flatMap(unendedAmong(phases, tokens), (unended) => stopAttempts(running, phases, unended))

/** The attempts among `tokens` that have not ended (waiting for a slot, or running): an ending one keeps its end. */
export const unendedAmong = (phases: Phases, tokens: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<string>> =>
  Effect.map(phases.tokensIn("waiting", "running"), (unended) => {
    const live = new Set(unended)
    return tokens.filter((token) => live.has(token))
  })

export const stopAttempts = (running: Running, phases: Phases, tokens: ReadonlyArray<string>): Effect.Effect<void> =>
  Effect.flatMap(Effect.fiberId, (by) =>
    Effect.forEach(tokens, (token) =>
      Option.match(FiberMap.unsafeGet(running, token), {
        // No executor (it has ended): nothing to stop, nothing to mark.
        onNone: () => Effect.void,
        // Marked first, so the executor knows the node stopped it when the interruption lands.
        onSome: (fiber) => Effect.zipRight(phases.markStopped([token]), Fiber.interruptAsFork(fiber, by))
      }), { discard: true }))

/**
 * Where each held attempt is: claimed ahead and waiting for a handler slot, its handler running,
 * or its end being recorded. A stop hands back the waiting ones at once; a heartbeat that finds a
 * claim gone stops only attempts that are not already ending (an end written just before the
 * heartbeat's statement is no lost claim).
 */
export type Phase = "waiting" | "running" | "ending"

export interface Phases {
  readonly set: (token: string, phase: Phase) => Effect.Effect<void>
  readonly remove: (token: string) => Effect.Effect<void>
  /** The tokens of the attempts in one of these phases. */
  readonly tokensIn: (...phases: ReadonlyArray<Phase>) => Effect.Effect<ReadonlyArray<string>>
  /** How many attempts are in this phase. */
  readonly count: (phase: Phase) => Effect.Effect<number>
  /** Records that the node itself stops these attempts (see `stopAttempts`). */
  readonly markStopped: (tokens: ReadonlyArray<string>) => Effect.Effect<void>
  /** Whether the node stopped this attempt: an interruption is then a hand-back, not a failure. */
  readonly wasStopped: (token: string) => Effect.Effect<boolean>
}

export const makePhases: Effect.Effect<Phases> = Effect.sync(() => {
  // One map per manager, touched only through these effects: a Ref of copies would cost a copy per change.
  const phases = new Map<string, Phase>()
  const counts: Record<Phase, number> = { waiting: 0, running: 0, ending: 0 }
  const stopped = new Set<string>()
  const leave = (token: string) => {
    const previous = phases.get(token)
    if (previous !== undefined) counts[previous]--
  }
  return {
    set: (token, phase) =>
      Effect.sync(() => {
        leave(token)
        phases.set(token, phase)
        counts[phase]++
      }),
    remove: (token) =>
      Effect.sync(() => {
        leave(token)
        phases.delete(token)
        stopped.delete(token)
      }),
    tokensIn: (...wanted) =>
      Effect.sync(() => Array.from(phases).flatMap(([token, phase]) => wanted.includes(phase) ? [token] : [])),
    count: (phase) => Effect.sync(() => counts[phase]),
    markStopped: (tokens) =>
      Effect.sync(() => {
        for (const token of tokens) stopped.add(token)
      }),
    wasStopped: (token) => Effect.sync(() => stopped.has(token))
  }
})
