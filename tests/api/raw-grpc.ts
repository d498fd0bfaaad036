// A hostile gRPC client: raw HTTP/2 (node:http2), so it can do what a polite grpc-js client
// never does — leave a request half sent, or never read an answer. Loopback / unix socket only.
import { connect as http2Connect, constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2'
import { connect as netConnect } from 'node:net'

const SERVICE = '/datamesher.v1.DataMesher/'

/** "127.0.0.1:port" or "unix:///path"; `window` 0: the daemon cannot send a byte of any answer */
export function session (target: string, window = 65_535): ClientHttp2Session {
  // a small window: the daemon can push little to a reader that never reads
  const settings = { initialWindowSize: window }
  if (target.startsWith('unix://')) {
    const path = target.slice('unix://'.length)
    return http2Connect('http://localhost', { settings, createConnection: () => netConnect(path) })
  }
  return http2Connect(`http://${target}`, { settings })
}

/** Protobuf: one length-delimited field (strings, bytes, nested messages). */
export function field (no: number, bytes: Uint8Array | string): Buffer {
  const b = typeof bytes === 'string' ? Buffer.from(bytes) : Buffer.from(bytes)
  return Buffer.concat([Buffer.from([(no << 3) | 2]), varint(b.length), b])
}

function varint (n: number): Buffer {
  const out: number[] = []
  while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) }
  out.push(n)
  return Buffer.from(out)
}

/** gRPC framing: 0 (not compressed), u32be length, message. */
export function frame (message: Uint8Array, claimedLength = message.length): Buffer {
  const head = Buffer.alloc(5)
  head.writeUInt32BE(claimedLength, 1)
  return Buffer.concat([head, message])
}

export function call (s: ClientHttp2Session, method: string): ClientHttp2Stream {
  const req = s.request({
    ':method': 'POST',
    ':path': SERVICE + method,
    'content-type': 'application/grpc',
    te: 'trailers'
  })
  req.on('error', () => {}) // resets are expected: that is what the daemon does to us
  return req
}

/** The gRPC status of a finished call: from trailers, or the HTTP/2 reset code. */
export function outcome (req: ClientHttp2Stream): Promise<{ grpcStatus?: number, message?: string, rstCode?: number }> {
  return new Promise(resolve => {
    let grpcStatus: number | undefined
    let message: string | undefined
    const take = (h: Record<string, unknown>): void => {
      if (h['grpc-status'] !== undefined) { grpcStatus = Number(h['grpc-status']); message = decodeURIComponent(String(h['grpc-message'] ?? '')) }
    }
    req.on('response', take)
    req.on('trailers', take)
    req.on('close', () => resolve({ grpcStatus, message, rstCode: req.rstCode === constants.NGHTTP2_NO_ERROR ? undefined : req.rstCode }))
  })
}
