// Names for the generated message types (./generated, from the .proto by `npm run gen:proto`),
// as proto-loader decodes them with LOADER_OPTIONS: every field present (defaults), a
// message field null when absent. The server builds these complete shapes, so a field added
// to the .proto fails type-checking until it is filled in; the client reads them.
export type { FileVersion__Output as FileVersion } from './generated/datamesher/v1/FileVersion.js'
export type { Peer__Output as Peer } from './generated/datamesher/v1/Peer.js'
export type { Refusal__Output as Refusal } from './generated/datamesher/v1/Refusal.js'
export type { FileEvent__Output as FileEvent, _datamesher_v1_FileEvent_Kind__Output as EventKind } from './generated/datamesher/v1/FileEvent.js'
export type { GetStatusResponse__Output as Status } from './generated/datamesher/v1/GetStatusResponse.js'
export type { UpdateFileResponse__Output as UpdateFileResponse } from './generated/datamesher/v1/UpdateFileResponse.js'
export type { GetFileResponse__Output as GetFileResponse } from './generated/datamesher/v1/GetFileResponse.js'
export type { ListFilesResponse__Output as ListFilesResponse } from './generated/datamesher/v1/ListFilesResponse.js'
export type { WatchFilesRequest__Output as WatchFilesRequest } from './generated/datamesher/v1/WatchFilesRequest.js'
/** the server's handlers and the client's stub, per RPC */
export type { DataMesherHandlers, DataMesherClient as DataMesherStub } from './generated/datamesher/v1/DataMesher.js'
