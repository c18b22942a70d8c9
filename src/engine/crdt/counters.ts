// Grow-only and positive-negative counters. Each replica only ever raises its own entry, so the
// pointwise maximum of two states is their join and no increment is counted twice, however
// often states are re-sent by replication, read repair or anti-entropy.

import { amount, checkReplica, CrdtError, type CrdtOp, type CrdtType, unsupported } from './types';
import { Reader, Writer } from './wire';

/** Replica id -> that replica's running total. */
export type GCounterState = ReadonlyMap<string, number>;

export interface PNCounterState {
  readonly increments: GCounterState;
  readonly decrements: GCounterState;
}

function addTo(state: GCounterState, replica: string, by: number): GCounterState {
  checkReplica(replica);
  const next = (state.get(replica) ?? 0) + by;
  if (!Number.isSafeInteger(next)) throw new CrdtError(`counter entry of ${replica} would exceed 2^53-1`);
  return new Map(state).set(replica, next);
}

function mergeMax(a: GCounterState, b: GCounterState): GCounterState {
  const out = new Map(a);
  for (const [replica, n] of b) if (n > (out.get(replica) ?? 0)) out.set(replica, n);
  return out;
}

function sum(state: GCounterState): number {
  let total = 0;
  for (const n of state.values()) total += n;
  return total;
}

function writeEntries(w: Writer, state: GCounterState): void {
  const replicas = [...state.keys()].sort();
  w.uint(replicas.length);
  for (const r of replicas) w.string(r).uint(state.get(r) ?? 0);
}

function readEntries(r: Reader): GCounterState {
  const out = new Map<string, number>();
  const n = r.uint();
  for (let i = 0; i < n; i++) {
    const replica = r.string();
    out.set(replica, r.uint());
  }
  return out;
}

export const GCounter: CrdtType<GCounterState, number> = {
  name: 'gcounter',
  tag: 1,
  accepts: ['increment'],
  empty: () => new Map(),
  apply(state, op: CrdtOp, replica) {
    if (op.op !== 'increment') throw unsupported('gcounter', this.accepts, op);
    return addTo(state, replica, amount(op));
  },
  value: sum,
  merge: mergeMax,
  encode(state) {
    const w = new Writer(this.tag);
    writeEntries(w, state);
    return w.finish();
  },
  decode(bytes) {
    const r = new Reader(bytes, 'gcounter', this.tag);
    const state = readEntries(r);
    r.end();
    return state;
  },
};

export const PNCounter: CrdtType<PNCounterState, number> = {
  name: 'pncounter',
  tag: 2,
  accepts: ['increment', 'decrement'],
  empty: () => ({ increments: new Map(), decrements: new Map() }),
  apply(state, op: CrdtOp, replica) {
    if (op.op === 'increment') return { ...state, increments: addTo(state.increments, replica, amount(op)) };
    if (op.op === 'decrement') return { ...state, decrements: addTo(state.decrements, replica, amount(op)) };
    throw unsupported('pncounter', this.accepts, op);
  },
  value: (state) => sum(state.increments) - sum(state.decrements),
  merge: (a, b) => ({ increments: mergeMax(a.increments, b.increments), decrements: mergeMax(a.decrements, b.decrements) }),
  encode(state) {
    const w = new Writer(this.tag);
    writeEntries(w, state.increments);
    writeEntries(w, state.decrements);
    return w.finish();
  },
  decode(bytes) {
    const r = new Reader(bytes, 'pncounter', this.tag);
    const increments = readEntries(r);
    const decrements = readEntries(r);
    r.end();
    return { increments, decrements };
  },
};
