// The HTTP endpoint Prometheus scrapes: GET /metrics in the text exposition format, and
// nothing else. It reads no request body and serves no file content; it may listen on a
// non-loopback address, so it is kept small: few connections, short timeouts.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Registry } from 'prom-client'
import { parseHostPort } from '../config/host-port.js'

export class MetricsServer {
  private constructor (private readonly server: Server, readonly bound: string) {}

  static async listen (listen: string, register: Registry): Promise<MetricsServer> {
    const hp = parseHostPort(listen)
    if (hp === undefined) throw new Error(`metrics.listen: "${listen}" is not host:port`)
    const server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0]
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end()
        return
      }
      if (path !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the metrics are at /metrics\n')
        return
      }
      register.metrics().then(text => {
        res.writeHead(200, { 'content-type': register.contentType })
        res.end(req.method === 'HEAD' ? undefined : text)
      }, (err: Error) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`collecting metrics failed: ${err.message}\n`)
      })
    })
    server.maxConnections = 16
    server.headersTimeout = 10_000
    server.requestTimeout = 10_000
    server.keepAliveTimeout = 30_000
    const host = hp.host === 'localhost' ? '127.0.0.1' : hp.host
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ host, port: hp.port, exclusive: true }, () => { server.off('error', reject); resolve() })
    }).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`metrics.listen: cannot listen on ${listen}: ${err.code ?? err.message}`)
    })
    const a = server.address() as AddressInfo
    return new MetricsServer(server, a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`)
  }

  async close (): Promise<void> {
    const closed = new Promise<void>(resolve => this.server.close(() => resolve()))
    this.server.closeAllConnections() // a scraper's keep-alive connection must not hold the daemon's stop
    await closed
  }
}
