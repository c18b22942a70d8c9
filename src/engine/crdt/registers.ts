// Registers: the LWW-Register keeps the value with the highest (timestamp, origin); the
// MV-Register keeps every concurrent value, ordered by vector clocks, so a client sees a conflict
// instead of losing one side of it.

import { decodeSiblings, encodeSiblings, mergeSiblings, type Version, writeVersion, causalContext } from '../clock/vector-clock-siblings';
import { checkReplica, CrdtError, type CrdtOp, type CrdtType, unsupported } from './types';
import { Reader, Writer } from './wire';

export interface LwwRegisterState {
  /** null until the first set. */
  readonly value: Buffer | null;
  readonly timestamp: number;
  /** The replica that coordinated the winning set: breaks timestamp ties the same way everywhere. */
  readonly origin: string;
}

/**
 * Total order on register states. Timestamp first, then origin; equal (timestamp, origin) can only
 * differ in value if a replica reused a Lamport time, and ordering by bytes keeps merge
 * commutative even then.
 */
function lwwCompare(a: LwwRegisterState, b: LwwRegisterState): number {
  if (a.timestamp !== b.timestamp) return a.timestamp - b.timestamp;
  if (a.origin !== b.origin) return a.origin < b.origin ? -1 : 1;
  if (a.value === null || b.value === null) return (a.value === null ? 0 : 1) - (b.value === null ? 0 : 1);
  return Buffer.compare(a.value, b.value);
}

function checkValue(value: unknown, type: string): asserts value is Buffer {
  if (!Buffer.isBuffer(value)) throw new CrdtError(`a ${type} value is bytes (a Buffer)`);
}

export const LwwRegister: CrdtType<LwwRegisterState, Buffer | null> = {
  name: 'lwwregister',
  tag: 4,
  accepts: ['set'],
  empty: () => ({ value: null, timestamp: 0, origin: '' }),
  apply(state, op: CrdtOp, replica) {
    if (op.op !== 'set') throw unsupported('lwwregister', this.accepts, op);
    checkReplica(replica);
    checkValue(op.value, 'lwwregister');
    const ts = op.timestamp;
    if (ts === undefined || !Number.isSafeInteger(ts) || ts < 1) {
      throw new CrdtError(`lwwregister set needs a timestamp, a positive safe integer (the node's Lamport time); got ${ts}`);
    }
    const candidate: LwwRegisterState = { value: op.value, timestamp: ts, origin: replica };
    return lwwCompare(candidate, state) > 0 ? candidate : state;
  },
  value: (state) => state.value,
  merge: (a, b) => (lwwCompare(a, b) >= 0 ? a : b),
  encode(state) {
    const w = new Writer(this.tag).uint(state.timestamp).string(state.origin);
    if (state.value === null) w.uint(0);
    else w.uint(1).bytes(state.value);
    return w.finish();
  },
  decode(bytes) {
    const r = new Reader(bytes, 'lwwregister', this.tag);
    const timestamp = r.uint();
    const origin = r.string();
    const flag = r.uint();
    if (flag > 1) throw new CrdtError(`lwwregister value flag ${flag}; accepted: 0 (unset) or 1 (value)`);
    const value = flag === 1 ? r.bytes() : null;
    r.end();
    return { value, timestamp, origin };
  },
};

/** The MV-Register is a sibling set whose writes always carry the replica's full context. */
export type MvRegisterState = readonly Version<Buffer>[];

export const MvRegister: CrdtType<MvRegisterState, readonly Buffer[]> = {
  name: 'mvregister',
  tag: 5,
  accepts: ['set'],
  empty: () => [],
  apply(state, op: CrdtOp, replica) {
    if (op.op !== 'set') throw unsupported('mvregister', this.accepts, op);
    checkReplica(replica);
    checkValue(op.value, 'mvregister');
    // A set at a replica replaces what that replica has seen; values written concurrently
    // elsewhere are not in its context and survive the next merge as siblings.
    return writeVersion(state, replica, op.value, causalContext(state)).siblings;
  },
  value: (state) => state.map((v) => v.value).sort(Buffer.compare),
  merge: (a, b) => mergeSiblings(a, b),
  encode(state) {
    return new Writer(this.tag).raw(encodeSiblings(state)).finish();
  },
  decode(bytes) {
    const r = new Reader(bytes, 'mvregister', this.tag);
    let siblings;
    try {
      siblings = decodeSiblings(r.rest());
    } catch (e) {
      throw new CrdtError(`mvregister state: ${e instanceof Error ? e.message : String(e)}`);
    }
    return siblings.map((v, i) => {
      if (v.value === null) throw new CrdtError(`mvregister sibling ${i} is a tombstone; a register value is bytes`);
      return { ...v, value: v.value };
    });
  },
};
