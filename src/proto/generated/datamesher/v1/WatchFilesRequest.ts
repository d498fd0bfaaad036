// Original file: proto/datamesher/v1/datamesher.proto


export interface WatchFilesRequest {
  /**
   * only these names; empty = all
   */
  'names'?: (string)[];
  /**
   * first send the current version of every matching name
   */
  'includeCurrent'?: (boolean);
}

export interface WatchFilesRequest__Output {
  /**
   * only these names; empty = all
   */
  'names': (string)[];
  /**
   * first send the current version of every matching name
   */
  'includeCurrent': (boolean);
}
