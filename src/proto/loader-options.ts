// How proto-loader turns messages into JS objects, at run time. The generated types in
// ./generated describe exactly these objects only if `npm run gen:proto` passes the
// matching flags (--longs=Number --enums=String --defaults --oneofs, camelCase field
// names); tests/unit/proto-types.test.ts checks that the two agree.
import type { Options } from '@grpc/proto-loader'

export const LOADER_OPTIONS = {
  /** field names in camelCase (nodeId, heldUntil), as the generator writes them without --keepCase */
  keepCase: false,
  /** uint64 as a JS number: every 64-bit field here is a unix-ms time, a size or a counter, all far below 2^53 */
  longs: Number,
  /** enums as their names ('ACCEPTED', 'UPDATED') */
  enums: String,
  /** absent fields read as their zero value ('' / 0 / false / [] / null for a message) */
  defaults: true,
  oneofs: true
} as const satisfies Options
