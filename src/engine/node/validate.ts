// Validation of every NodeService request at the edge: a bad field is an InvalidFieldError
// naming it and what is accepted, raised before anything changes.

import { OpKind, type Op as ProtoOp, type Peer, type Destinations } from '../gen/ringdb/v1/node';
import type { Op } from '../replication/op-codec';
import { MAX_KEY_BYTES } from '../storage/types';
import { InvalidFieldError, MAX_VALUE_BYTES } from '../rpc';
import { checkTopology, isAddress, isNodeId, NODE_ID_PATTERN, type PeerConfig } from './config';

export const MAX_BATCH_ENTRIES = 100_000;
export const MAX_SCAN_LIMIT = 10_000;
export const DEFAULT_SCAN_LIMIT = 1000;
export const MAX_FETCH_LIMIT = 100_000;
export const DEFAULT_FETCH_LIMIT = 10_000;

export function checkKey(field: string, key: Buffer): void {
  if (key.length === 0) throw new InvalidFieldError(field, `must be 1 to ${MAX_KEY_BYTES} bytes, got an empty key`);
  if (key.length > MAX_KEY_BYTES) throw new InvalidFieldError(field, `must be 1 to ${MAX_KEY_BYTES} bytes, got ${key.length}`);
}

export function checkValue(field: string, value: Buffer): void {
  if (value.length > MAX_VALUE_BYTES) throw new InvalidFieldError(field, `must be at most ${MAX_VALUE_BYTES} bytes, got ${value.length}`);
}

/** A limit where 0 means the default. */
export function checkLimit(field: string, limit: number, max: number, fallback: number): number {
  if (limit > max) throw new InvalidFieldError(field, `must be 0 (default ${fallback}) to ${max}, got ${limit}`);
  return limit === 0 ? fallback : limit;
}

export function checkNodeId(field: string, id: string): void {
  if (!isNodeId(id)) throw new InvalidFieldError(field, `must be a node id matching ${NODE_ID_PATTERN}, got ${JSON.stringify(id)}`);
}

function checkCounter(field: string, n: number, min: number): void {
  if (!Number.isSafeInteger(n) || n < min) throw new InvalidFieldError(field, `must be an integer from ${min} to 2^53-1, got ${n}`);
}

/** The fields every op has, whether it came as a protocol op or as a log record. */
interface CheckedOp {
  origin: string;
  seq: number;
  ts: number;
  key: Buffer;
  value: Buffer | null;
}

type OpKindName = 'skip' | 'put' | 'delete';

/**
 * The rules every op of a batch must meet, however it arrived; `kindOf` checks what only its
 * form has and says what it is. Field names are built only for a wrong op: a Replicate batch
 * holds thousands.
 */
function checkOpList<T extends CheckedOp>(field: string, ops: readonly T[], maxOps: number, kindOf: (op: T, field: string, i: number) => OpKindName): void {
  if (ops.length > maxOps) throw new InvalidFieldError(field, `must hold at most ${maxOps} ops, got ${ops.length}`);
  // A batch carries few distinct origins, mostly in runs: check each once.
  const origins = new Set<string>();
  let lastOrigin: string | undefined;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    if (op.origin !== lastOrigin) {
      if (!origins.has(op.origin)) {
        checkNodeId(`${field}[${i}].origin`, op.origin);
        origins.add(op.origin);
      }
      lastOrigin = op.origin;
    }
    if (!(Number.isSafeInteger(op.seq) && op.seq >= 1)) checkCounter(`${field}[${i}].seq`, op.seq, 1);
    if (!(Number.isSafeInteger(op.ts) && op.ts >= 1)) checkCounter(`${field}[${i}].ts`, op.ts, 1);
    const kind = kindOf(op, field, i);
    const valueBytes = op.value?.length ?? 0;
    if (kind === 'skip') {
      if (op.key.length > 0 || valueBytes > 0) throw new InvalidFieldError(`${field}[${i}].key`, 'must be empty for OP_KIND_SKIP (and so must value)');
      continue;
    }
    if (op.key.length === 0 || op.key.length > MAX_KEY_BYTES) checkKey(`${field}[${i}].key`, op.key);
    if (kind === 'delete' && valueBytes > 0) throw new InvalidFieldError(`${field}[${i}].value`, 'must be empty for OP_KIND_DELETE');
    if (valueBytes > MAX_VALUE_BYTES) checkValue(`${field}[${i}].value`, op.value as Buffer);
  }
}

export function checkOps(field: string, ops: readonly ProtoOp[], maxOps = MAX_BATCH_ENTRIES): void {
  checkOpList(field, ops, maxOps, (op, f, i) => {
    if (op.kind === OpKind.OP_KIND_SKIP) {
      // The key's rule first: a skip with a key is reported as that, whatever else it carries.
      if (op.hintedFor !== undefined && op.key.length === 0 && op.value.length === 0) {
        throw new InvalidFieldError(`${f}[${i}].hinted_for`, 'must be unset for OP_KIND_SKIP');
      }
      return 'skip';
    }
    if (op.kind !== OpKind.OP_KIND_PUT && op.kind !== OpKind.OP_KIND_DELETE) {
      throw new InvalidFieldError(`${f}[${i}].kind`, `must be OP_KIND_PUT, OP_KIND_DELETE or OP_KIND_SKIP, got ${op.kind}`);
    }
    if (op.hintedFor !== undefined) checkNodeId(`${f}[${i}].hinted_for`, op.hintedFor);
    return op.kind === OpKind.OP_KIND_DELETE ? 'delete' : 'put';
  });
}

/**
 * checkOps for ops read from log records (Replicate `records`): the same rules and messages,
 * without making a protocol op of each one. A record has no kind: no key means a skip, no
 * value a delete.
 */
export function checkRecordOps(field: string, ops: readonly Op[], maxOps = MAX_BATCH_ENTRIES): void {
  checkOpList(field, ops, maxOps, (op) => (op.key.length === 0 ? 'skip' : op.value === null ? 'delete' : 'put'));
}

export function checkVersionVector(field: string, vv: Record<string, number>): void {
  for (const [origin, seq] of Object.entries(vv)) {
    checkNodeId(`${field} key`, origin);
    checkCounter(`${field}[${origin}]`, seq, 0);
  }
}

/** Validates a membership update for node `selfId`; returns the peers without this node. */
export function checkMembership(selfId: string, peers: readonly Peer[], topology: Record<string, Destinations>): {
  peers: PeerConfig[];
  topology: Record<string, string[]> | null;
} {
  const seen = new Set<string>([selfId]);
  const out: PeerConfig[] = [];
  peers.forEach((p, i) => {
    checkNodeId(`peers[${i}].id`, p.id);
    if (!isAddress(p.address)) throw new InvalidFieldError(`peers[${i}].address`, `must be host:port, got ${JSON.stringify(p.address)}`);
    if (p.id === selfId) return;
    if (seen.has(p.id)) throw new InvalidFieldError(`peers[${i}].id`, `${JSON.stringify(p.id)} is listed twice`);
    seen.add(p.id);
    out.push({ id: p.id, address: p.address });
  });
  const entries = Object.entries(topology);
  if (entries.length === 0) return { peers: out, topology: null };
  const map: Record<string, string[]> = Object.fromEntries(entries.map(([k, d]) => [k, d.nodeIds]));
  const problems: string[] = [];
  checkTopology(problems, 'topology', map, seen);
  if (problems.length > 0) throw new InvalidFieldError('topology', problems.join('; '));
  return { peers: out, topology: map };
}
