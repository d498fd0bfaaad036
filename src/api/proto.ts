// Loads proto/datamesher/v1/datamesher.proto at run time (shared by server and client).
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import { join } from 'node:path'
import { packageRoot } from '../package-root.js'

const PROTO_FILE = join('proto', 'datamesher', 'v1', 'datamesher.proto')

export const packageDefinition = protoLoader.loadSync(join(packageRoot(), PROTO_FILE), {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true
})

const loaded = grpc.loadPackageDefinition(packageDefinition) as unknown as {
  datamesher: { v1: { DataMesher: grpc.ServiceClientConstructor } }
}

export const DataMesherService = loaded.datamesher.v1.DataMesher

/** Message cap for both directions: the largest file plus room for the record and framing. */
export function messageLimit (maxFileSize: number): number {
  return maxFileSize + 64 * 1024
}

// Wire shapes as proto-loader presents them (camelCase, longs as numbers, bytes as Buffer).
export interface WireFileVersion {
  name: string
  timestamp: number
  expires: number
  tombstone: boolean
  size: number
  sha256: Buffer
  signer: Buffer
  signature: Buffer
  delivered: boolean
  path: string
  record: Buffer
}

export interface WirePeer { peerId: string, address: string, since: number, latencyMs: number }

export interface WireStatus {
  nodeId: string
  publicKey: string
  addresses: string[]
  peers: WirePeer[]
  files: WireFileVersion[]
  held: WireFileVersion[]
  version: string
  counters: Record<string, number>
  /** '' when no network is configured */
  networkId: string
  /** 0 when no network is configured */
  certificateNotAfter: number
  certificateName: string
}

export type WireOutcome = 'ACCEPTED' | 'HELD' | 'IDENTICAL'
export type WireEventKind = 'UPDATED' | 'DELETED' | 'EXPIRED' | 'REVOKED' | 'CURRENT'
export interface WireFileEvent { kind: WireEventKind, version: WireFileVersion, origin: string }
