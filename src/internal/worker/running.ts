import { Effect, Fiber, FiberMap, Option } from "effect"

/** The executors of the attempts a node runs, by claim token. */
export type Running = FiberMap.FiberMap<string, void, never>

/** The claim tokens of the attempts running now. */
export const tokensOf = (running: Running): ReadonlyArray<string> => Array.from(running, ([token]) => token)

/**
 * Interrupts the handlers of these attempts, all at once, without waiting for any of them: each
 * executor then records its hand-back on its own, and a write that hangs (a lost connection) holds
 * up nothing else. (`FiberMap.clear` interrupts one fiber at a time and waits for each.)
 */
export const stopAttempts = (running: Running, tokens: ReadonlyArray<string>): Effect.Effect<void> =>
  Effect.flatMap(Effect.fiberId, (by) =>
    Effect.forEach(tokens, (token) =>
      Option.match(FiberMap.unsafeGet(running, token), {
        onNone: () => Effect.void,
        onSome: (fiber) => Fiber.interruptAsFork(fiber, by)
      }), { discard: true }))
