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
  /**
   * with a network: the peer's certificate, checked when it connected (0 and "" without
   * a network, and for an unverified connection)
   */
  'certificateNotAfter'?: (number | string | Long);
  'certificateName'?: (string);
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
  /**
   * with a network: the peer's certificate, checked when it connected (0 and "" without
   * a network, and for an unverified connection)
   */
  'certificateNotAfter': (number);
  'certificateName': (string);
}
