// Argument parsing shared by the commands: node's parseArgs, with usage errors (exit 2)
// kept apart from refusals (exit 1).
import { parseArgs, type ParseArgsConfig } from 'node:util'

export class UsageError extends Error { override name = 'UsageError' }
/** A refusal: the command was well-formed but could not be done (exit 1). */
export class Refused extends Error { override name = 'Refused' }

export type Options = NonNullable<ParseArgsConfig['options']>

export const URL_OPTION: Options = { url: { type: 'string' } }
export const JSON_OPTION: Options = { json: { type: 'boolean' } }

export interface Command {
  /** e.g. "file update" */
  name: string
  usage: string
  summary: string
  options: Options
  run: (values: Record<string, string | boolean | string[] | undefined>, positionals: string[]) => Promise<void>
}

export function parse (cmd: Command, argv: string[]): { values: Record<string, string | boolean | string[] | undefined>, positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { ...cmd.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true })
    return { values: values as Record<string, string | boolean | string[] | undefined>, positionals }
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}

export function requireString (values: Record<string, unknown>, key: string): string {
  const v = values[key]
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${key} is required`)
  return v
}

export function out (line: string): void { process.stdout.write(line + '\n') }
