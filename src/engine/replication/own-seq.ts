// A node that starts with an empty replication log may be one whose data folder was lost or
// moved away. Its peers then hold ops it wrote under seqs it no longer knows, and Lamport clocks
// ahead of its own. Were it to take a write before learning both, the write would reuse an op id
// that every peer drops as a duplicate, and its timestamp would lose Last-Write-Wins to versions
// it cannot see: an acknowledged write lost without a word. So before its first local write it
// asks each peer for the peer's clock and the highest of its own seqs the peer has logged, takes
// back its own ops that a peer still retains, and retires the seqs below that highest one that no
// peer retains any more (skips: they advance the version vector and store nothing).
// It waits for every peer for a while, then goes on with those that answered; with none, it keeps
// asking: a node cannot tell a new folder from a lost one, and one answer settles most of it (only
// ops the silent peers alone received could still collide).

import type { OpLog } from './op-log';
import type { Replica } from './replica';
import type { ReplicationTransport } from './transport';

export interface OwnSeqDeps {
  selfId: string;
  replica: Replica;
  log: OpLog;
  transport: ReplicationTransport;
  peers: () => string[];
  /** How long to wait for peers that do not answer once one has; with none, it asks until one does (or peers() is empty). */
  waitMs: number;
  retryMs?: number;
}

export interface OwnSeqReport {
  /** Peers that answered, and those that did not before waitMs passed. */
  heard: string[];
  unheard: string[];
  /** The highest seq of this node's own that a peer had logged. */
  floor: number;
  /** Own ops back in the log (taken back here, or by anti-entropy running beside it), and seqs retired because no peer retains their ops. */
  fetched: number;
  retired: number;
}

const PAGE_OPS = 10_000;

export async function settleOwnSeq(deps: OwnSeqDeps): Promise<OwnSeqReport> {
  const { selfId, replica, log, transport } = deps;
  const deadline = Date.now() + deps.waitMs;
  const before = log.lastSeen(selfId);
  const heard = new Map<string, Record<string, number>>();
  for (;;) {
    for (const peer of deps.peers()) {
      if (heard.has(peer)) continue;
      try {
        // limit 1: the answer's last_seen and clock are what is wanted, not ops (any it carries are applied, as anti-entropy would).
        const r = await transport.fetchUpdates(peer, log.versionVector(), 1, []);
        replica.clock.observe(r.clock);
        if (r.ops.length > 0) await replica.applyRemote(r.ops);
        heard.set(peer, r.lastSeen);
      } catch {
        // Not up yet (a cluster's nodes start side by side), or down: asked again until the deadline.
      }
    }
    const unheard = deps.peers().filter((p) => !heard.has(p));
    if (unheard.length === 0 || (heard.size > 0 && Date.now() >= deadline)) break;
    await new Promise((resolve) => setTimeout(resolve, deps.retryMs ?? 200));
  }
  const floor = Math.max(0, ...[...heard.values()].map((seen) => seen[selfId] ?? 0));
  for (const [peer, seen] of heard) {
    // Only this node's own ops: every other origin is left to anti-entropy, which runs anyway.
    const others = Object.keys(seen).filter((o) => o !== selfId);
    try {
      for (let page = 0; page < 1000 && log.lastSeen(selfId) < (seen[selfId] ?? 0); page++) {
        const r = await transport.fetchUpdates(peer, log.versionVector(), PAGE_OPS, others);
        replica.clock.observe(r.clock);
        if (r.ops.length === 0) break;
        const { applied } = await replica.applyRemote(r.ops);
        if (applied === 0 || !r.more) break;
      }
    } catch {
      // What this peer could not give is retired below, or taken from the next peer.
    }
  }
  const fetched = log.lastSeen(selfId) - before;
  const retired = log.lastSeen(selfId) < floor ? await replica.retireOwnSeqs(floor) : 0;
  return { heard: [...heard.keys()], unheard: deps.peers().filter((p) => !heard.has(p)), floor, fetched, retired };
}
