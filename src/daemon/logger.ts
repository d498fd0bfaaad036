// pino JSON on stdout (journald picks it up); the level follows log_level and SIGHUP.
import { pino, type Logger } from 'pino'
import type { LogLevel } from '../config/defaults.js'

export function createLogger (level: LogLevel): Logger {
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime })
}
