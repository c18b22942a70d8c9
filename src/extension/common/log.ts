// The "RingDB" output channel: the extension's own messages and the controller's and nodes'
// logs, filtered by the ringdb.logLevel setting. Details of every error shown to the user go here.
import * as vscode from 'vscode';
import { Disposable } from './lifecycle';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
const RECENT_LINES = 5_000;
export type LogLevel = (typeof LOG_LEVELS)[number];

export class Log extends Disposable {
  readonly channel: vscode.OutputChannel;
  private level: LogLevel;
  /** The last error logged, whatever the level filter (the test API reads it). */
  lastError: string | undefined;
  /** The channel's last lines, for the test API (an output channel cannot be read back). */
  private readonly recent: string[] = [];

  constructor(initialLevel: LogLevel) {
    super();
    this.level = initialLevel;
    this.channel = this._register(vscode.window.createOutputChannel('RingDB'));
  }

  setLevel(level: LogLevel): void {
    this.level = level;
  }

  error(message: string, err?: unknown): void {
    this.lastError = message;
    this.write('error', err === undefined ? message : `${message}\n${describeError(err)}`);
  }

  warn(message: string): void { this.write('warn', message); }
  info(message: string): void { this.write('info', message); }
  debug(message: string): void { this.write('debug', message); }

  /** Lines from a process (controller or node), already carrying their own level. */
  processLine(source: string, line: string, level: LogLevel = 'info', at?: string): void {
    this.write(level, `[${source}] ${line}`, at);
  }

  show(): void {
    this.channel.show(true);
  }

  /** `at`: when the process wrote the line (its own timestamp), else now. */
  private write(level: LogLevel, message: string, at = new Date().toISOString()): void {
    if (LOG_LEVELS.indexOf(level) > LOG_LEVELS.indexOf(this.level)) return;
    const line = `${at} ${level.padEnd(5)} ${message}`;
    this.channel.appendLine(line);
    this.recent.push(line);
    if (this.recent.length > RECENT_LINES * 2) this.recent.splice(0, this.recent.length - RECENT_LINES);
  }

  recentLines(): readonly string[] {
    return this.recent.slice(-RECENT_LINES);
  }
}

/** The full story of an error for the output channel: message, stack, and the gRPC details if any. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const extra = (err as Error & { details?: unknown; code?: unknown });
    const parts = [err.stack ?? `${err.name}: ${err.message}`];
    if (extra.code !== undefined) parts.push(`code: ${String(extra.code)}`);
    if (typeof extra.details === 'string' && extra.details && !err.message.includes(extra.details)) parts.push(`details: ${extra.details}`);
    if (err.cause !== undefined) parts.push(`caused by: ${describeError(err.cause)}`);
    return parts.join('\n');
  }
  return String(err);
}

/** The one-line message of an error, for a notification. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
