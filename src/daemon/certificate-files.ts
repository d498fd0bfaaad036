// Watches the files a renewal comes from (cluster.identity_cert, certificate authorities
// given as paths) and calls `changed` when one may have changed (issue 19, live renewal).
//
// Renewals replace files by write-and-rename (clan vars, NixOS activation, editors), which
// a watch on the file itself misses after the first rename (it follows the old inode):
// the directories are watched, filtered by name. Secrets managers such as sops-nix switch
// a symbolic link to a new generation directory instead, which no watch of the old one
// sees: a slow periodic check (DEFAULTS.network.certificateReadInterval) covers that,
// and SIGHUP does the same at once. `changed` must be cheap when nothing changed (it
// compares the bytes it reads).
import { watch, type FSWatcher } from 'node:fs'
import { basename, dirname } from 'node:path'
import type { Logger } from 'pino'
import { DEFAULTS } from '../config/defaults.js'

/** a rename and the write before it come as several events: one call for them all */
const SETTLE_MS = 200

export function watchCertificateFiles (paths: string[], changed: (why: string) => void, log: Logger,
  interval: number = DEFAULTS.network.certificateReadInterval): () => void {
  const byDir = new Map<string, Set<string>>()
  for (const p of paths) {
    const names = byDir.get(dirname(p)) ?? new Set<string>()
    names.add(basename(p))
    byDir.set(dirname(p), names)
  }
  let pending: NodeJS.Timeout | undefined
  const soon = (): void => {
    if (pending !== undefined) return
    pending = setTimeout(() => { pending = undefined; changed('file changed') }, SETTLE_MS)
    pending.unref()
  }
  const watchers: FSWatcher[] = []
  for (const [dir, names] of byDir) {
    try {
      const w = watch(dir, { persistent: false }, (_event, file) => {
        // some platforms give no file name: check anyway, it is cheap
        if (file === null || names.has(file.toString())) soon()
      })
      w.on('error', err => log.warn({ dir, err: err.message }, 'certificate directory watch failed; the periodic check still reads it'))
      watchers.push(w)
    } catch (err) {
      log.warn({ dir, err: (err as Error).message }, 'cannot watch the certificate directory; the periodic check still reads it')
    }
  }
  const timer = setInterval(() => changed('periodic check'), interval)
  timer.unref()
  return () => {
    clearInterval(timer)
    if (pending !== undefined) clearTimeout(pending)
    for (const w of watchers) w.close()
  }
}
