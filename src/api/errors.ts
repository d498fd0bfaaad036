// How refusals become gRPC statuses, with a message a human understands.
import { status as Status } from '@grpc/grpc-js'
import type { RefusalCode } from '../rule/which-version-wins.js'
import { StoreIOError } from '../store/replica.js'

export class ApiError extends Error {
  override name = 'ApiError'
  constructor (readonly code: Status, message: string) { super(message) }
}

const REFUSAL_STATUS: Record<RefusalCode, Status> = {
  'not-configured': Status.PERMISSION_DENIED,
  'not-signer': Status.PERMISSION_DENIED,
  'bad-key': Status.INVALID_ARGUMENT,
  'bad-signature': Status.INVALID_ARGUMENT,
  'bad-content': Status.INVALID_ARGUMENT,
  'too-large': Status.RESOURCE_EXHAUSTED,
  'not-certified': Status.PERMISSION_DENIED,
  'wrong-network': Status.PERMISSION_DENIED,
  'over-quota': Status.RESOURCE_EXHAUSTED
}

export function refusal (code: RefusalCode, reason: string): ApiError {
  return new ApiError(REFUSAL_STATUS[code], reason)
}

export function toServiceError (err: unknown): { code: Status, details: string } {
  if (err instanceof ApiError) return { code: err.code, details: err.message }
  if (err instanceof StoreIOError) {
    const full = err.code === 'ENOSPC' || err.code === 'EDQUOT'
    return { code: full ? Status.RESOURCE_EXHAUSTED : Status.UNAVAILABLE, details: err.message }
  }
  return { code: Status.INTERNAL, details: `internal error: ${(err as Error).message}` }
}
