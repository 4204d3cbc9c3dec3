import { Data, Duration, Effect } from "effect"

export class WaitTimeout extends Data.TaggedError("WaitTimeout")<{ readonly what: string; readonly last: unknown }> {
  override get message() {
    return `timed out waiting for ${this.what}; last seen: ${JSON.stringify(this.last)}`
  }
}

/**
 * Polls `probe` until `done` holds for its value, every 20 ms, failing after `within`. The way
 * tests wait on database state: no bare sleeps.
 */
export const waitFor = <A, E, R>(
  what: string,
  probe: Effect.Effect<A, E, R>,
  done: (value: A) => boolean,
  within: Duration.DurationInput = "20 seconds"
): Effect.Effect<A, E | WaitTimeout, R> => {
  const poll = (left: number): Effect.Effect<A, E | WaitTimeout, R> =>
    Effect.flatMap(probe, (value) =>
      done(value)
        ? Effect.succeed(value)
        : left <= 0
        ? Effect.fail(new WaitTimeout({ what, last: value }))
        : Effect.zipRight(Effect.sleep("20 millis"), poll(left - 1)))
  return poll(Math.ceil(Duration.toMillis(Duration.decode(within)) / 20))
}
