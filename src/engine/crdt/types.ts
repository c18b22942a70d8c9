// The shape every CRDT implements, the operations clients send, and the error they get back.
// States are immutable values: apply and merge return new states, so a node can keep the stored
// state while computing the next one and write it only once it is durable.

export type CrdtName = 'gcounter' | 'pncounter' | 'orset' | 'lwwregister' | 'mvregister';

/** An update sent by a client (through the node's CRDT RPCs and the CLI's incr/sadd/srem). */
export type CrdtOp =
  | { readonly op: 'increment'; readonly by?: number }
  | { readonly op: 'decrement'; readonly by?: number }
  | { readonly op: 'add'; readonly element: Buffer }
  | { readonly op: 'remove'; readonly element: Buffer }
  /** `timestamp` is the coordinating node's Lamport time; the LWW-Register requires it. */
  | { readonly op: 'set'; readonly value: Buffer; readonly timestamp?: number };

export type CrdtOpKind = CrdtOp['op'];

/** What a read returns: a count, a set's members or a multi-value register's values, or one register value. */
export type CrdtValue = number | Buffer | null | readonly Buffer[];

/** Bad input for a CRDT: an op the type does not support, a bad amount, a state of another type. */
export class CrdtError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CrdtError';
  }
}

export interface CrdtType<S, V extends CrdtValue> {
  readonly name: CrdtName;
  /** Byte stored after the format version, so a state is never read as another type. */
  readonly tag: number;
  /** Op kinds this type accepts, for error messages and the CLI. */
  readonly accepts: readonly CrdtOpKind[];
  empty(): S;
  /** Applies a client op at `replica` (the node coordinating it). Throws CrdtError for bad ops. */
  apply(state: S, op: CrdtOp, replica: string): S;
  value(state: S): V;
  /** Join of two states: commutative, associative, idempotent. */
  merge(a: S, b: S): S;
  /** Canonical bytes: equal states encode identically. Starts with the version byte and tag. */
  encode(state: S): Buffer;
  decode(bytes: Buffer): S;
}

/** The ringdb CLI command of each op: users meet the ops as commands, clients as op names. */
const COMMAND_OF: Readonly<Record<CrdtOpKind, string>> = { increment: 'incr', decrement: 'decr', add: 'sadd', remove: 'srem', set: 'set' };

export function unsupported(type: CrdtName, accepts: readonly CrdtOpKind[], op: CrdtOp): CrdtError {
  const named = (kind: CrdtOpKind): string => `${kind} (ringdb ${COMMAND_OF[kind]})`;
  return new CrdtError(`${type} does not support "${op.op}" (ringdb ${COMMAND_OF[op.op]}); accepted: ${accepts.map(named).join(', ')}`);
}

/** The amount of an increment/decrement: a positive safe integer, 1 when omitted. */
export function amount(op: { readonly op: string; readonly by?: number }): number {
  const by = op.by ?? 1;
  if (!Number.isSafeInteger(by) || by < 1) {
    throw new CrdtError(`${op.op} by ${by}: the amount is a positive safe integer`);
  }
  return by;
}

export function checkReplica(replica: string): void {
  if (typeof replica !== 'string' || replica.length === 0) {
    throw new CrdtError(`replica id is a non-empty string, got ${JSON.stringify(replica)}`);
  }
}
