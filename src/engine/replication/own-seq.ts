// A node that starts with an empty replication log may be one whose data folder was lost or
// moved away. Its peers then hold ops it wrote under seqs it no longer knows, and Lamport clocks
// ahead of its own. Were it to take a write before learning both, the write would reuse an op id
// that every peer drops as a duplicate, and its timestamp would lose Last-Write-Wins to versions
// it cannot see: an acknowledged write lost without a word. So before its first local write it
// asks each peer for the peer's clock and the highest of its own seqs the peer has logged, takes
// back its own ops that a peer still retains, and retires the seqs below that highest one that no
// peer retains any more (skips: they advance the version vector and store nothing).
// Once a peer has answered it gives up on any that keeps failing; with none it keeps asking (the
// controller marks the ids that are new to a cluster, NodeConfig.newMember, so only a node that
// may have lost its folder gets here). One answer settles most of it: only ops that a silent
// peer alone received could still collide.

import { pullFrom } from './anti-entropy';
import type { OpLog } from './op-log';
import type { Replica } from './replica';
import type { ReplicationTransport } from './transport';

export interface OwnSeqDeps {
  selfId: string;
  replica: Replica;
  log: OpLog;
  transport: ReplicationTransport;
  peers: () => string[];
  /** At most how long to wait for peers that do not answer once one has; with none, it asks until one does (or peers() is empty). */
  waitMs: number;
  retryMs?: number;
}

export interface OwnSeqReport {
  /** Peers that answered, and those given up on (three failures in a row, or waitMs). */
  heard: string[];
  unheard: string[];
  /** The highest seq of this node's own that a peer had logged. */
  floor: number;
  /** Own ops back in the log (taken back here, or by anti-entropy running beside it), and seqs retired because no peer retains their ops. */
  fetched: number;
  retired: number;
}

const PAGE_OPS = 10_000;
const SILENT_AFTER_FAILURES = 3;

export async function settleOwnSeq(deps: OwnSeqDeps): Promise<OwnSeqReport> {
  const { selfId, replica, log, transport } = deps;
  const deadline = Date.now() + deps.waitMs;
  const before = log.lastSeen(selfId);
  const heard = new Map<string, Record<string, number>>();
  const failures = new Map<string, number>();
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
        // Not up yet, or down: asked again.
        failures.set(peer, (failures.get(peer) ?? 0) + 1);
      }
    }
    const unheard = deps.peers().filter((p) => !heard.has(p));
    // Once one peer has answered, a peer that failed three times in a row (a refused connection
    // fails at once) or the deadline ends the wait.
    const given = heard.size > 0 && (Date.now() >= deadline || unheard.every((p) => (failures.get(p) ?? 0) >= SILENT_AFTER_FAILURES));
    if (unheard.length === 0 || given) break;
    await new Promise((resolve) => setTimeout(resolve, deps.retryMs ?? 200));
  }
  const floor = Math.max(0, ...[...heard.values()].map((seen) => seen[selfId] ?? 0));
  // Pass after pass, since a peer holding a placeholder for one of them (a skip: partitioned mode)
  // stops there and another may hold the op itself. A seq no peer gets past is retired and the
  // fetching resumes; the retiring stride doubles while nothing comes back, so a long prefix no
  // peer retains costs a few rounds rather than one per seq (it may retire a few retained ops
  // past that prefix: their keys come back through Merkle repair, their seqs are not reused).
  let retired = 0;
  let stride = 1;
  while (log.lastSeen(selfId) < floor && deps.peers().length > 0) {
    const from = log.lastSeen(selfId);
    await takeBackPass(deps, heard);
    if (log.lastSeen(selfId) > from) {
      stride = 1;
      continue;
    }
    retired += await replica.retireOwnSeqs(Math.min(floor, from + stride));
    stride *= 2;
  }
  const fetched = log.lastSeen(selfId) - before - retired;
  return { heard: [...heard.keys()], unheard: deps.peers().filter((p) => !heard.has(p)), floor, fetched, retired };
}

/** Asks each peer that answered for this node's own ops it retains, every other origin skipped (anti-entropy brings those). */
async function takeBackPass(deps: OwnSeqDeps, heard: ReadonlyMap<string, Record<string, number>>): Promise<void> {
  const { selfId, log } = deps;
  for (const [peer, seen] of heard) {
    const skipOrigins = Object.keys(seen).filter((o) => o !== selfId);
    try {
      await pullFrom(deps, peer, { skipOrigins, pageOps: PAGE_OPS, done: () => log.lastSeen(selfId) >= (seen[selfId] ?? 0) });
    } catch {
      // What this peer could not give may come from the next one, or is retired.
    }
  }
}
