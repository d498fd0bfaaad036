// Writing key files: private keys 0600 and never over an existing file.
import { writeFile } from 'node:fs/promises'
import { Refused } from './args.js'

export async function writeNewFile (path: string, text: string, mode: number): Promise<void> {
  try {
    await writeFile(path, text, { mode, flag: 'wx' })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') throw new Refused(`${path} exists; refusing to overwrite a key`)
    throw new Refused(`cannot write ${path}: ${code ?? (err as Error).message}`)
  }
}
