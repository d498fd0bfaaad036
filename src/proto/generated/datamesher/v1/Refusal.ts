// Original file: proto/datamesher/v1/datamesher.proto

import type { Long } from '@grpc/proto-loader';

/**
 * A version this node refused recently (the latest per name and reason, a bounded list).
 */
export interface Refusal {
  'name'?: (string);
  /**
   * the refused version's timestamp (unix ms)
   */
  'timestamp'?: (number | string | Long);
  /**
   * raw 32-byte Ed25519 public key that signed it
   */
  'signer'?: (Buffer | Uint8Array | string);
  /**
   * "not-configured", "not-signer", "bad-signature", "too-large", ...
   */
  'code'?: (string);
  /**
   * the reason in words
   */
  'reason'?: (string);
  /**
   * when it was last refused here (unix ms)
   */
  'at'?: (number | string | Long);
  /**
   * "api", or "peer:<peer id>" of the last sender
   */
  'origin'?: (string);
  /**
   * how often a version of this name was refused for this code since start
   */
  'count'?: (number | string | Long);
}

/**
 * A version this node refused recently (the latest per name and reason, a bounded list).
 */
export interface Refusal__Output {
  'name': (string);
  /**
   * the refused version's timestamp (unix ms)
   */
  'timestamp': (number);
  /**
   * raw 32-byte Ed25519 public key that signed it
   */
  'signer': (Buffer);
  /**
   * "not-configured", "not-signer", "bad-signature", "too-large", ...
   */
  'code': (string);
  /**
   * the reason in words
   */
  'reason': (string);
  /**
   * when it was last refused here (unix ms)
   */
  'at': (number);
  /**
   * "api", or "peer:<peer id>" of the last sender
   */
  'origin': (string);
  /**
   * how often a version of this name was refused for this code since start
   */
  'count': (number);
}
