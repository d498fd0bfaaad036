// `node --import ./tests/helpers/record-loaded-modules.mjs ...`: appends the URL of every
// module the process loads to the file named by $DM_LOADED_MODULES, one per line, so a test
// can see which dependencies a command pulls in. (ESM has no require.cache to look at.)
import { register } from 'node:module'

if (process.env.DM_LOADED_MODULES !== undefined) {
  register('./loaded-modules-hook.mjs', { parentURL: import.meta.url, data: { out: process.env.DM_LOADED_MODULES } })
}
