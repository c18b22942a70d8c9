// The vnode token ring of a hash map. Each node holds `tokensPerNode` tokens derived from its id;
// a position belongs to the node of the first token at or after it, clockwise (wrapping to the
// first token). Logical partitions are equal slices of the ring (keyspace.ts); a partition's
// owner is the vnode that claims its start. Adding a node adds its tokens, and only the
// partitions its tokens now claim move to it: about 1/N of the ring, none between old nodes.

import { vnodeToken } from './keyspace';
import type { VnodeToken } from './partition-map';

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
