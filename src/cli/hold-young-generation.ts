// Imported first by bin.ts, before any dependency runs: loading the modules must not leave
// a grown young generation behind (src/daemon/young-generation.ts). The daemon releases
// it once it serves; the other commands are short-lived or light (file watch) and keep it.
import { holdYoungGeneration } from '../daemon/young-generation.js'

holdYoungGeneration()
