// Starts bench/floor.ts (the daemon's packages loaded, nothing done) and waits until it
// has loaded them, so its RSS can be read next to the daemons' (issue 22's floor).
import { fileURLToPath } from 'node:url'
import { start, stop, type Child } from './procs.js'

const FLOOR = fileURLToPath(new URL('../floor.js', import.meta.url))

export async function startFloor (nsPrefix: string[], nodeFlags: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<Child> {
  const [cmd, ...pre] = [...nsPrefix, process.execPath]
  const c = start('floor', cmd, [...pre, ...nodeFlags, FLOOR], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } })
  let out = ''
  const loaded = await new Promise<boolean>(resolve => {
    const t = setTimeout(() => resolve(false), timeoutMs)
    c.proc.stdout!.on('data', (b: Buffer) => { out += b.toString(); if (out.includes('ready\n')) { clearTimeout(t); resolve(true) } })
    void c.exited.then(() => { clearTimeout(t); resolve(false) })
  })
  if (!loaded) { await stop(c, 1000); throw new Error(`the floor process (${FLOOR}) did not load the daemon's packages within ${timeoutMs / 1000} s`) }
  return c
}
