// One node of the cluster as the controller sees it: its identity and files, which survive
// restarts, and its current process and monitor, which do not. States follow the process:
// starting -> up (serving, answers Stats) <-> suspect (alive, not answering) -> down | stopped.

import { EventEmitter } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { NodeState, type NodeInfo } from '../gen/ringdb/v1/control';
import type * as pb from '../gen/ringdb/v1/node';
import type { DownMark } from './down-file';
import type { NodeMonitor } from './monitor';
import type { NodeFiles } from './node-config';
import type { NodeProcess } from './node-process';

export class Member {
  state = NodeState.NODE_STATE_STOPPED;
  stateSince = Date.now();
  reason = 'not started';
  /** host:port a client connects to; "" before the node first served (but see Cluster.placeUnservedDown). */
  address = '';
  port = 0;
  startedAt = 0;
  process: NodeProcess | undefined;
  monitor: NodeMonitor | undefined;
  /**
   * Where the last process's log stream stopped: the next process's stream resumes there, so the
   * entries it appends while catching up, before its first Stats, are not skipped.
   */
  logResumeLsn: number | undefined;
  stats: pb.NodeStats | undefined;
  /** Why the current process is expected to exit, so its exit is reported as asked for. */
  expectedExit: 'stop' | 'kill' | undefined;
  /** Set while it is down on purpose (down-file.ts): a controller resuming the cluster leaves it down. */
  downMark: DownMark | undefined;
  /** Set while RemoveNode runs: peers no longer list this node. */
  leaving = false;
  /**
   * No peer can hold ops of this id: a node of a cluster started on an empty data folder, or one
   * AddNode made (ids are never reused). Cleared once it has served: a later start is a restart.
   */
  newMember = false;
  /** Every line the node prints, across restarts; `NodeLogs --follow` listens here. */
  readonly lines = new EventEmitter();

  constructor(
    readonly id: string,
    readonly files: NodeFiles,
  ) {
    this.lines.setMaxListeners(0);
  }

  get running(): boolean {
    return this.process?.running ?? false;
  }

  /** Returns the previous state when it changed, undefined otherwise. */
  setState(state: NodeState, reason: string): NodeState | undefined {
    if (state === this.state && reason === this.reason) return undefined;
    const previous = this.state;
    this.state = state;
    this.reason = reason;
    this.stateSince = Date.now();
    return previous;
  }

  info(): NodeInfo {
    return {
      id: this.id,
      address: this.address,
      pid: this.running ? (this.process?.pid ?? 0) : 0,
      state: this.state,
      startedAtUnixMs: this.startedAt,
      stateSinceUnixMs: this.stateSince,
      dataDir: this.files.dir,
      logFile: this.files.logFile,
      reason: this.reason,
      stats: this.stats,
      downOnPurpose: this.downMark !== undefined,
    };
  }
}

/** The address clients dial for a node listening on `host`: wildcards are reached over loopback. */
export function dialAddress(host: string, port: number): string {
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return h.includes(':') ? `[${h}]:${port}` : `${h}:${port}`;
}

/** True when `port` can be bound on `host` right now (a restarted node keeps its port if it can). */
export function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A port free on `host` when asked: for a node down on purpose that never served, so its peers
 * have an address to list it under (one they cannot reach, as for any down node) and a restart
 * a place to serve that they already know.
 */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
