// A minimal MessagePack codec: just what serf's RPC protocol uses (maps with string
// keys, strings, byte strings, integers, booleans, arrays, nil, floats).
export type MsgValue = null | boolean | number | string | Uint8Array | MsgValue[] | { [k: string]: MsgValue }

export function encode (v: MsgValue): Buffer {
  const parts: Buffer[] = []
  write(v, parts)
  return Buffer.concat(parts)
}

function header (small: number, mask: number, b8: number | undefined, b16: number, b32: number, n: number): Buffer {
  if (n < small) return Buffer.of(mask | n)
  if (b8 !== undefined && n < 0x100) return Buffer.of(b8, n)
  if (n < 0x10000) { const b = Buffer.alloc(3); b[0] = b16; b.writeUInt16BE(n, 1); return b }
  const b = Buffer.alloc(5); b[0] = b32; b.writeUInt32BE(n, 1); return b
}

function write (v: MsgValue, out: Buffer[]): void {
  if (v === null) out.push(Buffer.of(0xc0))
  else if (typeof v === 'boolean') out.push(Buffer.of(v ? 0xc3 : 0xc2))
  else if (typeof v === 'number') {
    if (!Number.isInteger(v)) { const b = Buffer.alloc(9); b[0] = 0xcb; b.writeDoubleBE(v, 1); out.push(b) } else if (v >= 0 && v < 0x80) out.push(Buffer.of(v))
    else if (v < 0 && v >= -32) out.push(Buffer.of(0xe0 | (v + 32)))
    else if (v >= 0 && v <= 0xffffffff) { const b = Buffer.alloc(5); b[0] = 0xce; b.writeUInt32BE(v, 1); out.push(b) } else { const b = Buffer.alloc(9); b[0] = 0xd3; b.writeBigInt64BE(BigInt(v), 1); out.push(b) }
  } else if (typeof v === 'string') {
    const s = Buffer.from(v, 'utf8')
    // fixstr or str16/str32 (no str8: old MessagePack decoders only know "raw" 16/32)
    out.push(header(32, 0xa0, undefined, 0xda, 0xdb, s.length), s)
  } else if (v instanceof Uint8Array) {
    out.push(header(0, 0, 0xc4, 0xc5, 0xc6, v.length), Buffer.from(v))
  } else if (Array.isArray(v)) {
    out.push(header(16, 0x90, undefined, 0xdc, 0xdd, v.length))
    for (const x of v) write(x, out)
  } else {
    const keys = Object.keys(v)
    out.push(header(16, 0x80, undefined, 0xde, 0xdf, keys.length))
    for (const k of keys) { write(k, out); write(v[k], out) }
  }
}

/** Thrown when the buffer ends in the middle of a value (wait for more bytes). */
export class Incomplete extends Error {}

/** Decodes one value at `pos`; returns it and the position after it. */
export function decode (buf: Buffer, pos = 0): [MsgValue, number] {
  const need = (n: number): void => { if (pos + n > buf.length) throw new Incomplete() }
  need(1)
  const t = buf[pos++]
  const bytes = (n: number): Buffer => { need(n); const b = buf.subarray(pos, pos + n); pos += n; return b }
  const arr = (n: number): MsgValue[] => { const a: MsgValue[] = []; for (let i = 0; i < n; i++) { const [x, p] = decode(buf, pos); a.push(x); pos = p } return a }
  const map = (n: number): { [k: string]: MsgValue } => {
    const m: { [k: string]: MsgValue } = {}
    for (let i = 0; i < n; i++) {
      const [k, p1] = decode(buf, pos); const [x, p2] = decode(buf, p1); pos = p2
      m[typeof k === 'string' ? k : Buffer.from(k as Uint8Array).toString('utf8')] = x
    }
    return m
  }
  const u = (n: number): number => { const b = bytes(n); return n === 1 ? b[0] : n === 2 ? b.readUInt16BE(0) : n === 4 ? b.readUInt32BE(0) : Number(b.readBigUInt64BE(0)) }
  const i = (n: number): number => { const b = bytes(n); return n === 1 ? b.readInt8(0) : n === 2 ? b.readInt16BE(0) : n === 4 ? b.readInt32BE(0) : Number(b.readBigInt64BE(0)) }
  let v: MsgValue
  if (t < 0x80) v = t
  else if (t < 0x90) v = map(t & 0x0f)
  else if (t < 0xa0) v = arr(t & 0x0f)
  else if (t < 0xc0) v = bytes(t & 0x1f).toString('utf8')
  else if (t >= 0xe0) v = t - 0x100
  else {
    switch (t) {
      case 0xc0: v = null; break
      case 0xc2: v = false; break
      case 0xc3: v = true; break
      case 0xc4: v = new Uint8Array(bytes(u(1))); break
      case 0xc5: v = new Uint8Array(bytes(u(2))); break
      case 0xc6: v = new Uint8Array(bytes(u(4))); break
      case 0xc7: { const n = u(1); bytes(1 + n); v = null; break }
      case 0xc8: { const n = u(2); bytes(1 + n); v = null; break }
      case 0xc9: { const n = u(4); bytes(1 + n); v = null; break }
      case 0xca: v = bytes(4).readFloatBE(0); break
      case 0xcb: v = bytes(8).readDoubleBE(0); break
      case 0xcc: v = u(1); break
      case 0xcd: v = u(2); break
      case 0xce: v = u(4); break
      case 0xcf: v = u(8); break
      case 0xd0: v = i(1); break
      case 0xd1: v = i(2); break
      case 0xd2: v = i(4); break
      case 0xd3: v = i(8); break
      case 0xd4: bytes(2); v = null; break
      case 0xd5: bytes(3); v = null; break
      case 0xd6: bytes(5); v = null; break
      case 0xd7: bytes(9); v = null; break
      case 0xd8: bytes(17); v = null; break
      case 0xd9: v = bytes(u(1)).toString('utf8'); break
      case 0xda: v = bytes(u(2)).toString('utf8'); break
      case 0xdb: v = bytes(u(4)).toString('utf8'); break
      case 0xdc: v = arr(u(2)); break
      case 0xdd: v = arr(u(4)); break
      case 0xde: v = map(u(2)); break
      case 0xdf: v = map(u(4)); break
      default: throw new Error(`msgpack: unknown type byte 0x${t.toString(16)}`)
    }
  }
  return [v, pos]
}
