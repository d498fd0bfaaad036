// npm run sim: the seeded simulator of the protocol core (tests/sim/README.md).
import { main } from '../tests/sim/cli.js'

try {
  main(process.argv.slice(2))
} catch (err) {
  console.error(`sim: ${(err as Error).message}`)
  process.exit(2)
}
