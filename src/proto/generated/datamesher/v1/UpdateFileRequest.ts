// Original file: proto/datamesher/v1/datamesher.proto


export interface UpdateFileRequest {
  /**
   * the encoded signed record
   */
  'record'?: (Buffer | Uint8Array | string);
  /**
   * the file content (empty for a tombstone)
   */
  'content'?: (Buffer | Uint8Array | string);
  /**
   * the signer's certificate (docs/PROTOCOLS.md "Certificates"): needed for a namespace
   * file on a node with a network, ignored otherwise. Without it such an upload is
   * refused with PERMISSION_DENIED.
   */
  'certificate'?: (Buffer | Uint8Array | string);
}

export interface UpdateFileRequest__Output {
  /**
   * the encoded signed record
   */
  'record': (Buffer);
  /**
   * the file content (empty for a tombstone)
   */
  'content': (Buffer);
  /**
   * the signer's certificate (docs/PROTOCOLS.md "Certificates"): needed for a namespace
   * file on a node with a network, ignored otherwise. Without it such an upload is
   * refused with PERMISSION_DENIED.
   */
  'certificate': (Buffer);
}
