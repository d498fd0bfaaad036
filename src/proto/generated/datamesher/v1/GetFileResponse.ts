// Original file: proto/datamesher/v1/datamesher.proto

import type { FileVersion as _datamesher_v1_FileVersion, FileVersion__Output as _datamesher_v1_FileVersion__Output } from '../../datamesher/v1/FileVersion.js';

export interface GetFileResponse {
  'version'?: (_datamesher_v1_FileVersion | null);
  'content'?: (Buffer | Uint8Array | string);
}

export interface GetFileResponse__Output {
  'version': (_datamesher_v1_FileVersion__Output | null);
  'content': (Buffer);
}
