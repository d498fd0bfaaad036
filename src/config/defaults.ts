// Every default and timing of the daemon, in one place (see README "Configuration").
export const DEFAULTS = {
  logLevel: 'info',
  stateDir: '/var/lib/data-mesher',
  cluster: {
    /** QUIC (UDP) and TCP listen on the same port */
    port: 7946,
    /** anti-entropy period; each round is jittered by ±20% */
    syncInterval: 5_000,
    transports: ['quic', 'tcp'] as Array<'quic' | 'tcp'>
  },
  api: {
    socket: '/run/data-mesher/api.sock',
    /** loopback TCP; "localhost" listens on 127.0.0.1 and [::1] (clan's CLI uses both spellings) */
    listen: 'localhost:7331'
  },
  network: {
    /** the log warns about this node's certificate from this long before it expires */
    certificateWarnBefore: 14 * 86_400_000,
    /** ... checking this often */
    certificateCheckInterval: 3_600_000,
    /** cluster.identity_cert and the certificate authorities are read again this often (besides the file watch and SIGHUP), for renewals no watch sees (a secrets manager switching a symbolic link) */
    certificateReadInterval: 60_000,
    /** a namespace record's certificate is kept this long while its record is not (yet) held */
    certificateGrace: 10 * 60_000,
    /** the certificate book settles after every change; while certificates of records not (yet) stored are pending, also this often (a record held back is no change) */
    certificateSettleInterval: 10_000,
    /** certificates of records not (yet) stored, kept at most */
    certificatePending: 1024
  },
  store: {
    /**
     * A timer action whose disk operation failed (removing an expired file, releasing a
     * held record: EROFS, EACCES, EIO) is retried after retryFirst ms, doubling up to
     * retryMax, per name; a success starts over (issue 11, L2).
     */
    retryFirst: 1_000,
    retryMax: 60_000,
    /** a stored file is hashed this much at a time */
    hashChunk: 256 * 1024,
    /** stored files remembered as verified (not hashed again when served), at most */
    verifiedFiles: 4096
  },
  daemon: {
    /** a call to systemd-notify gives up after this */
    sdNotifyTimeout: 10_000
  },
  limits: {
    maxFileSize: 10 * 1024 * 1024,
    maxClockSkew: 5 * 60_000
  }
} as const

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug'] as const
export type LogLevel = typeof LOG_LEVELS[number]
