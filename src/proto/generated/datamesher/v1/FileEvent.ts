// Original file: proto/datamesher/v1/datamesher.proto

import type { FileVersion as _datamesher_v1_FileVersion, FileVersion__Output as _datamesher_v1_FileVersion__Output } from '../../datamesher/v1/FileVersion.js';

// Original file: proto/datamesher/v1/datamesher.proto

export const _datamesher_v1_FileEvent_Kind = {
  KIND_UNSPECIFIED: 'KIND_UNSPECIFIED',
  /**
   * a new version was accepted and delivered
   */
  UPDATED: 'UPDATED',
  /**
   * a tombstone was accepted: the file was removed
   */
  DELETED: 'DELETED',
  /**
   * the version expired: the file was removed
   */
  EXPIRED: 'EXPIRED',
  /**
   * its signer was removed from the config: the file was removed
   */
  REVOKED: 'REVOKED',
  /**
   * sent for include_current
   */
  CURRENT: 'CURRENT',
} as const;

export type _datamesher_v1_FileEvent_Kind =
  | 'KIND_UNSPECIFIED'
  | 0
  /**
   * a new version was accepted and delivered
   */
  | 'UPDATED'
  | 1
  /**
   * a tombstone was accepted: the file was removed
   */
  | 'DELETED'
  | 2
  /**
   * the version expired: the file was removed
   */
  | 'EXPIRED'
  | 3
  /**
   * its signer was removed from the config: the file was removed
   */
  | 'REVOKED'
  | 4
  /**
   * sent for include_current
   */
  | 'CURRENT'
  | 5

export type _datamesher_v1_FileEvent_Kind__Output = typeof _datamesher_v1_FileEvent_Kind[keyof typeof _datamesher_v1_FileEvent_Kind]

export interface FileEvent {
  'kind'?: (_datamesher_v1_FileEvent_Kind);
  'version'?: (_datamesher_v1_FileVersion | null);
  /**
   * "api", "peer:<id>", "timer", "config", "held"
   */
  'origin'?: (string);
}

export interface FileEvent__Output {
  'kind': (_datamesher_v1_FileEvent_Kind__Output);
  'version': (_datamesher_v1_FileVersion__Output | null);
  /**
   * "api", "peer:<id>", "timer", "config", "held"
   */
  'origin': (string);
}
