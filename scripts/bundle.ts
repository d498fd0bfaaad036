// `npm run build` (after tsc): the daemon and CLI as one file, dist/bundle/data-mesher.mjs,
// which package.json's bin runs. Measured (issue 22, docs/DECISIONS.md "One file"): loading
// one bundled file instead of ~1,000 modules resolved and compiled one by one cuts the CPU
// to a serving daemon by about a quarter.
//
// What stays outside the bundle, read from node_modules at run time as before:
// - QUIC's native module (@chainsafe/libp2p-quic-<platform>): @chainsafe/libp2p-quic loads
//   it with a require() of its own (createRequire), which esbuild leaves alone;
// - the .proto files that @grpc/reflection and grpc-health-check read from beside their own
//   code: their `__dirname` is rewritten to their directory in node_modules, relative to
//   the bundle (the package keeps node_modules beside dist/, in npm and in nixos/package.nix).
import { build, type Plugin } from 'esbuild'
import { readFile } from 'node:fs/promises'
import { dirname, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))
const outfile = `${root}/dist/bundle/data-mesher.mjs`

/** Packages whose code finds files through __dirname. */
const READS_BESIDE_ITSELF = /node_modules\/(@grpc\/reflection|grpc-health-check)\/.*\.js$/

const keepDirname: Plugin = {
  name: 'keep-dirname',
  setup (b) {
    b.onLoad({ filter: READS_BESIDE_ITSELF }, async args => {
      const rel = relative(dirname(outfile), dirname(args.path))
      const text = await readFile(args.path, 'utf8')
      return { contents: `var __dirname = __bundleDir(${JSON.stringify(rel)});\n${text}`, loader: 'js' }
    })
  }
}

await build({
  entryPoints: [`${root}/dist/src/cli/bin.js`],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  plugins: [keepDirname],
  logLevel: 'warning',
  // whitespace and syntax only: names stay, so stack traces and logs still say which function
  // (V8 keeps a script's source for lazy compilation: 2.0 MB instead of 3.2 MB, 5-6 MB less RSS)
  minifyWhitespace: true,
  minifySyntax: true,
  // CommonJS dependencies call require() and read __dirname: give the ESM bundle both
  banner: {
    js: [
      "import { createRequire as __createRequire } from 'node:module'",
      "import { fileURLToPath as __fileURLToPath } from 'node:url'",
      "import { dirname as __dirnameOf, join as __joinPath } from 'node:path'",
      'const require = __createRequire(import.meta.url)',
      'const __filename = __fileURLToPath(import.meta.url)',
      'const __dirname = __dirnameOf(__filename)',
      'const __bundleDir = (rel) => __joinPath(__dirname, rel)'
    ].join(';\n') + ';'
  }
})
