// The peer system: a 3-member etcd cluster (Debian's etcd-server, /usr/bin/etcd) on loopback,
// each member with its own client and peer port and its own temp data folder, at etcd's default
// durability (every committed entry is fsynced to the WAL on a majority before the put returns).
// The client is the etcd3 npm package, over gRPC, like RingDB's.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { guardProcess, killNow, register } from './cleanup';

export const ETCD_BINARY = process.env.RINGDB_BENCH_ETCD ?? '/usr/bin/etcd';

/** The installed etcd's version line, or undefined when there is none. */
export function etcdVersion(): string | undefined {
  const r = spawnSync(ETCD_BINARY, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0 || !r.stdout) return undefined;
  return r.stdout.split('\n')[0].trim();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

interface Member {
  name: string;
  clientUrl: string;
  child: ChildProcess;
  logFile: string;
  /** etcd's arguments: a restart runs it again with them (an existing data folder wins over the --initial-* flags). */
  args: string[];
}

function spawnMember(name: string, clientUrl: string, logFile: string, args: string[]): Member {
  const fd = openSync(logFile, 'a', 0o600);
  const child = spawn(ETCD_BINARY, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`cannot start ${ETCD_BINARY}`);
  return { name, clientUrl, child, logFile, args };
}

export class EtcdCluster {
  private constructor(
    readonly client: Etcd3,
    private readonly members: Member[],
    private readonly guards: number[],
    private readonly stopFn: () => Promise<void>,
  ) {}

  static async start(size = 3): Promise<EtcdCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'ringdb-bench-etcd-'));
    const members: Member[] = [];
    let client: Etcd3 | undefined;
    const guards: number[] = [];
    const stop = register('etcd cluster', async () => {
      client?.close();
      await Promise.all(members.map((m) => stopMember(m)));
      for (const g of guards) killNow(g);
    }, () => [...members.map((m) => m.child.pid ?? 0), ...guards].filter((p) => p > 0), [dir]);
    try {
      const ports = await Promise.all(Array.from({ length: size * 2 }, () => freePort()));
      const names = Array.from({ length: size }, (_, i) => `e${i + 1}`);
      const peerUrl = (i: number): string => `http://127.0.0.1:${ports[2 * i + 1]}`;
      const initialCluster = names.map((n, i) => `${n}=${peerUrl(i)}`).join(',');
      for (let i = 0; i < size; i++) {
        const name = names[i];
        const clientUrl = `http://127.0.0.1:${ports[2 * i]}`;
        members.push(spawnMember(name, clientUrl, join(dir, `${name}.log`), [
          '--name', name,
          '--data-dir', join(dir, name),
          '--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl,
          '--listen-peer-urls', peerUrl(i), '--initial-advertise-peer-urls', peerUrl(i),
          '--initial-cluster', initialCluster, '--initial-cluster-state', 'new',
          '--initial-cluster-token', `ringdb-bench-${process.pid}`,
          '--logger', 'zap', '--log-level', 'warn',
        ]));
      }
      // A member restarted later gets a guard of its own (this one only knows the first pids).
      guards.push(guardProcess(members.map((m) => m.child.pid ?? 0), [dir]));
      client = new Etcd3({ hosts: members.map((m) => m.clientUrl), dialTimeout: 10_000 });
      await waitForLeader(client, members);
      return new EtcdCluster(client, members, guards, stop);
    } catch (err) {
      await stop();
      throw err;
    }
  }

  pids(): Record<string, number> {
    return Object.fromEntries(this.members.map((m) => [m.name, m.child.pid ?? 0]));
  }

  /** Member names, in start order. */
  names(): string[] {
    return this.members.map((m) => m.name);
  }

  /**
   * Stops member `name` with SIGTERM, runs it again on its data folder, and resolves once a
   * linearizable get of `key` through that member alone succeeds (it has rejoined the group).
   */
  restartMember(name: string, key: string | Buffer): Promise<{ stopMs: number; serveMs: number }> {
    const at = this.members.findIndex((m) => m.name === name);
    if (at < 0) throw new Error(`no etcd member ${name}`);
    return this.restart([at], key);
  }

  /** Stops every member, runs them all again, and resolves once each serves a get of `key`. */
  restartAll(key: string | Buffer): Promise<{ stopMs: number; serveMs: number }> {
    return this.restart(this.members.map((_, i) => i), key);
  }

  /** The members at `indices`: stopped together, started again on their folders, waited for. */
  private async restart(indices: number[], key: string | Buffer): Promise<{ stopMs: number; serveMs: number }> {
    const t0 = performance.now();
    await Promise.all(indices.map((i) => stopMember(this.members[i])));
    const t1 = performance.now();
    for (const i of indices) {
      const m = this.members[i];
      this.members[i] = spawnMember(m.name, m.clientUrl, m.logFile, m.args);
      this.guards.push(guardProcess([this.members[i].child.pid ?? 0], []));
    }
    await this.serves(indices.map((i) => this.members[i]), key);
    return { stopMs: t1 - t0, serveMs: performance.now() - t1 };
  }

  /**
   * Polls each member alone with a get of `key` until every one answers with a value (at most
   * 120 s). A new client per attempt: a client's circuit breaker stops trying a host for 5 s after
   * 3 failures in a row, which measured the breaker instead of etcd.
   */
  private async serves(members: Member[], key: string | Buffer): Promise<void> {
    await Promise.all(members.map(async (m) => {
      const until = Date.now() + 120_000;
      for (;;) {
        if (m.child.exitCode !== null || m.child.signalCode !== null) throw new Error(`etcd member ${m.name} exited:\n${tail(m.logFile)}`);
        const one = new Etcd3({ hosts: m.clientUrl, dialTimeout: 1_000 });
        try {
          if ((await one.get(key).options({ deadline: Date.now() + 1_000 }).buffer()) !== null) return;
        } catch {
          // Not up or not rejoined yet.
        } finally {
          one.close();
        }
        if (Date.now() > until) throw new Error(`etcd member ${m.name} did not serve a get within 120 s`);
        await new Promise((r) => setTimeout(r, 10));
      }
    }));
  }

  async stop(): Promise<void> {
    await this.stopFn();
  }
}

/** Retries a put until the cluster has elected a leader and commits (at most 30 s). */
async function waitForLeader(client: Etcd3, members: Member[]): Promise<void> {
  const until = Date.now() + 30_000;
  for (;;) {
    const dead = members.find((m) => m.child.exitCode !== null || m.child.signalCode !== null);
    if (dead) throw new Error(`etcd member ${dead.name} exited:\n${tail(dead.logFile)}`);
    try {
      await client.put('ringdb-bench-ready').value('1').options({ deadline: Date.now() + 2_000 });
      return;
    } catch (err) {
      if (Date.now() > until) throw new Error(`the etcd cluster did not commit a put within 30 s: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}

async function stopMember(m: Member): Promise<void> {
  const exited = new Promise<void>((r) => {
    if (m.child.exitCode !== null || m.child.signalCode !== null) r();
    else m.child.once('exit', () => r());
  });
  m.child.kill('SIGTERM');
  const timer = setTimeout(() => m.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
