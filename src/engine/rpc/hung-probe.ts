// Whether a node's process runs but answers nothing (paused, wedged). Such a node holds a long
// call (a flush or a compaction through the controller, a repair round: 120 s) to its deadline
// before anything is said; a ping tells it in seconds, so the caller can say so and what to do.
import { status } from '@grpc/grpc-js';
import type { NodeServiceClient } from '../gen/ringdb/v1/node';
import { unary } from './client';

/** How long the probe waits: a node that is only busy answers a ping well within this. */
export const HUNG_PROBE_MS = 5_000;

/** What a node that lets the probe pass is, for a person deciding whether to wait or restart it. */
export const HUNG_WORDS = 'its process runs but has stopped answering (hung, paused or overloaded)';

/**
 * True when the node let a ping go unanswered for HUNG_PROBE_MS. Any other failure (a refused
 * connection, a wrong token) is not this probe's to tell: false, and the call that follows
 * reports it in its own words.
 */
export async function letsPingPass(node: NodeServiceClient, token: string, sender: string): Promise<boolean> {
  try {
    await unary(node, node.ping, { sender, clock: 0 }, { token, timeoutMs: HUNG_PROBE_MS });
    return false;
  } catch (err) {
    return (err as { code?: unknown }).code === status.DEADLINE_EXCEEDED;
  }
}
