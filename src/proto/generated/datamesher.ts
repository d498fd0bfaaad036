import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { DataMesherClient as _datamesher_v1_DataMesherClient, DataMesherDefinition as _datamesher_v1_DataMesherDefinition } from './datamesher/v1/DataMesher.js';
import type { DeleteFileRequest as _datamesher_v1_DeleteFileRequest, DeleteFileRequest__Output as _datamesher_v1_DeleteFileRequest__Output } from './datamesher/v1/DeleteFileRequest.js';
import type { FileEvent as _datamesher_v1_FileEvent, FileEvent__Output as _datamesher_v1_FileEvent__Output } from './datamesher/v1/FileEvent.js';
import type { FileVersion as _datamesher_v1_FileVersion, FileVersion__Output as _datamesher_v1_FileVersion__Output } from './datamesher/v1/FileVersion.js';
import type { GetFileRequest as _datamesher_v1_GetFileRequest, GetFileRequest__Output as _datamesher_v1_GetFileRequest__Output } from './datamesher/v1/GetFileRequest.js';
import type { GetFileResponse as _datamesher_v1_GetFileResponse, GetFileResponse__Output as _datamesher_v1_GetFileResponse__Output } from './datamesher/v1/GetFileResponse.js';
import type { GetStatusRequest as _datamesher_v1_GetStatusRequest, GetStatusRequest__Output as _datamesher_v1_GetStatusRequest__Output } from './datamesher/v1/GetStatusRequest.js';
import type { GetStatusResponse as _datamesher_v1_GetStatusResponse, GetStatusResponse__Output as _datamesher_v1_GetStatusResponse__Output } from './datamesher/v1/GetStatusResponse.js';
import type { ListFilesRequest as _datamesher_v1_ListFilesRequest, ListFilesRequest__Output as _datamesher_v1_ListFilesRequest__Output } from './datamesher/v1/ListFilesRequest.js';
import type { ListFilesResponse as _datamesher_v1_ListFilesResponse, ListFilesResponse__Output as _datamesher_v1_ListFilesResponse__Output } from './datamesher/v1/ListFilesResponse.js';
import type { MissingFile as _datamesher_v1_MissingFile, MissingFile__Output as _datamesher_v1_MissingFile__Output } from './datamesher/v1/MissingFile.js';
import type { Peer as _datamesher_v1_Peer, Peer__Output as _datamesher_v1_Peer__Output } from './datamesher/v1/Peer.js';
import type { Refusal as _datamesher_v1_Refusal, Refusal__Output as _datamesher_v1_Refusal__Output } from './datamesher/v1/Refusal.js';
import type { UpdateFileRequest as _datamesher_v1_UpdateFileRequest, UpdateFileRequest__Output as _datamesher_v1_UpdateFileRequest__Output } from './datamesher/v1/UpdateFileRequest.js';
import type { UpdateFileResponse as _datamesher_v1_UpdateFileResponse, UpdateFileResponse__Output as _datamesher_v1_UpdateFileResponse__Output } from './datamesher/v1/UpdateFileResponse.js';
import type { WatchFilesRequest as _datamesher_v1_WatchFilesRequest, WatchFilesRequest__Output as _datamesher_v1_WatchFilesRequest__Output } from './datamesher/v1/WatchFilesRequest.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  datamesher: {
    v1: {
      DataMesher: SubtypeConstructor<typeof grpc.Client, _datamesher_v1_DataMesherClient> & { service: _datamesher_v1_DataMesherDefinition }
      DeleteFileRequest: MessageTypeDefinition<_datamesher_v1_DeleteFileRequest, _datamesher_v1_DeleteFileRequest__Output>
      FileEvent: MessageTypeDefinition<_datamesher_v1_FileEvent, _datamesher_v1_FileEvent__Output>
      FileVersion: MessageTypeDefinition<_datamesher_v1_FileVersion, _datamesher_v1_FileVersion__Output>
      GetFileRequest: MessageTypeDefinition<_datamesher_v1_GetFileRequest, _datamesher_v1_GetFileRequest__Output>
      GetFileResponse: MessageTypeDefinition<_datamesher_v1_GetFileResponse, _datamesher_v1_GetFileResponse__Output>
      GetStatusRequest: MessageTypeDefinition<_datamesher_v1_GetStatusRequest, _datamesher_v1_GetStatusRequest__Output>
      GetStatusResponse: MessageTypeDefinition<_datamesher_v1_GetStatusResponse, _datamesher_v1_GetStatusResponse__Output>
      ListFilesRequest: MessageTypeDefinition<_datamesher_v1_ListFilesRequest, _datamesher_v1_ListFilesRequest__Output>
      ListFilesResponse: MessageTypeDefinition<_datamesher_v1_ListFilesResponse, _datamesher_v1_ListFilesResponse__Output>
      MissingFile: MessageTypeDefinition<_datamesher_v1_MissingFile, _datamesher_v1_MissingFile__Output>
      Peer: MessageTypeDefinition<_datamesher_v1_Peer, _datamesher_v1_Peer__Output>
      Refusal: MessageTypeDefinition<_datamesher_v1_Refusal, _datamesher_v1_Refusal__Output>
      UpdateFileRequest: MessageTypeDefinition<_datamesher_v1_UpdateFileRequest, _datamesher_v1_UpdateFileRequest__Output>
      UpdateFileResponse: MessageTypeDefinition<_datamesher_v1_UpdateFileResponse, _datamesher_v1_UpdateFileResponse__Output>
      WatchFilesRequest: MessageTypeDefinition<_datamesher_v1_WatchFilesRequest, _datamesher_v1_WatchFilesRequest__Output>
    }
  }
}

