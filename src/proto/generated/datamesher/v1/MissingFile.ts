// Original file: proto/datamesher/v1/datamesher.proto

import type { Long } from '@grpc/proto-loader';

/**
 * A configured name with no valid version on this node (issue 19).
 */
export interface MissingFile {
  'name'?: (string);
  'reason'?: (string);
  /**
   * unix milliseconds: versions signed at or before it are refused; 0 = no floor
   */
  'floor'?: (number | string | Long);
}

/**
 * A configured name with no valid version on this node (issue 19).
 */
export interface MissingFile__Output {
  'name': (string);
  'reason': (string);
  /**
   * unix milliseconds: versions signed at or before it are refused; 0 = no floor
   */
  'floor': (number);
}
