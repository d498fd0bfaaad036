import { encodeBase64Key, generateSigningKey, type SigningKey } from '../../src/crypto/keys.ts'
import type { Policy } from '../../src/rule/which-version-wins.ts'

export function keys (n: number): SigningKey[] {
  return Array.from({ length: n }, () => generateSigningKey())
}

export function policy (files: Record<string, SigningKey[]>, o: Partial<Policy> = {}): Policy {
  return {
    files: new Map(Object.entries(files).map(([name, ks]) => [name, new Set(ks.map(k => encodeBase64Key(k.publicKey)))])),
    namespaces: new Set(),
    maxFileSize: 1024,
    maxClockSkew: 5 * 60_000,
    ...o
  }
}
