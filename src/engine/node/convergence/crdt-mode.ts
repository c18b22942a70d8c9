// `consistencyMode: "crdt"`: the keys named in the spec's `crdt` setting hold encoded CRDT states
// that merge on every replica instead of overwriting each other.
//
// - A client op (CrdtUpdate) reads the stored state, applies the op as this node's replica, and
//   writes the whole new state as an ordinary local write: it is logged and replicated like any
//   other op. Updates on a node run one at a time, so two concurrent increments never both start
//   from the same state and lose one.
// - Every incoming version of a CRDT key (replicated op, pull sync, anti-entropy) is resolved
//   before the store sees it: it is merged with the stored state (and with earlier versions in
//   the same batch). If the join adds nothing it is dropped; otherwise it is stored under a
//   version that beats the stored one, so Last-Write-Wins in the store can never discard state.
// - The Merkle tree records a CRDT key's state digest, not its (ts, origin): replicas holding
//   the same state agree whatever versions they reached it under, and a divergent CRDT key is
//   pushed and pulled so both sides merge.
//
// A tombstone on a CRDT key (Delete) stays Last-Write-Wins: it resets the key; a later op merges
// from the empty state.

import { hash } from 'node:crypto';
import { keyInMessage } from '../../codec/bytes-text';
import { applyCrdtOp, crdtValue, mergeCrdtStates } from '../../crdt/registry';
import { undecodableStateMessage } from '../../crdt/plain-writes';
import { CrdtError, type CrdtName, type CrdtOp, type CrdtValue } from '../../crdt/types';
import { compareVersions, type Entry } from '../../storage/types';
import { encodeVersion, mergeableVersion } from './tree';

export interface CrdtModeDeps {
  nodeId: string;
  types: ReadonlyMap<string, CrdtName>;
  /** The stored version of a key. */
  read(key: Buffer): Entry | undefined;
  /** The node's Lamport clock: a merged version must beat everything seen. */
  tick(): number;
  /** Resolves once the node may stamp a local write (RingNode.ownSeqsSettled: after a lost folder it first learns its peers' clocks). */
  ready(): Promise<void>;
  /** Writes a state as a local op (logged, replicated); resolves once durable. */
  writeLocal(key: Buffer, state: Buffer): Promise<void>;
}

export interface CrdtReadResult {
  type: CrdtName;
  value: CrdtValue;
}

/** A CRDT key's stored bytes do not decode as its type: the stored data's problem, not the caller's. */
export class UndecodableStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UndecodableStateError';
  }
}

export class CrdtMode {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: CrdtModeDeps) {}

  typeOf(key: Buffer): CrdtName | undefined {
    return this.deps.types.get(key.toString('utf8'));
  }

  keys(): string[] {
    return [...this.deps.types.keys()];
  }

  /** Applies a client op; resolves with the merged value once the new state is durable here. */
  update(key: Buffer, op: CrdtOp): Promise<CrdtReadResult> {
    const type = this.require(key);
    const run = this.queue.then(async () => {
      await this.deps.ready();
      const stored = this.deps.read(key)?.value ?? undefined;
      const state = this.decoding(key, type, stored, () => applyCrdtOp(type, stored, op.op === 'set' ? { ...op, timestamp: this.deps.tick() } : op, this.deps.nodeId));
      await this.deps.writeLocal(key, state);
      return { type, value: crdtValue(type, state) };
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  read(key: Buffer): CrdtReadResult {
    const type = this.require(key);
    const stored = this.deps.read(key)?.value ?? undefined;
    return { type, value: this.decoding(key, type, stored, () => crdtValue(type, stored)) };
  }

  /**
   * Runs `work` on a stored state; a CrdtError it throws is the stored state's fault when that
   * state does not decode (checked only then, so a good state is decoded once).
   */
  private decoding<T>(key: Buffer, type: CrdtName, stored: Buffer | undefined, work: () => T): T {
    try {
      return work();
    } catch (err) {
      if (!(err instanceof CrdtError) || stored === undefined) throw err;
      try {
        crdtValue(type, stored);
      } catch (bad) {
        throw new UndecodableStateError(undecodableStateMessage(key.toString('utf8'), type, (bad as Error).message));
      }
      throw err;
    }
  }

  private require(key: Buffer): CrdtName {
    const type = this.typeOf(key);
    if (!type) throw new CrdtError(`${keyInMessage(key)} is not a CRDT key; CRDT keys: ${this.keys().join(', ') || 'none (the spec\'s crdt setting is empty)'}`);
    return type;
  }

  /**
   * Turns a batch about to be written into what must be stored: CRDT keys merged (undefined =
   * nothing new, drop it), everything else unchanged.
   */
  resolve(ops: readonly Entry[]): (Entry | undefined)[] {
    const latest = new Map<string, Entry>();
    return ops.map((op) => {
      const type = this.typeOf(op.key);
      if (!type || op.value === null) return op;
      const id = op.key.toString('latin1');
      const base = latest.get(id) ?? this.deps.read(op.key);
      if (!base || base.value === null) {
        latest.set(id, op);
        return op;
      }
      let merged: Buffer;
      try {
        merged = mergeCrdtStates(type, base.value, op.value);
      } catch {
        // Not a state of this type (a plain value stored before the key was named in the crdt
        // setting, or by a build whose Put took CRDT keys): plain LWW; reads and ops say how to reset it.
        return op;
      }
      if (merged.equals(base.value)) return undefined;
      const out: Entry = compareVersions(op, base) > 0
        ? { key: op.key, value: merged, ts: op.ts, origin: op.origin }
        : { key: op.key, value: merged, ts: this.deps.tick(), origin: this.deps.nodeId };
      latest.set(id, out);
      return out;
    });
  }

  /** The Merkle version of an entry: a CRDT key's state digest (see the module comment), else its LWW version. */
  versionOf(e: Entry): Buffer {
    if (e.value === null || !this.typeOf(e.key)) return encodeVersion(e);
    return mergeableVersion(hash('sha1', e.value, 'buffer'));
  }
}
