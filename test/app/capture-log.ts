// A pino logger (with Carnet's options) whose lines the test can read.
import { createLogger } from '../../src/logging.ts';
import type { LogLevel } from '../../src/config.ts';

export type LogLine = Record<string, unknown> & { level: number; msg: string };

export function captureLog(level: LogLevel = 'debug') {
  const lines: LogLine[] = [];
  const logger = createLogger(level, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines, text: () => lines.map((l) => JSON.stringify(l)).join('\n') };
}
