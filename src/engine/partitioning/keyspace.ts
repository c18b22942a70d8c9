// Positions in the key space that partitions cover.
//
// Both strategies place a key by a *position* compared bytewise:
//  - `hash`: the SHA-1 of the partition key, a 20-byte token in the 160-bit ring;
//  - `range`: the partition key bytes themselves.
// A partition covers [start, end) of positions; end null means "to the end of the space", so
// the last partition never needs a sentinel key. Only the partition key is ever placed, which is
// what keeps one partition's clustering rows together.

import { hash } from 'node:crypto';
import { quotedKeyText } from '../codec/bytes-text';

export type Strategy = 'hash' | 'range';

export const STRATEGIES: readonly Strategy[] = ['hash', 'range'];

export const TOKEN_BYTES = 20;
const RING_SIZE = 1n << 160n;

/** The ring position of a partition key: SHA-1 is uniform enough to spread keys evenly. */
export function hashToken(partitionKey: Buffer): Buffer {
  return hash('sha1', partitionKey, 'buffer');
}

/** A virtual node: one of a node's positions on the hash ring. */
export interface VnodeToken {
  readonly token: Buffer;
  readonly node: string;
}

/** The token of a node's i-th virtual node: derived from its id, so every process computes the same ring. */
export function vnodeToken(nodeId: string, index: number): Buffer {
  return hashToken(Buffer.from(`${nodeId}#${index}`, 'utf8'));
}

export function positionOf(strategy: Strategy, partitionKey: Buffer): Buffer {
  return strategy === 'hash' ? hashToken(partitionKey) : partitionKey;
}

/** The smallest position of a strategy's space: where the first partition must start. */
export function minPosition(strategy: Strategy): Buffer {
  return strategy === 'hash' ? Buffer.alloc(TOKEN_BYTES) : Buffer.alloc(0);
}

export function tokenToBigInt(token: Buffer): bigint {
  return token.length === 0 ? 0n : BigInt(`0x${token.toString('hex')}`);
}

export function bigIntToToken(n: bigint): Buffer {
  return Buffer.from(n.toString(16).padStart(TOKEN_BYTES * 2, '0'), 'hex');
}

/** How many leading bytes of a position positionPrefix reads: 48 bits fit a double exactly. */
export const PREFIX_BYTES = 6;

/**
 * The first PREFIX_BYTES of a position as a number, zero-padded when shorter. Monotone: a <= b
 * bytewise implies prefix(a) <= prefix(b), so unequal prefixes order two positions without
 * comparing their bytes.
 */
export function positionPrefix(position: Uint8Array): number {
  let prefix = 0;
  for (let i = 0; i < PREFIX_BYTES; i++) prefix = prefix * 256 + (i < position.length ? position[i] : 0);
  return prefix;
}

/** Compares positions where null is the end of the space, above every position. */
export function comparePositions(a: Buffer | null, b: Buffer | null): number {
  if (a === null || b === null) return (a === null ? 1 : 0) - (b === null ? 1 : 0);
  return Buffer.compare(a, b);
}

/** True when start <= position < end. */
export function inRange(position: Buffer, start: Buffer, end: Buffer | null): boolean {
  return Buffer.compare(start, position) <= 0 && comparePositions(position, end) < 0;
}

/**
 * Starts of `count` equal slices of the hash ring. Logical partitions are these slices, so each
 * holds 1/count of the keys in expectation regardless of how vnode tokens happen to fall.
 */
export function equalSlices(count: number): Buffer[] {
  const n = BigInt(count);
  return Array.from({ length: count }, (_, i) => bigIntToToken((BigInt(i) * RING_SIZE) / n));
}

/** The token halfway through a hash range, or null when the range is too narrow to split. */
export function midToken(start: Buffer, end: Buffer | null): Buffer | null {
  const lo = tokenToBigInt(start);
  const hi = end === null ? RING_SIZE : tokenToBigInt(end);
  if (hi - lo < 2n) return null;
  return bigIntToToken(lo + (hi - lo) / 2n);
}

/** Fraction of the hash ring a range covers, for measuring how much data a change moves. */
export function ringFraction(start: Buffer, end: Buffer | null): number {
  const hi = end === null ? RING_SIZE : tokenToBigInt(end);
  return Number(((hi - tokenToBigInt(start)) * 1_000_000_000n) / RING_SIZE) / 1e9;
}

/** A position for people: a short token for hash maps, the key as text (or hex) for range maps. */
export function describePosition(strategy: Strategy, position: Buffer | null): string {
  if (position === null) return 'end';
  if (strategy === 'hash') return `token ${position.toString('hex').slice(0, 12)}…`;
  return quotedKeyText(position);
}

export function describeRange(strategy: Strategy, start: Buffer, end: Buffer | null): string {
  return `[${describePosition(strategy, start)}, ${describePosition(strategy, end)})`;
}

// The vnode token ring of a hash map. Each node holds `tokensPerNode` tokens derived from its id;
// a position belongs to the node of the first token at or after it, clockwise (wrapping to the
// first token). Logical partitions are equal slices of the ring; a partition's owner is the
// vnode that claims its start. Adding a node adds its tokens, and only the partitions its tokens
// now claim move to it: about 1/N of the ring, none between old nodes.

/** The sorted tokens of some nodes; ties (never seen with SHA-1) fall back to node order. */
export function buildTokens(nodes: readonly string[], tokensPerNode: number): VnodeToken[] {
  const tokens: VnodeToken[] = [];
  for (const node of nodes) for (let i = 0; i < tokensPerNode; i++) tokens.push({ token: vnodeToken(node, i), node });
  return sortTokens(tokens);
}

export function sortTokens(tokens: readonly VnodeToken[]): VnodeToken[] {
  return [...tokens].sort((a, b) => Buffer.compare(a.token, b.token) || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
}

/** The node whose token is the first at or after `position`, wrapping around the ring. */
export function successorNode(tokens: readonly VnodeToken[], position: Buffer): string {
  if (tokens.length === 0) throw new Error('successorNode: the ring has no tokens');
  let lo = 0;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (Buffer.compare(tokens[mid].token, position) < 0) lo = mid + 1;
    else hi = mid;
  }
  return tokens[lo === tokens.length ? 0 : lo].node;
}
