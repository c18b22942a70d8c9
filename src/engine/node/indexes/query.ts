// QueryIndex: validated at the edge (a field in neither index list is INVALID_ARGUMENT naming it
// and the indexed ones), then answered by the index the field has. A field of globalIndexFields
// reads the one partition holding (field, value) (global-index.ts). A field of indexFields is
// answered from the local secondary index and, unless local_only, merged with every up peer's
// local answer. A peer that cannot answer is listed, not fatal: the indexes are eventually
// consistent anyway, and a partial answer that says so is more useful than none.

import { IndexKind, type QueryIndexRequest, type QueryIndexResponse } from '../../gen/ringdb/v1/convergence';
import { describeError, InvalidFieldError, type ParentCall } from '../../rpc';
import type { PeerLink } from '../convergence/peer-link';
import type { GlobalIndex } from './global-index';
import { MAX_INDEXED_VALUE_CHARS } from './json-fields';
import type { SecondaryIndexes } from './secondary';

function indexedFields(indexes: SecondaryIndexes, global: GlobalIndex): string {
  const list = (fields: readonly string[]) => (fields.length ? fields.join(', ') : 'none');
  return `indexFields: ${list(indexes.fields)}; globalIndexFields: ${list(global.fields)}`;
}

function checkValue(req: QueryIndexRequest, kind: IndexKind): IndexKind {
  if (req.value.length > MAX_INDEXED_VALUE_CHARS) throw new InvalidFieldError('value', `must be at most ${MAX_INDEXED_VALUE_CHARS} characters (longer field values are not indexed), got ${req.value.length}`);
  return kind;
}

/** The index that answers `req`, or INVALID_ARGUMENT naming what is wrong with it. */
export function checkQuery(indexes: SecondaryIndexes, global: GlobalIndex, req: QueryIndexRequest): IndexKind {
  const field = JSON.stringify(req.field);
  const kind = req.kind ?? IndexKind.INDEX_KIND_UNSPECIFIED;
  if (kind !== IndexKind.INDEX_KIND_UNSPECIFIED && kind !== IndexKind.INDEX_KIND_SECONDARY && kind !== IndexKind.INDEX_KIND_GLOBAL) {
    throw new InvalidFieldError('kind', `must be INDEX_KIND_UNSPECIFIED (0), INDEX_KIND_SECONDARY (1) or INDEX_KIND_GLOBAL (2), got ${kind}`);
  }
  if (req.localOnly && kind === IndexKind.INDEX_KIND_GLOBAL) throw new InvalidFieldError('local_only', 'applies to secondary indexes only; a global index is read where its partition lives');
  if (kind === IndexKind.INDEX_KIND_GLOBAL || (kind === IndexKind.INDEX_KIND_UNSPECIFIED && !req.localOnly && global.isIndexed(req.field))) {
    if (!global.isIndexed(req.field)) throw new InvalidFieldError('field', `${field} has no global index; ${indexedFields(indexes, global)}`);
    return checkValue(req, IndexKind.INDEX_KIND_GLOBAL);
  }
  if (!indexes.isIndexed(req.field)) {
    const why = kind === IndexKind.INDEX_KIND_SECONDARY || req.localOnly ? 'has no secondary index' : 'is not indexed';
    throw new InvalidFieldError('field', `${field} ${why}; ${indexedFields(indexes, global)}`);
  }
  return checkValue(req, IndexKind.INDEX_KIND_SECONDARY);
}

export async function queryIndex(selfId: string, indexes: SecondaryIndexes, global: GlobalIndex, peers: () => PeerLink[], req: QueryIndexRequest, call: ParentCall): Promise<QueryIndexResponse> {
  const kind = checkQuery(indexes, global, req);
  if (kind === IndexKind.INDEX_KIND_GLOBAL) return global.lookup(req.field, req.value, call);
  const answer = (keys: Buffer[], nodes: string[], unreachable: string[]): QueryIndexResponse => ({ keys, nodes, unreachable, kind, partitionId: 0, staleDropped: 0 });
  const local = indexes.query(req.field, req.value);
  if (req.localOnly) return answer(local, [selfId], []);
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
  return answer([...keys.values()].sort(Buffer.compare), nodes, unreachable);
}
