// Original file: proto/datamesher/v1/datamesher.proto

import type { Long } from '@grpc/proto-loader';

/**
 * A version as the daemon holds it.
 */
export interface FileVersion {
  'name'?: (string);
  /**
   * unix milliseconds chosen by the signer
   */
  'timestamp'?: (number | string | Long);
  /**
   * unix milliseconds, 0 = never
   */
  'expires'?: (number | string | Long);
  'tombstone'?: (boolean);
  'size'?: (number | string | Long);
  'sha256'?: (Buffer | Uint8Array | string);
  /**
   * raw 32-byte Ed25519 public key
   */
  'signer'?: (Buffer | Uint8Array | string);
  /**
   * 64 bytes
   */
  'signature'?: (Buffer | Uint8Array | string);
  /**
   * content is at <state_dir>/files/<name> now
   */
  'delivered'?: (boolean);
  /**
   * the delivered path on this node
   */
  'path'?: (string);
  /**
   * the encoded signed record
   */
  'record'?: (Buffer | Uint8Array | string);
}

/**
 * A version as the daemon holds it.
 */
export interface FileVersion__Output {
  'name': (string);
  /**
   * unix milliseconds chosen by the signer
   */
  'timestamp': (number);
  /**
   * unix milliseconds, 0 = never
   */
  'expires': (number);
  'tombstone': (boolean);
  'size': (number);
  'sha256': (Buffer);
  /**
   * raw 32-byte Ed25519 public key
   */
  'signer': (Buffer);
  /**
   * 64 bytes
   */
  'signature': (Buffer);
  /**
   * content is at <state_dir>/files/<name> now
   */
  'delivered': (boolean);
  /**
   * the delivered path on this node
   */
  'path': (string);
  /**
   * the encoded signed record
   */
  'record': (Buffer);
}
