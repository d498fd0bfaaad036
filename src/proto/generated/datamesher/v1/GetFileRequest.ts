// Original file: proto/datamesher/v1/datamesher.proto


export interface GetFileRequest {
  'name'?: (string);
}

export interface GetFileRequest__Output {
  'name': (string);
}
