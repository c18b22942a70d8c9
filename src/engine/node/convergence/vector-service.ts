// The VectorGet / VectorPut handlers of ConvergenceService: every field validated at the edge
// (INVALID_ARGUMENT naming it) before anything changes; on a cluster not in vector mode both
// calls fail with FAILED_PRECONDITION.

import type { VectorGetRequest, VectorGetResponse, VectorPutRequest, VectorPutResponse } from '../../gen/ringdb/v1/convergence';
import { causalContext } from '../../clock/vector-clock-siblings';
import { InvalidFieldError, type ParentCall, PreconditionError } from '../../rpc';
import { checkKey, checkValue } from '../validate';
import type { VectorCoordinator } from './vector-coordinator';
import { contextToken, parseContextToken, siblingToWire } from './vector-wire';

function checkQuorum(field: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0 || v > 1024) throw new InvalidFieldError(field, `must be 0 (the cluster's setting) to the replication factor, got ${v}`);
}

export class VectorHandlers {
  constructor(
    private readonly vector: VectorCoordinator | undefined,
    private readonly mode: string,
  ) {}

  private required(): VectorCoordinator {
    if (!this.vector) throw new PreconditionError(`this cluster's consistencyMode is "${this.mode}"; siblings and causal contexts need consistencyMode "vector"`);
    return this.vector;
  }

  async get(req: VectorGetRequest, call: ParentCall): Promise<VectorGetResponse> {
    const vector = this.required();
    checkKey('key', req.key);
    checkQuorum('r', req.r);
    const r = await vector.read(Buffer.from(req.key), req.r, req.direct, call);
    return { siblings: r.siblings.map(siblingToWire), context: contextToken(causalContext(r.siblings)), replicas: r.replicas, ts: r.ts, origin: r.origin };
  }

  async put(req: VectorPutRequest, call: ParentCall): Promise<VectorPutResponse> {
    const vector = this.required();
    checkKey('key', req.key);
    checkValue('value', req.value);
    if (req.deleted && req.value.length > 0) throw new InvalidFieldError('value', 'must be empty when deleted is true (a delete writes a tombstone sibling)');
    const context = parseContextToken('context', req.context);
    checkQuorum('w', req.w);
    const w = await vector.write(Buffer.from(req.key), req.deleted ? null : Buffer.from(req.value), context, req.w, req.forwarded, call);
    return { dotNode: w.dot.node, dotCounter: w.dot.counter, replicas: w.replicas, ts: w.version?.ts ?? 0, opId: w.version?.opId ?? '' };
  }
}
