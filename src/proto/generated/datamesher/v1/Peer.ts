// Original file: proto/datamesher/v1/datamesher.proto

import type { Long } from '@grpc/proto-loader';

export interface Peer {
  'peerId'?: (string);
  'address'?: (string);
  /**
   * unix milliseconds
   */
  'since'?: (number | string | Long);
  /**
   * 0 when not measured yet
   */
  'latencyMs'?: (number | string);
}

export interface Peer__Output {
  'peerId': (string);
  'address': (string);
  /**
   * unix milliseconds
   */
  'since': (number);
  /**
   * 0 when not measured yet
   */
  'latencyMs': (number);
}
