// Siblings and causal contexts as VectorGet / VectorPut carry them. A sibling travels with its dot
// and its own context (not only its clock): whether a later write on the same node supersedes it
// depends on what that writer had read, which the clock alone cannot tell.

import { VectorClock, VectorClockError } from '../../clock/vector-clock';
import { versionClock } from '../../clock/vector-clock-siblings';
import type { VectorSibling } from '../../gen/ringdb/v1/convergence';
import { InvalidFieldError } from '../../rpc';
import type { Sibling } from './vector-mode';

/** A context names at most this many nodes: far more than any cluster, small enough to bound a request. */
export const MAX_CONTEXT_NODES = 1024;

export function siblingToWire(s: Sibling): VectorSibling {
  return {
    value: s.value ?? Buffer.alloc(0),
    deleted: s.value === null,
    clock: versionClock(s).toJSON(),
    dotNode: s.dot.node,
    dotCounter: s.dot.counter,
    context: s.context.toJSON(),
  };
}

/** A peer's sibling; a malformed one throws VectorClockError (the answer is not used). */
export function siblingFromWire(w: VectorSibling): Sibling {
  if (w.dotNode.length === 0 || !Number.isSafeInteger(w.dotCounter) || w.dotCounter < 1) {
    throw new VectorClockError(`sibling dot ${JSON.stringify(w.dotNode)}:${w.dotCounter} is not a node id and a counter from 1`);
  }
  return { value: w.deleted ? null : Buffer.from(w.value), dot: { node: w.dotNode, counter: w.dotCounter }, context: VectorClock.from(w.context) };
}

/** The opaque context token of a read: the encoded clock, or nothing when there is nothing to supersede. */
export function contextToken(clock: VectorClock): Buffer {
  return clock.nodes().length === 0 ? Buffer.alloc(0) : clock.encode();
}

/** Reads a context token from a request; INVALID_ARGUMENT naming `field` when it is not one. */
export function parseContextToken(field: string, token: Buffer): VectorClock {
  if (token.length === 0) return VectorClock.EMPTY;
  let decoded: { clock: VectorClock; bytesRead: number };
  try {
    decoded = VectorClock.decode(Buffer.from(token));
  } catch (err) {
    if (err instanceof VectorClockError) throw new InvalidFieldError(field, `is not a causal context returned by VectorGet (${err.message}); pass it unchanged, or empty for a blind write`);
    throw err;
  }
  if (decoded.bytesRead !== token.length) {
    throw new InvalidFieldError(field, `has ${token.length - decoded.bytesRead} bytes after the encoded clock; pass the context returned by VectorGet unchanged`);
  }
  if (decoded.clock.nodes().length > MAX_CONTEXT_NODES) {
    throw new InvalidFieldError(field, `names ${decoded.clock.nodes().length} nodes; at most ${MAX_CONTEXT_NODES} are accepted`);
  }
  return decoded.clock;
}
