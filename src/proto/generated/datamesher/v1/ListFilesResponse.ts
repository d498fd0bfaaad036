// Original file: proto/datamesher/v1/datamesher.proto

import type { FileVersion as _datamesher_v1_FileVersion, FileVersion__Output as _datamesher_v1_FileVersion__Output } from '../../datamesher/v1/FileVersion.js';

export interface ListFilesResponse {
  'files'?: (_datamesher_v1_FileVersion)[];
}

export interface ListFilesResponse__Output {
  'files': (_datamesher_v1_FileVersion__Output)[];
}
