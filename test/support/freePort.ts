import { Effect } from "effect"
import { type AddressInfo, createServer } from "node:net"

/** A TCP port free on 127.0.0.1 right now (the system picks it; closed again at once). */
export const freePort: Effect.Effect<number> = Effect.async((resume) => {
  const probe = createServer().listen(0, "127.0.0.1", () => {
    const { port } = probe.address() as AddressInfo
    probe.close(() => resume(Effect.succeed(port)))
  })
})
