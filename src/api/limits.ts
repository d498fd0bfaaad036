// Every limit of the gRPC API in one place (DESIGN.md §7: no client can grow the
// daemon's memory without bound). Budgets are per listener — the unix socket (the
// daemon's group) and loopback TCP (any local user) each have their own — so a local
// user flooding TCP cannot starve the socket's clients. docs/SECURITY.md lists them.
export const API_LIMITS = {
  /** HTTP/2 streams one connection may have open at once ('grpc.max_concurrent_streams') */
  maxStreamsPerConnection: 16,
  /** UpdateFile/DeleteFile calls being received or stored at once, per listener; each may
   *  hold one whole message (up to max_file_size) in memory; more are refused before any
   *  byte of their message is read */
  maxUploads: 4,
  /** the whole request message must have arrived this long after the call started;
   *  otherwise the call ends with DEADLINE_EXCEEDED and its buffered bytes are dropped */
  receiveTimeoutMs: 15_000,
  /** GetFile calls being served at once, per listener (each holds one file in memory until
   *  the client has taken it) */
  maxContentReads: 4,
  /** a GetFile answer the client has not taken after this long is cut off */
  sendTimeoutMs: 30_000,
  /** the answer of any other unary call (UpdateFile, DeleteFile, ListFiles, GetStatus, …)
   *  not taken by the client this long after the handler gave it is cut off, and its slot
   *  given back: a client that never reads (HTTP/2 window 0) cannot hold a slot for ever */
  answerTimeoutMs: 10_000,
  /** WatchFiles streams open at once, per listener */
  maxWatchers: 64,
  /** events queued for one watcher beyond what HTTP/2 flow control lets through (64 KiB,
   *  about 130 events); one more and the watcher is dropped with RESOURCE_EXHAUSTED
   *  instead of being buffered */
  maxQueuedEvents: 128,
  /** a watcher with events queued for it (not taken by the client) for this long is
   *  dropped with RESOURCE_EXHAUSTED, however few they are */
  watchDrainTimeoutMs: 20_000,
  /** calls of other kinds (ListFiles, GetStatus, health, reflection) at once, per listener */
  maxOtherCalls: 64,
  /** calls over a cap wait for a slot (unread: HTTP/2 flow control holds their bytes at
   *  the client), at most this many per kind and listener; watchers never wait */
  maxWaiting: 64,
  /** a call that waited this long for a slot is refused with RESOURCE_EXHAUSTED */
  waitTimeoutMs: 30_000,
  /** the server pings a connection this often and drops it when no answer comes in time */
  keepaliveTimeMs: 60_000,
  keepaliveTimeoutMs: 20_000,
  /** a connection with no call for this long is closed */
  maxConnectionIdleMs: 5 * 60_000
} as const
