// Log lines on stderr (stdout carries only the ready line the controller waits for).
import type { LogLevel } from './config';

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export function createLogger(nodeId: string, level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const at = (lvl: LogLevel) => (message: string) => {
    if (RANK[lvl] >= RANK[level]) write(`${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} [${nodeId}] ${message}\n`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
