// vitest setupFiles: the polyfill libp2p v3 needs on Node 20, loaded before any test module.
import '../src/polyfill.ts'
