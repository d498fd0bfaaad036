// The package's library entry: `import { connect } from 'data-mesher'`.
import './polyfill.js'
export { connect, DataMesherClient, ClientError, FileWatch, WatchEnded } from './client/client.js'
export type { FileVersion, FileEvent, FileContent, Peer, Status, UpdateResult, ConnectOptions } from './client/client.js'
export { signRecord, encodeRecord, decodeRecord, signedBytes, sha256 } from './crypto/record.js'
export type { SignedRecord } from './crypto/record.js'
export { generateSigningKey, parseSigningKey, readSigningKey, signingKeyToPem, encodeBase64Key } from './crypto/keys.js'
export type { SigningKey } from './crypto/keys.js'
