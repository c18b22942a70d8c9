// The key a data-plane request names, checked at the edge: either raw (`key`, the issue 3 form)
// or a partition key plus an optional clustering key, stored composite-encoded. A raw key that is
// itself a composite encoding is read as one, so both forms of the same row agree on placement
// and salting (codec/stored-key.ts).

import { encodeCompositeKey, tryDecodeCompositeKey } from '../codec/composite-key';
import { isSaltedKey, type PartitionMap, quorumOverrideProblem, readKeysFor, writeKeyFor } from '../partitioning';
import { InvalidFieldError } from '../rpc';
import { MAX_KEY_BYTES } from '../storage/types';
import { isReservedKey, RESERVED_PREFIX_TEXT } from './indexes/global-keys';
import { checkKey } from './validate';

export interface KeyRef {
  readonly partitionKey: Buffer;
  readonly clusteringKey?: Buffer;
  /** Stored composite-encoded (false: a raw key that is its own partition key). */
  readonly composite: boolean;
  /** The stored key when the partition key is not salted. */
  readonly stored: Buffer;
}

export interface KeyFields {
  key: Buffer;
  partitionKey?: Buffer | undefined;
  clusteringKey?: Buffer | undefined;
}

export function keyRef(req: KeyFields): KeyRef {
  const ref = refOf(req);
  if (isReservedKey(ref.stored)) {
    throw new InvalidFieldError(req.partitionKey !== undefined ? 'partition_key' : 'key', `starts with ${RESERVED_PREFIX_TEXT}, which is reserved for global index entries`);
  }
  return ref;
}

function refOf(req: KeyFields): KeyRef {
  if (req.partitionKey !== undefined) {
    if (req.key.length > 0) throw new InvalidFieldError('key', 'must be empty when partition_key is set (name the key one way)');
    checkKey('partition_key', req.partitionKey);
    if (isSaltedKey(req.partitionKey)) throw new InvalidFieldError('partition_key', 'starts with 0xff 0x53, which is reserved for salted variants of hot keys');
    const ck = req.clusteringKey;
    if (ck !== undefined && ck.length > MAX_KEY_BYTES) throw new InvalidFieldError('clustering_key', `must be at most ${MAX_KEY_BYTES} bytes, got ${ck.length}`);
    const stored = encodeCompositeKey(req.partitionKey, ck);
    if (stored.length > MAX_KEY_BYTES) throw new InvalidFieldError('partition_key', `with clustering_key encodes to ${stored.length} bytes; at most ${MAX_KEY_BYTES} are accepted`);
    return { partitionKey: req.partitionKey, clusteringKey: ck, composite: true, stored };
  }
  if (req.clusteringKey !== undefined) throw new InvalidFieldError('clustering_key', 'needs partition_key (a raw key has no clustering part)');
  checkKey('key', req.key);
  const d = tryDecodeCompositeKey(req.key);
  if (d) return { partitionKey: d.partitionKey, clusteringKey: d.clusteringKey, composite: true, stored: req.key };
  return { partitionKey: req.key, composite: false, stored: req.key };
}

function storedFor(ref: KeyRef, partitionKey: Buffer): Buffer {
  if (partitionKey === ref.partitionKey) return ref.stored;
  return ref.composite ? encodeCompositeKey(partitionKey, ref.clusteringKey) : partitionKey;
}

/** Where a write goes: the key, or one salted variant of a hot key (`pick` spreads them). */
export function writeKeyOf(map: PartitionMap | undefined, ref: KeyRef, pick: number): Buffer {
  return map ? storedFor(ref, writeKeyFor(map, ref.partitionKey, pick)) : ref.stored;
}

/** Every stored key a read must probe: the key and, for a hot key, all its salted variants. */
export function readKeysOf(map: PartitionMap | undefined, ref: KeyRef): Buffer[] {
  return map ? readKeysFor(map, ref.partitionKey).map((pk) => storedFor(ref, pk)) : [ref.stored];
}

/** A consistency override (w or r): unset or 0 = the configured value; else 1..n. */
export function quorumOverride(field: string, v: number | undefined, configured: number, n: number): number {
  if (v === undefined || v === 0) return Math.min(configured, n);
  const problem = quorumOverrideProblem(v, configured, n);
  if (problem) throw new InvalidFieldError(field, problem);
  return v;
}
