// Original file: proto/datamesher/v1/datamesher.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { DeleteFileRequest as _datamesher_v1_DeleteFileRequest, DeleteFileRequest__Output as _datamesher_v1_DeleteFileRequest__Output } from '../../datamesher/v1/DeleteFileRequest.js';
import type { FileEvent as _datamesher_v1_FileEvent, FileEvent__Output as _datamesher_v1_FileEvent__Output } from '../../datamesher/v1/FileEvent.js';
import type { GetFileRequest as _datamesher_v1_GetFileRequest, GetFileRequest__Output as _datamesher_v1_GetFileRequest__Output } from '../../datamesher/v1/GetFileRequest.js';
import type { GetFileResponse as _datamesher_v1_GetFileResponse, GetFileResponse__Output as _datamesher_v1_GetFileResponse__Output } from '../../datamesher/v1/GetFileResponse.js';
import type { GetStatusRequest as _datamesher_v1_GetStatusRequest, GetStatusRequest__Output as _datamesher_v1_GetStatusRequest__Output } from '../../datamesher/v1/GetStatusRequest.js';
import type { GetStatusResponse as _datamesher_v1_GetStatusResponse, GetStatusResponse__Output as _datamesher_v1_GetStatusResponse__Output } from '../../datamesher/v1/GetStatusResponse.js';
import type { ListFilesRequest as _datamesher_v1_ListFilesRequest, ListFilesRequest__Output as _datamesher_v1_ListFilesRequest__Output } from '../../datamesher/v1/ListFilesRequest.js';
import type { ListFilesResponse as _datamesher_v1_ListFilesResponse, ListFilesResponse__Output as _datamesher_v1_ListFilesResponse__Output } from '../../datamesher/v1/ListFilesResponse.js';
import type { UpdateFileRequest as _datamesher_v1_UpdateFileRequest, UpdateFileRequest__Output as _datamesher_v1_UpdateFileRequest__Output } from '../../datamesher/v1/UpdateFileRequest.js';
import type { UpdateFileResponse as _datamesher_v1_UpdateFileResponse, UpdateFileResponse__Output as _datamesher_v1_UpdateFileResponse__Output } from '../../datamesher/v1/UpdateFileResponse.js';
import type { WatchFilesRequest as _datamesher_v1_WatchFilesRequest, WatchFilesRequest__Output as _datamesher_v1_WatchFilesRequest__Output } from '../../datamesher/v1/WatchFilesRequest.js';

export interface DataMesherClient extends grpc.Client {
  /**
   * Offers a signed tombstone: deletes the file everywhere. Same errors as UpdateFile.
   */
  DeleteFile(argument: _datamesher_v1_DeleteFileRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_datamesher_v1_UpdateFileResponse__Output>): grpc.ClientUnaryCall;
  DeleteFile(argument: _datamesher_v1_DeleteFileRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_datamesher_v1_UpdateFileResponse__Output>): grpc.ClientUnaryCall;
  DeleteFile(argument: _datamesher_v1_DeleteFileRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_datamesher_v1_UpdateFileResponse__Output>): grpc.ClientUnaryCall;
  DeleteFile(argument: _datamesher_v1_DeleteFileRequest, callback: grpc.requestCallback<_datamesher_v1_UpdateFileResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Offers a signed tombstone: deletes the file everywhere. Same errors as UpdateFile.
   */
  deleteFile(argument: _datamesher_v1_DeleteFileRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_datamesher_v1_UpdateFileResponse__Output>): grpc.ClientUnaryCall;
  deleteFile(argument: _datamesher_v1_DeleteFileRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_datamesher_v1_UpdateFileResponse__Output>): grpc.ClientUnaryCall;
  deleteFile(argument: _datamesher_v1_DeleteFileRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_datamesher_v1_UpdateFileResponse__Output>): grpc.ClientUnaryCall;
  deleteFile(argument: _datamesher_v1_DeleteFileRequest, callback: grpc.requestCallback<_datamesher_v1_UpdateFileResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Returns the version held for a name and, when it is delivered, its content.
   * Only on the unix socket: over TCP it is PERMISSION_DENIED (any local user can reach
   * TCP; the socket's mode decides who reads, as files/<name> does).
   */
  GetFile(argument: _datamesher_v1_GetFileRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_datamesher_v1_GetFileResponse__Output>): grpc.ClientUnaryCall;
  GetFile(argument: _datamesher_v1_GetFileRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_datamesher_v1_GetFileResponse__Output>): grpc.ClientUnaryCall;
  GetFile(argument: _datamesher_v1_GetFileRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_datamesher_v1_GetFileResponse__Output>): grpc.ClientUnaryCall;
  GetFile(argument: _datamesher_v1_GetFileRequest, callback: grpc.requestCallback<_datamesher_v1_GetFileResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Returns the version held for a name and, when it is delivered, its content.
   * Only on the unix socket: over TCP it is PERMISSION_DENIED (any local user can reach
   * TCP; the socket's mode decides who reads, as files/<name> does).
   */
  getFile(argument: _datamesher_v1_GetFileRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_datamesher_v1_GetFileResponse__Output>): grpc.ClientUnaryCall;
  getFile(argument: _datamesher_v1_GetFileRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_datamesher_v1_GetFileResponse__Output>): grpc.ClientUnaryCall;
  getFile(argument: _datamesher_v1_GetFileRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_datamesher_v1_GetFileResponse__Output>): grpc.ClientUnaryCall;
  getFile(argument: _datamesher_v1_GetFileRequest, callback: grpc.requestCallback<_datamesher_v1_GetFileResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * This node's identity, addresses, peers and the version of every file it holds.
   */
  GetStatus(argument: _datamesher_v1_GetStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_datamesher_v1_GetStatusResponse__Output>): grpc.ClientUnaryCall;
  GetStatus(argument: _datamesher_v1_GetStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_datamesher_v1_GetStatusResponse__Output>): grpc.ClientUnaryCall;
  GetStatus(argument: _datamesher_v1_GetStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_datamesher_v1_GetStatusResponse__Output>): grpc.ClientUnaryCall;
  GetStatus(argument: _datamesher_v1_GetStatusRequest, callback: grpc.requestCallback<_datamesher_v1_GetStatusResponse__Output>): grpc.ClientUnaryCall;
  /**
   * This node's identity, addresses, peers and the version of every file it holds.
   */
  getStatus(argument: _datamesher_v1_GetStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_datamesher_v1_GetStatusResponse__Output>): grpc.ClientUnaryCall;
  getStatus(argument: _datamesher_v1_GetStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_datamesher_v1_GetStatusResponse__Output>): grpc.ClientUnaryCall;
  getStatus(argument: _datamesher_v1_GetStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_datamesher_v1_GetStatusResponse__Output>): grpc.ClientUnaryCall;
  getStatus(argument: _datamesher_v1_GetStatusRequest, callback: grpc.requestCallback<_datamesher_v1_GetStatusResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Lists the version held for every name.
   */
  ListFiles(argument: _datamesher_v1_ListFilesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_datamesher_v1_ListFilesResponse__Output>): grpc.ClientUnaryCall;
  ListFiles(argument: _datamesher_v1_ListFilesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_datamesher_v1_ListFilesResponse__Output>): grpc.ClientUnaryCall;
  ListFiles(argument: _datamesher_v1_ListFilesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_datamesher_v1_ListFilesResponse__Output>): grpc.ClientUnaryCall;
  ListFiles(argument: _datamesher_v1_ListFilesRequest, callback: grpc.requestCallback<_datamesher_v1_ListFilesResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Lists the version held for every name.
   */
  listFiles(argument: _datamesher_v1_ListFilesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_datamesher_v1_ListFilesResponse__Output>): grpc.ClientUnaryCall;
  listFiles(argument: _datamesher_v1_ListFilesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_datamesher_v1_ListFilesResponse__Output>): grpc.ClientUnaryCall;
  listFiles(argument: _datamesher_v1_ListFilesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_datamesher_v1_ListFilesResponse__Output>): grpc.ClientUnaryCall;
  listFiles(argument: _datamesher_v1_ListFilesRequest, callback: grpc.requestCallback<_datamesher_v1_ListFilesResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Offers a new version of a file: the signed record and its content.
   * Errors: INVALID_ARGUMENT (malformed record, bad signature, content not matching the
   * record), PERMISSION_DENIED (name not configured, signer not allowed for the name),
   * FAILED_PRECONDITION (not newer than the version held), RESOURCE_EXHAUSTED (larger
   * than max_file_size, or the disk is full), UNAVAILABLE (the disk refused the write).
   */
  UpdateFile(argument: _datamesher_v1_UpdateFileRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_datamesher_v1_UpdateFileResponse__Output>): grpc.ClientUnaryCall;
  UpdateFile(argument: _datamesher_v1_UpdateFileRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_datamesher_v1_UpdateFileResponse__Output>): grpc.ClientUnaryCall;
  UpdateFile(argument: _datamesher_v1_UpdateFileRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_datamesher_v1_UpdateFileResponse__Output>): grpc.ClientUnaryCall;
  UpdateFile(argument: _datamesher_v1_UpdateFileRequest, callback: grpc.requestCallback<_datamesher_v1_UpdateFileResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Offers a new version of a file: the signed record and its content.
   * Errors: INVALID_ARGUMENT (malformed record, bad signature, content not matching the
   * record), PERMISSION_DENIED (name not configured, signer not allowed for the name),
   * FAILED_PRECONDITION (not newer than the version held), RESOURCE_EXHAUSTED (larger
   * than max_file_size, or the disk is full), UNAVAILABLE (the disk refused the write).
   */
  updateFile(argument: _datamesher_v1_UpdateFileRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_datamesher_v1_UpdateFileResponse__Output>): grpc.ClientUnaryCall;
  updateFile(argument: _datamesher_v1_UpdateFileRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_datamesher_v1_UpdateFileResponse__Output>): grpc.ClientUnaryCall;
  updateFile(argument: _datamesher_v1_UpdateFileRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_datamesher_v1_UpdateFileResponse__Output>): grpc.ClientUnaryCall;
  updateFile(argument: _datamesher_v1_UpdateFileRequest, callback: grpc.requestCallback<_datamesher_v1_UpdateFileResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Streams every accepted change: updates, deletions, expiries, revocations.
   */
  WatchFiles(argument: _datamesher_v1_WatchFilesRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_datamesher_v1_FileEvent__Output>;
  WatchFiles(argument: _datamesher_v1_WatchFilesRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_datamesher_v1_FileEvent__Output>;
  /**
   * Streams every accepted change: updates, deletions, expiries, revocations.
   */
  watchFiles(argument: _datamesher_v1_WatchFilesRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_datamesher_v1_FileEvent__Output>;
  watchFiles(argument: _datamesher_v1_WatchFilesRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_datamesher_v1_FileEvent__Output>;
  
}

export interface DataMesherHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Offers a signed tombstone: deletes the file everywhere. Same errors as UpdateFile.
   */
  DeleteFile: grpc.handleUnaryCall<_datamesher_v1_DeleteFileRequest__Output, _datamesher_v1_UpdateFileResponse>;
  
  /**
   * Returns the version held for a name and, when it is delivered, its content.
   * Only on the unix socket: over TCP it is PERMISSION_DENIED (any local user can reach
   * TCP; the socket's mode decides who reads, as files/<name> does).
   */
  GetFile: grpc.handleUnaryCall<_datamesher_v1_GetFileRequest__Output, _datamesher_v1_GetFileResponse>;
  
  /**
   * This node's identity, addresses, peers and the version of every file it holds.
   */
  GetStatus: grpc.handleUnaryCall<_datamesher_v1_GetStatusRequest__Output, _datamesher_v1_GetStatusResponse>;
  
  /**
   * Lists the version held for every name.
   */
  ListFiles: grpc.handleUnaryCall<_datamesher_v1_ListFilesRequest__Output, _datamesher_v1_ListFilesResponse>;
  
  /**
   * Offers a new version of a file: the signed record and its content.
   * Errors: INVALID_ARGUMENT (malformed record, bad signature, content not matching the
   * record), PERMISSION_DENIED (name not configured, signer not allowed for the name),
   * FAILED_PRECONDITION (not newer than the version held), RESOURCE_EXHAUSTED (larger
   * than max_file_size, or the disk is full), UNAVAILABLE (the disk refused the write).
   */
  UpdateFile: grpc.handleUnaryCall<_datamesher_v1_UpdateFileRequest__Output, _datamesher_v1_UpdateFileResponse>;
  
  /**
   * Streams every accepted change: updates, deletions, expiries, revocations.
   */
  WatchFiles: grpc.handleServerStreamingCall<_datamesher_v1_WatchFilesRequest__Output, _datamesher_v1_FileEvent>;
  
}

export interface DataMesherDefinition extends grpc.ServiceDefinition {
  DeleteFile: MethodDefinition<_datamesher_v1_DeleteFileRequest, _datamesher_v1_UpdateFileResponse, _datamesher_v1_DeleteFileRequest__Output, _datamesher_v1_UpdateFileResponse__Output>
  GetFile: MethodDefinition<_datamesher_v1_GetFileRequest, _datamesher_v1_GetFileResponse, _datamesher_v1_GetFileRequest__Output, _datamesher_v1_GetFileResponse__Output>
  GetStatus: MethodDefinition<_datamesher_v1_GetStatusRequest, _datamesher_v1_GetStatusResponse, _datamesher_v1_GetStatusRequest__Output, _datamesher_v1_GetStatusResponse__Output>
  ListFiles: MethodDefinition<_datamesher_v1_ListFilesRequest, _datamesher_v1_ListFilesResponse, _datamesher_v1_ListFilesRequest__Output, _datamesher_v1_ListFilesResponse__Output>
  UpdateFile: MethodDefinition<_datamesher_v1_UpdateFileRequest, _datamesher_v1_UpdateFileResponse, _datamesher_v1_UpdateFileRequest__Output, _datamesher_v1_UpdateFileResponse__Output>
  WatchFiles: MethodDefinition<_datamesher_v1_WatchFilesRequest, _datamesher_v1_FileEvent, _datamesher_v1_WatchFilesRequest__Output, _datamesher_v1_FileEvent__Output>
}
