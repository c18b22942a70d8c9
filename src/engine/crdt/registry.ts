// The CRDT types by name, the `crdt` setting of the cluster spec, and a byte-level API for the
// node: the store keeps a CRDT key's state as encoded bytes, so applying an op or merging a
// replicated state is bytes in, bytes out, without the node knowing each type's shape.

import { GCounter, PNCounter } from './counters';
import { OrSet } from './orset';
import { LwwRegister, MvRegister } from './registers';
import { CrdtError, type CrdtName, type CrdtOp, type CrdtType, type CrdtValue } from './types';

// The map erases each type's state parameter (method parameters are bivariant, so this
// typechecks); the functions below only ever hand a type its own decoded state, which the tag
// check in decode guarantees.
type AnyCrdt = CrdtType<unknown, CrdtValue>;

export const CRDT_TYPES: Readonly<Record<CrdtName, AnyCrdt>> = {
  gcounter: GCounter,
  pncounter: PNCounter,
  orset: OrSet,
  lwwregister: LwwRegister,
  mvregister: MvRegister,
};

export const CRDT_NAMES = Object.keys(CRDT_TYPES) as CrdtName[];

export function isCrdtName(name: unknown): name is CrdtName {
  return typeof name === 'string' && Object.hasOwn(CRDT_TYPES, name);
}

function typeOf(name: CrdtName): AnyCrdt {
  if (!isCrdtName(name)) throw new CrdtError(`"${String(name)}" is not a CRDT type; accepted: ${CRDT_NAMES.join(', ')}`);
  return CRDT_TYPES[name];
}

/**
 * Validates the spec's `crdt` setting: an object mapping key names to type names, e.g.
 * `{ "likes": "gcounter" }`. null or absent means no CRDT keys. Errors name the entry.
 */
export function parseCrdtConfig(raw: unknown, setting = 'crdt'): ReadonlyMap<string, CrdtName> {
  const out = new Map<string, CrdtName>();
  if (raw === null || raw === undefined) return out;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new CrdtError(`${setting}: expected an object mapping key names to CRDT types (${CRDT_NAMES.join(', ')}), got ${Array.isArray(raw) ? 'an array' : typeof raw}`);
  }
  for (const [key, type] of Object.entries(raw)) {
    if (key.length === 0) throw new CrdtError(`${setting}: a key name is a non-empty string`);
    if (!isCrdtName(type)) {
      throw new CrdtError(`${setting}.${key}: ${JSON.stringify(type)} is not a CRDT type; accepted: ${CRDT_NAMES.join(', ')}`);
    }
    out.set(key, type);
  }
  return out;
}

/** The empty state of a type, encoded: what a CRDT key holds before its first op. */
export function emptyCrdtState(type: CrdtName): Buffer {
  const t = typeOf(type);
  return t.encode(t.empty());
}

/** Applies a client op at `replica` to a stored state (undefined = never written); returns the new state. */
export function applyCrdtOp(type: CrdtName, state: Buffer | undefined, op: CrdtOp, replica: string): Buffer {
  const t = typeOf(type);
  const current = state === undefined ? t.empty() : t.decode(state);
  return t.encode(t.apply(current, op, replica));
}

/** Joins two stored states of the same type (replication, read repair, anti-entropy). */
export function mergeCrdtStates(type: CrdtName, a: Buffer, b: Buffer): Buffer {
  const t = typeOf(type);
  return t.encode(t.merge(t.decode(a), t.decode(b)));
}

/** The value a read returns for a stored state (undefined = never written). */
export function crdtValue(type: CrdtName, state: Buffer | undefined): CrdtValue {
  const t = typeOf(type);
  return t.value(state === undefined ? t.empty() : t.decode(state));
}
