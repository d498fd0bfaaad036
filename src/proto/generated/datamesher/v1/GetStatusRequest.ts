// Original file: proto/datamesher/v1/datamesher.proto


export interface GetStatusRequest {
}

export interface GetStatusRequest__Output {
}
