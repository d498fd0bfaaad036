// Original file: proto/datamesher/v1/datamesher.proto


export interface ListFilesRequest {
}

export interface ListFilesRequest__Output {
}
