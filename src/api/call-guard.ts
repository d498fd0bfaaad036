// Admission and time limits for every gRPC call (F7): a call takes a slot of its kind
// before a byte of its message is read (over the cap it waits, unread, for up to
// waitTimeoutMs, or is refused when too many wait), must then receive its whole request
// within receiveTimeoutMs, and a content read must have been taken by the client within
// sendTimeoutMs, any other unary answer within answerTimeoutMs (review 11-R5). Slots are given back only when the HTTP/2 stream is really done (its
// data flushed or the stream closed), so memory held for a slow or silent client is
// bounded by the slots, not by what the client chooses to do.
import * as grpc from '@grpc/grpc-js'
import { constants as http2 } from 'node:http2'
import { API_LIMITS } from './limits.js'

export type CallKind = 'upload' | 'content' | 'watch' | 'other'

const KIND_OF: Record<string, CallKind> = {
  '/datamesher.v1.DataMesher/UpdateFile': 'upload',
  '/datamesher.v1.DataMesher/DeleteFile': 'upload',
  '/datamesher.v1.DataMesher/GetFile': 'content',
  '/datamesher.v1.DataMesher/WatchFiles': 'watch'
}

const CAPACITY: Record<CallKind, number> = {
  upload: API_LIMITS.maxUploads,
  content: API_LIMITS.maxContentReads,
  watch: API_LIMITS.maxWatchers,
  other: API_LIMITS.maxOtherCalls
}

/** Ends a call at once, whatever is still queued for it. */
export type Abort = (code: grpc.status, details: string) => void

/**
 * The handler of a call finds its abort here, keyed by the call's request metadata (the
 * same object reaches the interceptor and the handler).
 */
export const abortOf = new WeakMap<grpc.Metadata, Abort>()

const WAITING: Record<CallKind, number> = {
  upload: API_LIMITS.maxWaiting,
  content: API_LIMITS.maxWaiting,
  watch: 0, // a watch lasts; waiting for one to end makes no sense
  other: API_LIMITS.maxWaiting
}

/** The slots of one listener (the unix socket and TCP each have their own). */
export class CallBudget {
  readonly inUse: Record<CallKind, number> = { upload: 0, content: 0, watch: 0, other: 0 }
  private readonly waiting: Record<CallKind, Array<(release: () => void) => void>> = { upload: [], content: [], watch: [], other: [] }
  /** false until every listener is bound, and again from stop: a half-started or stopping
   *  daemon accepts nothing (L1) */
  open = false

  /**
   * A slot for a call: `granted` runs now or, when the kind is at its cap, once a slot is
   * given back (first come, first served). Returns how to leave the queue, or undefined
   * when the queue is full too.
   */
  acquire (kind: CallKind, granted: (release: () => void) => void): (() => void) | undefined {
    const queue = this.waiting[kind]
    if (this.inUse[kind] < CAPACITY[kind]) { granted(this.slot(kind)); return () => {} }
    if (queue.length >= WAITING[kind]) return undefined
    queue.push(granted)
    return () => { const i = queue.indexOf(granted); if (i >= 0) queue.splice(i, 1) }
  }

  private slot (kind: CallKind): () => void {
    this.inUse[kind]++
    let given = false
    return () => {
      if (given) return
      given = true
      this.inUse[kind]--
      const next = this.waiting[kind].shift()
      if (next !== undefined) next(this.slot(kind))
    }
  }
}

interface RawStream { close: (code?: number) => void, destroyed: boolean, closed: boolean }

/**
 * grpc-js hands the first interceptor its own call object, which holds the HTTP/2 stream.
 * Resetting that stream is the only way to free what is buffered for a client that does
 * not read (grpc-js waits for the data to drain before sending a status). Checked at run
 * time: when a grpc-js upgrade hides it, calls still end by status (tests/api/limits.test.ts
 * measures the memory and would show it).
 */
function rawStream (call: grpc.ServerInterceptingCallInterface): RawStream | undefined {
  const s = (call as unknown as { stream?: Partial<RawStream> }).stream
  return s !== undefined && typeof s.close === 'function' ? s as RawStream : undefined
}

const RST_FOR: Partial<Record<grpc.status, number>> = {
  // grpc-js clients read ENHANCE_YOUR_CALM as RESOURCE_EXHAUSTED
  [grpc.status.RESOURCE_EXHAUSTED]: http2.NGHTTP2_ENHANCE_YOUR_CALM
}

/** between the status of an aborted call and the reset of its stream */
const ABORT_GRACE_MS = 500

/** Calls `log` at most once per `everyMs` per kind, with the number of refusals not logged since. */
export function rateLimitedLog (log: (kind: CallKind, why: string, suppressed: number) => void, everyMs = 10_000): (kind: CallKind, why: string) => void {
  const last = new Map<CallKind, { at: number, suppressed: number }>()
  return (kind, why) => {
    const l = last.get(kind)
    const now = Date.now()
    if (l !== undefined && now - l.at < everyMs) { l.suppressed++; return }
    log(kind, why, l?.suppressed ?? 0)
    last.set(kind, { at: now, suppressed: 0 })
  }
}

export function callGuard (budget: CallBudget, onRefusal: (kind: CallKind, why: string) => void): grpc.ServerInterceptor {
  return (method, call) => {
    const kind = KIND_OF[method.path] ?? 'other'
    const stream = rawStream(call)
    let release: (() => void) | undefined
    let leaveQueue: (() => void) | undefined
    let ended = false
    const timers = new Set<NodeJS.Timeout>()
    const done = (): void => { timers.forEach(clearTimeout); leaveQueue?.(); release?.() }
    const refuse = (code: grpc.status, why: string): void => {
      onRefusal(kind, why)
      guarded.sendStatus({ code, details: why })
    }
    let aborting = false
    const abort: Abort = (code, details) => {
      if (aborting) return
      aborting = true
      // a status first, for a client that still reads; then, once it had time to leave,
      // the stream itself, so that nothing stays buffered for a client that does not read.
      // The slot is held until then.
      guarded.sendStatus({ code, details })
      const reset = setTimeout(() => {
        if (stream !== undefined && !stream.destroyed && !stream.closed) stream.close(RST_FOR[code] ?? http2.NGHTTP2_CANCEL)
        done()
      }, ABORT_GRACE_MS)
      reset.unref()
    }
    const after = (ms: number, fire: () => void): NodeJS.Timeout => {
      const t = setTimeout(() => { timers.delete(t); fire() }, ms)
      t.unref()
      timers.add(t)
      return t
    }
    const timeout = (ms: number, details: string): NodeJS.Timeout => after(ms, () => { onRefusal(kind, details); abort(grpc.status.DEADLINE_EXCEEDED, details) })
    let receiving: NodeJS.Timeout | undefined
    let answering = false
    const unary = !method.requestStream && !method.responseStream
    const guarded: grpc.ServerInterceptingCall = new grpc.ServerInterceptingCall(call, {
      start: next => next({
        onReceiveMetadata: (metadata, nextMetadata) => {
          if (!budget.open) { guarded.sendStatus({ code: grpc.status.UNAVAILABLE, details: 'the daemon is starting or stopping; try again' }); return }
          let waited: NodeJS.Timeout | undefined
          const admit = (slot: () => void): void => {
            if (ended) { slot(); return } // it went away while waiting
            release = slot
            leaveQueue = undefined
            if (waited !== undefined) { clearTimeout(waited); timers.delete(waited) }
            // from here the request is read: it must arrive whole in time
            receiving = timeout(API_LIMITS.receiveTimeoutMs, `the request message did not arrive within ${API_LIMITS.receiveTimeoutMs / 1000} s`)
            if (kind === 'content') timeout(API_LIMITS.sendTimeoutMs, `the file was not taken within ${API_LIMITS.sendTimeoutMs / 1000} s`)
            abortOf.set(metadata, abort)
            nextMetadata(metadata)
          }
          leaveQueue = budget.acquire(kind, admit)
          if (leaveQueue === undefined) {
            refuse(grpc.status.RESOURCE_EXHAUSTED, `too many ${NOUN[kind]} in progress on this listener (at most ${CAPACITY[kind]}${WAITING[kind] > 0 ? `, and ${WAITING[kind]} waiting` : ''}); try again shortly`)
          } else if (release === undefined) {
            waited = after(API_LIMITS.waitTimeoutMs, () => {
              leaveQueue?.()
              leaveQueue = undefined
              refuse(grpc.status.RESOURCE_EXHAUSTED, `no free slot for ${NOUN[kind]} within ${API_LIMITS.waitTimeoutMs / 1000} s (at most ${CAPACITY[kind]} at once on this listener); try again`)
            })
          }
        },
        onReceiveMessage: (message, nextMessage) => {
          if (receiving !== undefined) { clearTimeout(receiving); timers.delete(receiving) } // the request arrived whole
          nextMessage(message)
        },
        onCancel: () => { ended = true; if (!aborting) done() }
      }),
      // the answer of a unary call must be taken in time (content has its own, longer limit;
      // a watch streams: server.ts drops a watcher that does not drain)
      sendMessage: (message, next) => {
        if (unary && kind !== 'content' && !answering) {
          answering = true
          timeout(API_LIMITS.answerTimeoutMs, `the answer was not taken within ${API_LIMITS.answerTimeoutMs / 1000} s`)
        }
        next(message)
      }
    })
    return guarded
  }
}

const NOUN: Record<CallKind, string> = { upload: 'uploads', content: 'file reads', watch: 'watchers', other: 'calls' }
