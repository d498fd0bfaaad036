// Names for the generated message types (./generated, from the .proto by `npm run gen:proto`).
// `X` is what proto-loader decodes (every field present: LOADER_OPTIONS has defaults);
// `XInput` is what it accepts to encode (every field optional, longs as number|string|Long).
// The server builds complete `X` answers, so a field added to the .proto fails type-checking
// until it is filled in; the client reads `X`.
export type { FileVersion__Output as FileVersion, FileVersion as FileVersionInput } from './generated/datamesher/v1/FileVersion.js'
export type { Peer__Output as Peer } from './generated/datamesher/v1/Peer.js'
export type { FileEvent__Output as FileEvent } from './generated/datamesher/v1/FileEvent.js'
export type { GetStatusResponse__Output as Status } from './generated/datamesher/v1/GetStatusResponse.js'
export type { UpdateFileResponse__Output as UpdateFileResponse } from './generated/datamesher/v1/UpdateFileResponse.js'
export type { GetFileResponse__Output as GetFileResponse } from './generated/datamesher/v1/GetFileResponse.js'
export type { ListFilesResponse__Output as ListFilesResponse } from './generated/datamesher/v1/ListFilesResponse.js'
export type { UpdateFileRequest__Output as UpdateFileRequest, UpdateFileRequest as UpdateFileRequestInput } from './generated/datamesher/v1/UpdateFileRequest.js'
export type { DeleteFileRequest__Output as DeleteFileRequest, DeleteFileRequest as DeleteFileRequestInput } from './generated/datamesher/v1/DeleteFileRequest.js'
export type { GetFileRequest__Output as GetFileRequest } from './generated/datamesher/v1/GetFileRequest.js'
export type { WatchFilesRequest__Output as WatchFilesRequest, WatchFilesRequest as WatchFilesRequestInput } from './generated/datamesher/v1/WatchFilesRequest.js'
export type { DataMesherHandlers, DataMesherClient as DataMesherStub } from './generated/datamesher/v1/DataMesher.js'
export type { _datamesher_v1_FileEvent_Kind__Output as EventKind } from './generated/datamesher/v1/FileEvent.js'
export type { _datamesher_v1_UpdateFileResponse_Outcome__Output as Outcome } from './generated/datamesher/v1/UpdateFileResponse.js'
