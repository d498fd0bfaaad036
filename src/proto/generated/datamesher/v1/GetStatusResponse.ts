// Original file: proto/datamesher/v1/datamesher.proto

import type { Peer as _datamesher_v1_Peer, Peer__Output as _datamesher_v1_Peer__Output } from '../../datamesher/v1/Peer.js';
import type { FileVersion as _datamesher_v1_FileVersion, FileVersion__Output as _datamesher_v1_FileVersion__Output } from '../../datamesher/v1/FileVersion.js';
import type { Refusal as _datamesher_v1_Refusal, Refusal__Output as _datamesher_v1_Refusal__Output } from '../../datamesher/v1/Refusal.js';
import type { MissingFile as _datamesher_v1_MissingFile, MissingFile__Output as _datamesher_v1_MissingFile__Output } from '../../datamesher/v1/MissingFile.js';
import type { Long } from '@grpc/proto-loader';

export interface GetStatusResponse {
  'nodeId'?: (string);
  /**
   * base64 node identity key
   */
  'publicKey'?: (string);
  'addresses'?: (string)[];
  'peers'?: (_datamesher_v1_Peer)[];
  'files'?: (_datamesher_v1_FileVersion)[];
  /**
   * records from the future held back
   */
  'held'?: (_datamesher_v1_FileVersion)[];
  'version'?: (string);
  /**
   * the mesh's counters since start, e.g. "announce.sent", "fetch.fetched_bytes",
   * "sync.rounds", "offers.accepted" (names may grow; read them, do not enumerate them)
   */
  'counters'?: ({[key: string]: number | string | Long});
  /**
   * network identity (empty / 0 when the node has no network configured)
   */
  'networkId'?: (string);
  /**
   * unix milliseconds: this node's certificate expires then
   */
  'certificateNotAfter'?: (number | string | Long);
  /**
   * the name in this node's certificate
   */
  'certificateName'?: (string);
  /**
   * `peers` are the verified ones (admitted and identified; with a network, certificate
   * checked); these are connected and not (yet) verified: proving a certificate, or refused
   */
  'unverified'?: (_datamesher_v1_Peer)[];
  /**
   * versions refused recently, newest first (at most 64: the latest per name and reason)
   */
  'refused'?: (_datamesher_v1_Refusal)[];
  /**
   * every configured file name this node holds no valid version of, and why (e.g. its
   * version was revoked: signer no longer allowed; versions at or below its floor are refused)
   */
  'missing'?: (_datamesher_v1_MissingFile)[];
}

export interface GetStatusResponse__Output {
  'nodeId': (string);
  /**
   * base64 node identity key
   */
  'publicKey': (string);
  'addresses': (string)[];
  'peers': (_datamesher_v1_Peer__Output)[];
  'files': (_datamesher_v1_FileVersion__Output)[];
  /**
   * records from the future held back
   */
  'held': (_datamesher_v1_FileVersion__Output)[];
  'version': (string);
  /**
   * the mesh's counters since start, e.g. "announce.sent", "fetch.fetched_bytes",
   * "sync.rounds", "offers.accepted" (names may grow; read them, do not enumerate them)
   */
  'counters': ({[key: string]: number});
  /**
   * network identity (empty / 0 when the node has no network configured)
   */
  'networkId': (string);
  /**
   * unix milliseconds: this node's certificate expires then
   */
  'certificateNotAfter': (number);
  /**
   * the name in this node's certificate
   */
  'certificateName': (string);
  /**
   * `peers` are the verified ones (admitted and identified; with a network, certificate
   * checked); these are connected and not (yet) verified: proving a certificate, or refused
   */
  'unverified': (_datamesher_v1_Peer__Output)[];
  /**
   * versions refused recently, newest first (at most 64: the latest per name and reason)
   */
  'refused': (_datamesher_v1_Refusal__Output)[];
  /**
   * every configured file name this node holds no valid version of, and why (e.g. its
   * version was revoked: signer no longer allowed; versions at or below its floor are refused)
   */
  'missing': (_datamesher_v1_MissingFile__Output)[];
}
