// A client for serf's RPC protocol (msgpack over TCP: a header map, then an optional
// body map, in each direction). Used instead of spawning `serf event` per round, so
// that a serf round is timed from the same point as a data-mesher round: the moment the
// already-connected client submits.
import { connect, type Socket } from 'node:net'
import { decode, encode, Incomplete, type MsgValue } from './msgpack.js'

interface Pending { body: boolean, resolve: (v: MsgValue) => void, reject: (e: Error) => void }

export class SerfRpc {
  private buf = Buffer.alloc(0)
  private seq = 0
  private readonly pending = new Map<number, Pending>()
  private constructor (private readonly sock: Socket) {
    sock.setNoDelay(true)
    sock.on('data', d => { this.buf = Buffer.concat([this.buf, d]); this.parse() })
    const fail = (e: Error): void => { for (const p of this.pending.values()) p.reject(e); this.pending.clear() }
    sock.on('error', fail)
    sock.on('close', () => fail(new Error('serf RPC connection closed')))
  }

  static async open (port: number, timeoutMs = 5000): Promise<SerfRpc> {
    const sock = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port })
      const t = setTimeout(() => { s.destroy(); reject(new Error('serf RPC connect timeout')) }, timeoutMs)
      s.once('connect', () => { clearTimeout(t); resolve(s) })
      s.once('error', e => { clearTimeout(t); reject(e) })
    })
    const rpc = new SerfRpc(sock)
    await rpc.request('handshake', { Version: 1 }, false)
    return rpc
  }

  private parse (): void {
    for (;;) {
      try {
        const [h, p1] = decode(this.buf, 0)
        const head = h as { Seq: number, Error: string }
        const pend = this.pending.get(head.Seq)
        let body: MsgValue = null
        let end = p1
        if (pend?.body === true && head.Error === '') { const [b, p2] = decode(this.buf, p1); body = b; end = p2 }
        this.buf = this.buf.subarray(end)
        if (pend === undefined) continue
        this.pending.delete(head.Seq)
        if (head.Error !== '') pend.reject(new Error(head.Error))
        else pend.resolve(body)
      } catch (e) {
        if (e instanceof Incomplete) return
        throw e
      }
    }
  }

  /** Sends a command; `body` says whether the answer carries a body. */
  async request (command: string, args: MsgValue | undefined, body: boolean): Promise<MsgValue> {
    const seq = this.seq++
    const p = new Promise<MsgValue>((resolve, reject) => this.pending.set(seq, { body, resolve, reject }))
    const frames = [encode({ Command: command, Seq: seq })]
    if (args !== undefined) frames.push(encode(args))
    this.sock.write(Buffer.concat(frames))
    return await p
  }

  async event (name: string, payload: Uint8Array): Promise<void> {
    await this.request('event', { Name: name, Payload: payload, Coalesce: false }, false)
  }

  async members (): Promise<Array<{ Name: string, Status: string }>> {
    const b = await this.request('members', undefined, true) as { Members: Array<{ Name: string, Status: string }> }
    return b.Members
  }

  close (): void { this.sock.destroy() }
}
