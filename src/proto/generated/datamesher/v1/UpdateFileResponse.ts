// Original file: proto/datamesher/v1/datamesher.proto

import type { FileVersion as _datamesher_v1_FileVersion, FileVersion__Output as _datamesher_v1_FileVersion__Output } from '../../datamesher/v1/FileVersion.js';
import type { Long } from '@grpc/proto-loader';

// Original file: proto/datamesher/v1/datamesher.proto

export const _datamesher_v1_UpdateFileResponse_Outcome = {
  OUTCOME_UNSPECIFIED: 'OUTCOME_UNSPECIFIED',
  /**
   * stored durably and delivered
   */
  ACCEPTED: 'ACCEPTED',
  /**
   * timestamp beyond max_clock_skew: held back until held_until
   */
  HELD: 'HELD',
  /**
   * this exact version is already held (a no-op)
   */
  IDENTICAL: 'IDENTICAL',
} as const;

export type _datamesher_v1_UpdateFileResponse_Outcome =
  | 'OUTCOME_UNSPECIFIED'
  | 0
  /**
   * stored durably and delivered
   */
  | 'ACCEPTED'
  | 1
  /**
   * timestamp beyond max_clock_skew: held back until held_until
   */
  | 'HELD'
  | 2
  /**
   * this exact version is already held (a no-op)
   */
  | 'IDENTICAL'
  | 3

export type _datamesher_v1_UpdateFileResponse_Outcome__Output = typeof _datamesher_v1_UpdateFileResponse_Outcome[keyof typeof _datamesher_v1_UpdateFileResponse_Outcome]

export interface UpdateFileResponse {
  'outcome'?: (_datamesher_v1_UpdateFileResponse_Outcome);
  'version'?: (_datamesher_v1_FileVersion | null);
  'heldUntil'?: (number | string | Long);
}

export interface UpdateFileResponse__Output {
  'outcome': (_datamesher_v1_UpdateFileResponse_Outcome__Output);
  'version': (_datamesher_v1_FileVersion__Output | null);
  'heldUntil': (number);
}
