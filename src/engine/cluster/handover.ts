// The data handover of a graceful RemoveNode: the remaining nodes pull, through the leaving node's
// FetchUpdates, every op they lack, and apply it with Replicate. Replicate is idempotent (version
// vectors), so running this more than once, or racing normal replication, changes nothing twice.

import * as pb from '../gen/ringdb/v1/node';
import { unary } from '../rpc/client';

const BATCH = 5000;
const CALL_MS = 30_000;

export interface HandoverTarget {
  id: string;
  client: pb.NodeServiceClient;
}

function merge(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = Math.max(out[k] ?? 0, v);
  return out;
}

const same = (a: Record<string, number>, b: Record<string, number>): boolean =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);

/** Copies to each target the ops of `from` it lacks; returns how many ops the targets applied. */
export async function handOver(fromId: string, from: pb.NodeServiceClient, targets: HandoverTarget[], token: string): Promise<number> {
  let applied = 0;
  for (const target of targets) {
    const stats = await unary(target.client, target.client.stats, {}, { token, timeoutMs: CALL_MS });
    let lastSeen = { ...(stats.stats?.versionVector ?? {}) };
    for (;;) {
      const batch = await unary(from, from.fetchUpdates, { requester: target.id, lastSeen, limit: BATCH, skipOrigins: [] }, { token, timeoutMs: CALL_MS });
      if (batch.ops.length === 0) break;
      const res = await unary(target.client, target.client.replicate, { sender: fromId, ops: batch.ops }, { token, timeoutMs: CALL_MS });
      applied += res.applied;
      const next = merge(lastSeen, res.lastSeen);
      // No progress means the target cannot apply these ops yet (e.g. it buffers them); asking again would loop.
      if (!batch.more || same(next, lastSeen)) break;
      lastSeen = next;
    }
  }
  return applied;
}
