// Warns in the log as this node's certificate nears its end (DEFAULTS.network), so an
// operator renews it before peers start refusing the node.
import type { Logger } from 'pino'
import type { Certificate } from '../crypto/certificate.js'
import { DEFAULTS } from '../config/defaults.js'

const DAY = 86_400_000

/** `current` is read at every check: a renewed certificate (issue 19) is the one watched from then on. */
export function watchCertificateExpiry (current: () => Certificate, log: Logger, clock: () => number = Date.now): () => void {
  let lastWarned = -Infinity
  const check = (): void => {
    const now = clock()
    const cert = current()
    const left = cert.notAfter - now
    const notAfter = new Date(cert.notAfter).toISOString()
    if (left <= 0) {
      if (now - lastWarned >= DAY) log.error({ notAfter }, 'this node\'s certificate has expired: peers refuse it; issue a new one with `data-mesher certificate sign`')
    } else if (left <= DEFAULTS.network.certificateWarnBefore) {
      if (now - lastWarned >= DAY) log.warn({ notAfter, daysLeft: Math.floor(left / DAY) }, 'this node\'s certificate expires soon; renew it with `data-mesher certificate sign` over the same file: the running daemon takes it')
    } else return
    lastWarned = now
  }
  check()
  const timer = setInterval(check, DEFAULTS.network.certificateCheckInterval)
  timer.unref()
  return () => clearInterval(timer)
}
