// The CrdtUpdate / CrdtGet handlers of ConvergenceService: validated at the edge; a CRDT
// error (unknown key, an op the type does not take, a bad amount) is INVALID_ARGUMENT naming
// the field, and on a cluster not in crdt mode the calls fail with FAILED_PRECONDITION.

import { CrdtOpKind, type CrdtUpdateRequest, type CrdtValue as WireValue } from '../../gen/ringdb/v1/convergence';
import { CrdtError, type CrdtOp, type CrdtValue } from '../../crdt/types';
import { InvalidFieldError, PreconditionError } from '../../rpc';
import { checkKey, checkValue } from '../validate';
import { UndecodableStateError, type CrdtMode, type CrdtReadResult } from './crdt-mode';

function toWireValue(r: CrdtReadResult): WireValue {
  const v: CrdtValue = r.value;
  if (typeof v === 'number') return { type: r.type, count: v, elements: [] };
  if (v === null) return { type: r.type, count: 0, elements: [] };
  if (Buffer.isBuffer(v)) return { type: r.type, count: 0, elements: [v] };
  return { type: r.type, count: 0, elements: [...v] };
}

function toOp(req: CrdtUpdateRequest): CrdtOp {
  const by = req.by === 0 ? undefined : req.by;
  switch (req.op) {
    case CrdtOpKind.CRDT_OP_KIND_INCREMENT: return { op: 'increment', by };
    case CrdtOpKind.CRDT_OP_KIND_DECREMENT: return { op: 'decrement', by };
    case CrdtOpKind.CRDT_OP_KIND_ADD: return { op: 'add', element: Buffer.from(req.element) };
    case CrdtOpKind.CRDT_OP_KIND_REMOVE: return { op: 'remove', element: Buffer.from(req.element) };
    case CrdtOpKind.CRDT_OP_KIND_SET: return { op: 'set', value: Buffer.from(req.element) };
    default: throw new InvalidFieldError('op', `must be INCREMENT, DECREMENT, ADD, REMOVE or SET, got ${req.op}`);
  }
}

/**
 * CRDT errors name what was wrong with the key or the op; they travel as INVALID_ARGUMENT. A
 * stored state that does not decode is no fault of the request: FAILED_PRECONDITION.
 */
async function asInvalid<T>(field: string, run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof UndecodableStateError) throw new PreconditionError(err.message);
    if (err instanceof CrdtError) throw new InvalidFieldError(field, err.message);
    throw err;
  }
}

export class CrdtHandlers {
  constructor(
    private readonly crdt: CrdtMode | undefined,
    private readonly mode: string,
  ) {}

  private required(): CrdtMode {
    if (!this.crdt) throw new PreconditionError(`this cluster's consistencyMode is "${this.mode}"; CRDT operations need consistencyMode "crdt"`);
    return this.crdt;
  }

  async update(req: CrdtUpdateRequest): Promise<{ value: WireValue }> {
    const crdt = this.required();
    checkKey('key', req.key);
    checkValue('element', req.element);
    if (!Number.isSafeInteger(req.by)) throw new InvalidFieldError('by', `must be 0 (= 1) to 2^53-1, got ${req.by}`);
    const op = toOp(req);
    const key = Buffer.from(req.key);
    if (!crdt.typeOf(key)) await asInvalid('key', () => crdt.read(key));
    return { value: toWireValue(await asInvalid('op', () => crdt.update(key, op).catch((err: unknown) => {
      // The type's message names the op and what is accepted; the key it was sent for is only known here.
      if (err instanceof CrdtError) throw new CrdtError(`${JSON.stringify(key.toString('utf8'))}: ${err.message}`);
      throw err;
    }))) };
  }

  async get(key: Buffer): Promise<{ value: WireValue }> {
    const crdt = this.required();
    checkKey('key', key);
    return { value: toWireValue(await asInvalid('key', () => crdt.read(Buffer.from(key)))) };
  }
}
