// Loads proto/datamesher/v1/datamesher.proto at run time. Shared by the server (src/api)
// and the client (src/client), neither of which imports the other.
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import { join } from 'node:path'
import { packageRoot } from '../package-root.js'
import type { ProtoGrpcType } from './generated/datamesher.js'
import { LOADER_OPTIONS } from './loader-options.js'

export const PROTO_FILE = join('proto', 'datamesher', 'v1', 'datamesher.proto')

export const packageDefinition = protoLoader.loadSync(join(packageRoot(), PROTO_FILE), LOADER_OPTIONS)

const loaded = grpc.loadPackageDefinition(packageDefinition) as unknown as ProtoGrpcType

/** The service: `.service` for grpc.Server.addService, and a typed client constructor. */
export const DataMesherService = loaded.datamesher.v1.DataMesher

/** Message cap for both directions: the largest file plus room for the record and framing. */
export function messageLimit (maxFileSize: number): number {
  return maxFileSize + 64 * 1024
}
