// One node OS process: spawned with an argument array (never a shell), its stdout and stderr
// appended to `<nodeDir>/node.log`, its ready line parsed, its exit observed. The node's stdin is
// a pipe that stays open: when this controller dies, even by SIGKILL, the pipe closes and the
// node exits, so nodes never outlive their controller.

import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { closeSync, existsSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';

export const NODE_READY = 'RINGDB_NODE_READY';
/** A log file larger than this is moved to node.log.1 when the node next starts. */
const LOG_ROTATE_BYTES = 16 * 1024 * 1024;

export interface NodeExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface NodeReady {
  id: string;
  port: number;
  pid: number;
}

export interface SpawnOptions {
  id: string;
  /** Node arguments before `--config` (the script, or `--import tsx` and the script). */
  scriptArgs: string[];
  configFile: string;
  logFile: string;
  readyTimeoutMs: number;
}

/** Events: 'line' (string, every line the node printed), 'exit' (NodeExit). */
export class NodeProcess extends EventEmitter {
  readonly pid: number;
  readonly ready: Promise<NodeReady>;
  readonly exited: Promise<NodeExit>;
  private readonly child: ChildProcess;
  private readonly logFd: number;
  private exit: NodeExit | undefined;
  private logOpen = true;
  private logFailed = false;
  /** The node's last line on stderr: why it exited, when it failed to start. */
  private lastStderrLine = '';
  /** Why the controller ended the process, if it did: written to the log with the exit. */
  private endedBy: string | undefined;

  /** What the node last said on stderr (why it stopped, when it says so). */
  get lastError(): string {
    return this.lastStderrLine;
  }

  constructor(readonly opts: SpawnOptions) {
    super();
    if (existsSync(opts.logFile) && statSync(opts.logFile).size > LOG_ROTATE_BYTES) renameSync(opts.logFile, `${opts.logFile}.1`);
    this.logFd = openSync(opts.logFile, 'a', 0o600);
    this.child = spawn(process.execPath, [...opts.scriptArgs, '--config', opts.configFile], {
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    // A spawn failure surfaces as 'error' without an exit; treat it as one so callers never hang.
    this.exited = new Promise<NodeExit>((resolve) => {
      let done = false;
      const finish = (e: NodeExit): void => {
        if (done) return;
        done = true;
        this.exit = e;
        // Let readline deliver the last lines before the log closes.
        setImmediate(() => {
          // A SIGKILLed node cannot say so itself: without this line its log just stops.
          // A node exits 0 only from its graceful shutdown: a signal, or its stdin closing.
          // A node that stops itself (a damaged file) says why on stderr, just above in its log; the
          // controller may be stopping it at that moment too, as part of the failed start.
          const itself = e.code !== 0 && /^node (stopped|failed to start): /.test(this.lastStderrLine) ? 'it stopped itself, saying why just above' : undefined;
          const why = itself ?? this.endedBy ?? (e.code === 0 ? 'not asked to stop by the controller: it was sent SIGTERM or SIGINT from outside'
            : 'not asked to stop: it crashed or was killed from outside');
          if (e.code !== -1) this.logLine(`[controller] node ${opts.id} (pid ${this.pid}) ended, ${describeExit(e)}: ${why}`);
          this.logOpen = false;
          closeSync(this.logFd);
          this.emit('exit', e);
          resolve(e);
        });
      };
      this.child.once('exit', (code, signal) => finish({ code, signal }));
      this.child.once('error', (err) => {
        this.logLine(`[controller] cannot start node ${opts.id}: ${err.message}`);
        finish({ code: -1, signal: null });
      });
    });
    this.pid = this.child.pid ?? 0;
    this.child.stdin?.on('error', () => undefined);
    this.ready = this.watchReady();
    // Next tick: the creator attaches its 'line' listener after this constructor returns, and a
    // follower (`ringdb logs --follow`) would otherwise miss this line; the node's own output
    // arrives through I/O callbacks, after it.
    process.nextTick(() => this.logLine(`[controller] started node ${opts.id} (pid ${this.pid})`));
  }

  private watchReady(): Promise<NodeReady> {
    return new Promise<NodeReady>((resolve, reject) => {
      let settled = false;
      const settle = (err: Error | undefined, r?: NodeReady): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(r as NodeReady);
      };
      const timer = setTimeout(() => settle(new Error(`node ${this.opts.id} did not report ready within ${this.opts.readyTimeoutMs} ms; see ${this.opts.logFile}`)),
        this.opts.readyTimeoutMs);
      createInterface({ input: this.child.stdout! }).on('line', (line) => {
        if (!settled && line.startsWith(`${NODE_READY} `)) {
          try {
            const r = JSON.parse(line.slice(NODE_READY.length + 1)) as NodeReady;
            if (r.id === this.opts.id && Number.isInteger(r.port) && r.port > 0) settle(undefined, r);
          } catch {
            // Malformed: keep it as a log line and keep waiting.
          }
        }
        this.logLine(line);
      });
      createInterface({ input: this.child.stderr! }).on('line', (line) => {
        if (line.trim() !== '') this.lastStderrLine = line;
        this.logLine(line);
      });
      void this.exited.then((e) => {
        const why = this.lastStderrLine ? `: ${this.lastStderrLine}` : '';
        settle(new Error(`node ${this.opts.id} exited (${describeExit(e)}) before it served${why}; see ${this.opts.logFile}`));
      });
    });
  }

  /** Appends synchronously, so a follower that read the file and then subscribed misses nothing. */
  private logLine(line: string): void {
    // Never after close: the descriptor number may already belong to another file.
    if (this.logOpen && !this.logFailed) {
      try {
        writeSync(this.logFd, `${line}\n`);
      } catch (err) {
        // A full disk must not take the controller (and with it every node) down: followers still get lines.
        this.logFailed = true;
        this.emit('line', `[controller] cannot write ${this.opts.logFile}: ${(err as Error).message}; log lines are no longer saved`);
      }
    }
    this.emit('line', line);
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** SIGKILL: a real crash. `why` goes to the node's log with its exit. */
  kill(why = 'the controller killed it'): Promise<NodeExit> {
    if (this.running) {
      this.endedBy ??= why;
      this.child.kill('SIGKILL');
    }
    return this.exited;
  }

  /** SIGTERM (the node flushes and closes), then SIGKILL after `graceMs`. */
  async terminate(graceMs: number): Promise<NodeExit> {
    if (!this.running) return this.exited;
    this.endedBy ??= 'the controller stopped it (SIGTERM)';
    this.child.kill('SIGTERM');
    // A paused (SIGSTOPped) node holds SIGTERM until the grace runs out and then dies by SIGKILL,
    // a crash where a stop was asked for; resumed, it flushes and exits as asked.
    this.child.kill('SIGCONT');
    const timer = setTimeout(() => {
      this.endedBy = `the controller stopped it (SIGTERM, then SIGKILL after ${graceMs} ms)`;
      this.child.kill('SIGKILL');
    }, graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

export function describeExit(e: NodeExit): string {
  return e.signal ? `killed by ${e.signal}` : `exit code ${e.code}`;
}
