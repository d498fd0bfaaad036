// Original file: proto/datamesher/v1/datamesher.proto


export interface DeleteFileRequest {
  /**
   * an encoded signed tombstone
   */
  'record'?: (Buffer | Uint8Array | string);
  /**
   * as in UpdateFileRequest
   */
  'certificate'?: (Buffer | Uint8Array | string);
}

export interface DeleteFileRequest__Output {
  /**
   * an encoded signed tombstone
   */
  'record': (Buffer);
  /**
   * as in UpdateFileRequest
   */
  'certificate': (Buffer);
}
