// NodeService's Put / Delete / Get / BatchPut / Scan on a cluster in consistencyMode "vector",
// as a Riak user with allow_mult would expect them:
//  - Put and BatchPut are blind writes (no causal context): they add a sibling, never overwrite one.
//  - Delete is a blind tombstone sibling.
//  - Get answers the value when the key has exactly one sibling (a tombstone reads as deleted);
//    with several it fails with FAILED_PRECONDITION naming how many (Riak's 300 Multiple
//    Choices) and pointing at VectorGet / `ringdb siblings`. The encoded sibling set itself is
//    never returned as a value.
//  - Scan fails with FAILED_PRECONDITION: a page of keys cannot show each key's siblings.

import { VectorClock } from '../../clock/vector-clock';
import type { DeleteRequest, GetRequest, GetResponse, PutRequest, PutResponse } from '../../gen/ringdb/v1/node';
import { type ParentCall, PreconditionError } from '../../rpc';
import { keyRef } from '../request-keys';
import type { VectorCoordinator } from './vector-coordinator';

const EMPTY = Buffer.alloc(0);

export class VectorDataPlane {
  constructor(private readonly vector: VectorCoordinator) {}

  async put(req: PutRequest, call: ParentCall): Promise<PutResponse> {
    const w = await this.vector.write(keyRef(req).stored, req.value, VectorClock.EMPTY, req.w ?? 0, req.forwarded ?? false, call);
    return { version: w.version, replicas: w.replicas, hinted: w.hinted };
  }

  async delete(req: DeleteRequest, call: ParentCall): Promise<PutResponse> {
    const w = await this.vector.write(keyRef(req).stored, null, VectorClock.EMPTY, req.w ?? 0, req.forwarded ?? false, call);
    return { version: w.version, replicas: w.replicas, hinted: w.hinted };
  }

  async get(req: GetRequest, call: ParentCall): Promise<GetResponse> {
    const ref = keyRef(req);
    const r = await this.vector.read(ref.stored, req.r ?? 0, req.direct ?? false, call);
    const version = r.ts > 0 ? { ts: r.ts, origin: r.origin, opId: '' } : undefined;
    if (r.siblings.length > 1) {
      throw new PreconditionError(`key has ${r.siblings.length} siblings (concurrent writes, consistencyMode "vector"); read them all with VectorGet ` +
        `(\`ringdb siblings <key>\`) and write with their context to resolve them`);
    }
    const only = r.siblings[0];
    if (!only) return { found: false, value: EMPTY, version, deleted: false, replicas: r.replicas };
    return { found: only.value !== null, value: only.value ?? EMPTY, version, deleted: only.value === null, replicas: r.replicas };
  }

  writeBatch(entries: { key: Buffer; value: Buffer }[], call: ParentCall) {
    return this.vector.writeBatch(entries, call);
  }

  scan(): never {
    throw new PreconditionError('Scan is not served in consistencyMode "vector" (a key may hold several siblings); read each key with VectorGet (`ringdb siblings <key>`)');
  }
}
