// Holds a node's local writes (and every clock tick that stamps one) until it knows which of its
// own seqs are taken, when it opened an empty replication log (why: replication/own-seq.ts).
// It waits for the membership when the node started without peers (a cluster start sends it
// next; one without peers, a single node, opens the gate), then settles with the peers, retrying
// after an error. A marker file lives from the node's first open until the settling is done, so a
// node that stops or crashes half way settles again on its next start although its log is no
// longer empty.

import * as path from 'node:path';
import { writeAtomicFile } from '../storage';
import type { FileSystem } from '../storage/types';
import { settleOwnSeq, type OwnSeqReport } from '../replication/own-seq';
import type { OpLog } from '../replication/op-log';
import type { Replica } from '../replication/replica';
import type { ReplicationTransport } from '../replication/transport';
import { describeError, UnavailableError } from '../rpc';
import type { Logger } from './logger';

const MARKER = 'own-seq-pending';
/** How long a local write waits for the gate before it is refused with what the node waits for. */
const ADMIT_WAIT_MS = 3_000;
const RETRY_AFTER_ERROR_MS = 1_000;

export interface OwnSeqGateDeps {
  nodeId: string;
  dataDir: string;
  fs: FileSystem;
  replica: Replica;
  log: OpLog;
  transport: ReplicationTransport;
  /** Current peers; empty once the node closes. */
  peers: () => string[];
  closing: () => boolean;
  /** How long to wait for silent peers once one has answered. */
  waitMs: number;
  logger: Logger;
  /** Called once the gate opens after settling (the node resets its backlog accounting). */
  onSettled: () => void;
}

export class OwnSeqGate {
  private waitingFor: string;
  private started = false;
  private running: Promise<void> | undefined;
  private openGate!: () => void;
  private readonly opened = new Promise<void>((resolve) => void (this.openGate = resolve));
  private isOpen = false;

  private constructor(private readonly deps: OwnSeqGateDeps) {
    this.waitingFor = 'its membership from the controller';
  }

  /** A gate for a node whose log opened empty or whose last settling did not finish; undefined otherwise. */
  static forOpenedNode(deps: OwnSeqGateDeps): OwnSeqGate | undefined {
    const marker = path.join(deps.dataDir, MARKER);
    if (deps.log.nextLsn > 0 && !deps.fs.exists(marker)) return undefined;
    if (!deps.fs.exists(marker)) writeAtomicFile(deps.fs, marker, Buffer.alloc(0));
    return new OwnSeqGate(deps);
  }

  /** The node knows its peers (its config at start, or a membership update). */
  membershipKnown(): void {
    if (this.started || this.isOpen) return;
    if (this.deps.peers().length === 0) {
      // Without peers nobody else can hold its ops: a single node.
      this.finish();
      return;
    }
    this.started = true;
    this.running = this.settle();
  }

  /** Resolves once local writes may go on; after a while refuses with UNAVAILABLE saying what the node waits for. */
  async ready(): Promise<void> {
    if (this.isOpen) return;
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<'waited'>((resolve) => void (timer = setTimeout(() => resolve('waited'), ADMIT_WAIT_MS)));
    const outcome = await Promise.race([this.opened, waited]);
    clearTimeout(timer);
    if (outcome !== 'waited') return;
    throw new UnavailableError(`${this.deps.nodeId} started with an empty data folder and is waiting for ${this.waitingFor} `
      + 'to learn which of its op ids are taken; it takes writes once it has: start the missing nodes, or write to another node');
  }

  get open(): boolean {
    return this.isOpen;
  }

  /** Waits for a settling in progress to end (the node is closing: peers() is empty). */
  async close(): Promise<void> {
    await this.running;
  }

  private async settle(): Promise<void> {
    const { deps } = this;
    while (deps.peers().length > 0) {
      this.waitingFor = `an answer from a peer (${deps.peers().join(', ')})`;
      try {
        const report = await settleOwnSeq({
          selfId: deps.nodeId, replica: deps.replica, log: deps.log, transport: deps.transport, peers: deps.peers, waitMs: deps.waitMs,
        });
        if (deps.closing()) return; // closed half way: the marker stays, the next start settles again
        this.report(report);
        // What it took back must be on disk before the marker goes: else a crash now would
        // restart it with a log that is not empty and no marker, and its seqs unknown.
        await deps.log.whenDurable();
        this.finish();
        deps.onSettled();
        return;
      } catch (err) {
        deps.logger.error(`could not learn which of its own op ids its peers hold: ${describeError(err)}; trying again, local writes wait`);
        await new Promise((resolve) => setTimeout(resolve, RETRY_AFTER_ERROR_MS));
      }
    }
    // The membership lost every peer meanwhile: nobody else holds its ops now.
    if (!deps.closing()) this.finish();
  }

  private finish(): void {
    const marker = path.join(this.deps.dataDir, MARKER);
    if (this.deps.fs.exists(marker)) {
      this.deps.fs.unlink(marker);
      this.deps.fs.fsyncDir(this.deps.dataDir);
    }
    this.isOpen = true;
    this.openGate();
  }

  private report(r: OwnSeqReport): void {
    const { logger, log, nodeId } = this.deps;
    const next = `${nodeId}:${log.lastSeen(nodeId) + 1}`;
    if (r.floor > 0) {
      logger.info(`started with an empty replication log, but peers had logged this node's ops up to seq ${r.floor} (its folder was lost or replaced): `
        + `${r.fetched} of them are back, ${r.retired} seqs no peer retains were retired; the next local write is op ${next}`);
    }
    if (r.unheard.length > 0) {
      logger.warn(`started with an empty replication log; ${r.unheard.join(', ')} did not say which of its own seqs they hold, `
        + `${r.heard.join(', ')} did (next op ${next}): ops of this node that only the silent peers received would collide with new ones`);
    }
  }
}
