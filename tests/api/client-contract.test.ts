// The client against a daemon that breaks the contract: the generated types say a message
// field (version) may be absent; the client promises its callers a version, so it refuses
// such an answer with a clear error instead of handing on a null.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as grpc from '@grpc/grpc-js'
import { join } from 'node:path'
import { DataMesherService } from '../../src/proto/service.ts'
import { ClientError, connect, type DataMesherClient } from '../../src/client/client.ts'
import { generateSigningKey } from '../../src/crypto/keys.ts'
import { tempDir } from '../helpers/fs.ts'

const work = tempDir('dm-client-contract-')
const server = new grpc.Server()
let client: DataMesherClient

beforeAll(async () => {
  // a "daemon" that answers without the version the .proto's comments promise
  const unimplemented: grpc.handleUnaryCall<unknown, unknown> = (_call, cb) => cb({ code: grpc.status.UNIMPLEMENTED })
  server.addService(DataMesherService.service, {
    UpdateFile: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { outcome: 'ACCEPTED' }),
    DeleteFile: unimplemented,
    GetFile: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { content: Buffer.from('x') }),
    ListFiles: unimplemented,
    GetStatus: unimplemented,
    WatchFiles: (call: grpc.ServerWritableStream<{ names: string[] }, unknown>) => {
      call.sendMetadata(new grpc.Metadata())
      // a failure whose words happen to say "ended": still a failure, not the watch's end
      if (call.request.names.includes('fails')) call.emit('error', { code: grpc.status.INTERNAL, details: 'the store ended unexpectedly' })
      else call.write({ kind: 'UPDATED', origin: 'api' })
    }
  })
  const socket = join(work.dir, 'api.sock')
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), err => err === null ? resolve() : reject(err)))
  client = connect(`unix://${socket}`)
})
afterAll(() => { client?.close(); server.forceShutdown(); work.cleanup() })

describe('client: answers that break the contract', () => {
  it('an UpdateFile or GetFile answer without the version is refused with INTERNAL, naming the problem', async () => {
    const upload = client.publish(generateSigningKey(), 'motd', Buffer.from('hi'))
    await expect(upload).rejects.toBeInstanceOf(ClientError)
    await expect(upload).rejects.toMatchObject({ code: grpc.status.INTERNAL, message: expect.stringMatching(/answered without the version/) })
    await expect(client.getFile('motd')).rejects.toMatchObject({ code: grpc.status.INTERNAL, message: expect.stringMatching(/answered without the version/) })
  })

  it('a watch event without the version ends the watch with that error', async () => {
    const watch = await client.watchFiles()
    await expect(watch.next()).rejects.toThrow(/sent an event without a version/)
  })

  it('a watch the daemon fails is a ClientError to a for-await loop, whatever its message says', async () => {
    const watch = await client.watchFiles({ names: ['fails'] })
    const drain = async (): Promise<void> => { for await (const _ of watch) { /* none come */ } }
    await expect(drain()).rejects.toMatchObject({ name: 'ClientError', code: grpc.status.INTERNAL, message: 'the store ended unexpectedly' })
  })
})
