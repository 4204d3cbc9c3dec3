import { Effect, type Scope } from "effect"
import * as net from "node:net"

export interface BlackholeProxy {
  /** The database URL, through the proxy. */
  readonly url: string
  /**
   * From now on, every byte in either direction is dropped, and new connections are accepted and
   * then ignored: a network that silently loses traffic, without a reset or a close.
   */
  readonly partition: Effect.Effect<void>
}

/** A TCP proxy in front of the database at `databaseUrl`, closed with the scope. */
export const startBlackholeProxy = (databaseUrl: string): Effect.Effect<BlackholeProxy, never, Scope.Scope> =>
  Effect.gen(function*() {
    const target = new URL(databaseUrl)
    let partitioned = false
    const sockets = new Set<net.Socket>()
    const server = net.createServer((client) => {
      sockets.add(client)
      client.on("error", () => {})
      client.on("close", () => sockets.delete(client))
      if (partitioned) return client.on("data", () => {})
      const upstream = net.connect(Number(target.port || 5432), target.hostname)
      sockets.add(upstream)
      upstream.on("error", () => client.destroy())
      upstream.on("close", () => {
        sockets.delete(upstream)
        if (!partitioned) client.destroy()
      })
      client.on("close", () => {
        if (!partitioned) upstream.destroy()
      })
      client.on("data", (data) => {
        if (!partitioned) upstream.write(data)
      })
      upstream.on("data", (data) => {
        if (!partitioned) client.write(data)
      })
    })
    const port = yield* Effect.acquireRelease(
      Effect.async<number>((resume) => {
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.address() as net.AddressInfo).port)))
      }),
      () =>
        Effect.async<void>((resume) => {
          for (const socket of sockets) socket.destroy()
          server.close(() => resume(Effect.void))
        })
    )
    const url = new URL(databaseUrl)
    url.hostname = "127.0.0.1"
    url.port = String(port)
    return {
      url: url.toString(),
      partition: Effect.sync(() => {
        partitioned = true
      })
    }
  })
