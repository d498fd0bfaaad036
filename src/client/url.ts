// --url / DATA_MESHER_URL: "unix:///path", "host:port" or "http://host:port".
export const DEFAULT_URL = 'unix:///run/data-mesher/api.sock'

export function resolveUrl (url?: string): string {
  return url ?? process.env.DATA_MESHER_URL ?? DEFAULT_URL
}

/** Turns a user-facing URL into a grpc-js target; throws with a readable reason. */
export function grpcTarget (url: string): string {
  if (url.startsWith('unix://')) {
    const path = url.slice('unix://'.length)
    if (!path.startsWith('/')) throw new Error(`"${url}": a unix URL needs an absolute path (unix:///run/data-mesher/api.sock)`)
    return `unix://${path}`
  }
  if (url.startsWith('unix:')) throw new Error(`"${url}": write unix:///absolute/path`)
  const hostPort = url.replace(/^http:\/\//, '').replace(/\/$/, '')
  if (/^https:/.test(url)) throw new Error(`"${url}": TLS is not supported; the API is meant for loopback or the unix socket`)
  if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(hostPort)) throw new Error(`"${url}" is not unix:///path, host:port or http://host:port`)
  return hostPort
}
