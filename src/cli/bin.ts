#!/usr/bin/env node
// The `data-mesher` command. Exit codes: 0 ok, 1 refused (reason on stderr), 2 usage.
import './hold-young-generation.js'
import '../polyfill.js'
import { ClientError } from '../client/client.js'
import { packageVersion } from '../package-root.js'
import { parse, Refused, UsageError, type Command } from './args.js'
import { certificateCommands } from './commands/certificate.js'
import { daemonCommand } from './commands/daemon.js'
import { fileCommands } from './commands/file.js'
import { generateCommands } from './commands/generate.js'
import { statusCommands } from './commands/status.js'

const COMMANDS: Command[] = [daemonCommand, ...generateCommands, ...certificateCommands, ...fileCommands, ...statusCommands]

function overview (): string {
  const width = Math.max(...COMMANDS.map(c => c.name.length))
  return [
    'usage: data-mesher COMMAND [options]   (every command takes --help)',
    '',
    ...COMMANDS.map(c => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Commands that talk to a daemon take --url (unix:///path, host:port, http://host:port);',
    'the default is $DATA_MESHER_URL, then unix:///run/data-mesher/api.sock.',
    'Signing commands bind records to --network-id, else $DATA_MESHER_NETWORK_ID (never to the id a daemon reports).',
    '`data-mesher --version` prints the version. Exit codes: 0 ok, 1 refused (the reason is on stderr), 2 usage error.'
  ].join('\n')
}

function help (c: Command): string {
  return `usage: ${c.usage}\n\n${c.summary}\n`
}

async function main (argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(overview() + '\n')
    return argv.length === 0 ? 2 : 0
  }
  if (argv[0] === '--version' || argv[0] === 'version') {
    process.stdout.write(`data-mesher ${packageVersion()}\n`)
    return 0
  }
  // the longest command name that prefixes the arguments ("file update" before "file")
  const cmd = COMMANDS.find(c => c.name.split(' ').every((w, i) => argv[i] === w))
  if (cmd === undefined) {
    const group = COMMANDS.filter(c => c.name.startsWith(argv[0] + ' '))
    if (group.length > 0 && (argv[1] === undefined || argv[1] === '--help' || argv[1] === '-h')) {
      process.stdout.write(group.map(help).join('\n'))
      return argv[1] === undefined ? 2 : 0
    }
    process.stderr.write(`data-mesher: unknown command "${argv.slice(0, 2).join(' ')}"\n\n${overview()}\n`)
    return 2
  }
  const rest = argv.slice(cmd.name.split(' ').length)
  try {
    const { values, positionals } = parse(cmd, rest)
    if (values.help === true) { process.stdout.write(help(cmd)); return 0 }
    await cmd.run(values, positionals)
    return 0
  } catch (err) {
    if (err instanceof UsageError) { process.stderr.write(`data-mesher ${cmd.name}: ${err.message}\n${help(cmd)}`); return 2 }
    if (err instanceof Refused) { process.stderr.write(`error: ${err.message}\n`); return 1 }
    if (err instanceof ClientError) { process.stderr.write(`error: ${err.message} (${err.codeName})\n`); return 1 }
    process.stderr.write(`error: ${(err as Error).message}\n`)
    return 1
  }
}

process.exitCode = await main(process.argv.slice(2))
