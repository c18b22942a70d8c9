// QueryIndex: validated at the edge (an unindexed field is INVALID_ARGUMENT naming it and the
// indexed ones), answered from the local index, and, unless local_only, merged with every up
// peer's local answer. A peer that cannot answer is listed, not fatal: the index is eventually
// consistent anyway, and a partial answer that says so is more useful than none.

import type { QueryIndexRequest, QueryIndexResponse } from '../../gen/ringdb/v1/convergence';
import { describeError, InvalidFieldError } from '../../rpc';
import type { PeerLink } from '../convergence/peer-link';
import type { SecondaryIndexes } from './secondary';

const MAX_VALUE_CHARS = 4096;

export async function queryIndex(selfId: string, indexes: SecondaryIndexes, peers: () => PeerLink[], req: QueryIndexRequest): Promise<QueryIndexResponse> {
  if (!indexes.isIndexed(req.field)) {
    const indexed = indexes.fields.length ? indexes.fields.join(', ') : 'none (the spec\'s indexFields is empty)';
    throw new InvalidFieldError('field', `${JSON.stringify(req.field)} is not indexed; indexed fields: ${indexed}`);
  }
  if (req.value.length > MAX_VALUE_CHARS) throw new InvalidFieldError('value', `must be at most ${MAX_VALUE_CHARS} characters, got ${req.value.length}`);
  const local = indexes.query(req.field, req.value);
  if (req.localOnly) return { keys: local, nodes: [selfId], unreachable: [] };
  const links = peers();
  const answers = await Promise.allSettled(links.map((l) => l.queryIndex(req.field, req.value)));
  const keys = new Map(local.map((k) => [k.toString('latin1'), k]));
  const nodes = [selfId];
  const unreachable: string[] = [];
  answers.forEach((a, i) => {
    if (a.status === 'rejected') return void unreachable.push(`${links[i].id}: ${describeError(a.reason)}`);
    nodes.push(links[i].id);
    for (const k of a.value.keys) keys.set(Buffer.from(k).toString('latin1'), Buffer.from(k));
  });
  return { keys: [...keys.values()].sort(Buffer.compare), nodes, unreachable };
}
