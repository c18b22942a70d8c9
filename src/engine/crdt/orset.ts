// Observed-remove set with add-wins semantics. Every add gets a unique tag (replica, counter);
// a remove tombstones only the tags its replica has observed, so an add concurrent with a remove
// carries a tag the remove never saw and the element stays: add wins.
//
// Tombstoned tags are dropped from the live tags but kept in `removed`, so a state that still
// lists them can never bring them back in a merge. That keeps merge a join (commutative,
// associative, idempotent) at the price of tombstones growing with removes.

import { checkReplica, CrdtError, type CrdtOp, type CrdtType, unsupported } from './types';
import { Reader, Writer } from './wire';

/** A tag is written `${counter}:${replica}`: the counter is digits, so the first ':' splits it. */
type Tag = string;

export interface OrSetState {
  /** Highest tag counter each replica has issued, so the next add's tag is new. */
  readonly counters: ReadonlyMap<string, number>;
  /** Element (hex) -> live tags. An element with no live tag is absent. */
  readonly live: ReadonlyMap<string, ReadonlySet<Tag>>;
  readonly removed: ReadonlySet<Tag>;
}

function tagOf(replica: string, counter: number): Tag {
  return `${counter}:${replica}`;
}

function parseTag(tag: Tag): { replica: string; counter: number } {
  const colon = tag.indexOf(':');
  return { counter: Number(tag.slice(0, colon)), replica: tag.slice(colon + 1) };
}

/** Drops tombstoned tags and empty elements: the canonical form every operation returns. */
function normalize(counters: Map<string, number>, live: Map<string, Set<Tag>>, removed: Set<Tag>): OrSetState {
  for (const [element, tags] of live) {
    for (const t of tags) if (removed.has(t)) tags.delete(t);
    if (tags.size === 0) live.delete(element);
  }
  return { counters, live, removed };
}

function cloneLive(live: ReadonlyMap<string, ReadonlySet<Tag>>): Map<string, Set<Tag>> {
  return new Map([...live].map(([e, tags]) => [e, new Set(tags)]));
}

function sortedTags(tags: Iterable<Tag>): Tag[] {
  return [...tags].sort();
}

function checkElement(element: unknown): asserts element is Buffer {
  if (!Buffer.isBuffer(element)) throw new CrdtError('an orset element is bytes (a Buffer)');
}

export const OrSet: CrdtType<OrSetState, readonly Buffer[]> = {
  name: 'orset',
  tag: 3,
  accepts: ['add', 'remove'],
  empty: () => ({ counters: new Map(), live: new Map(), removed: new Set() }),
  apply(state, op: CrdtOp, replica) {
    checkReplica(replica);
    if (op.op === 'add') {
      checkElement(op.element);
      const counter = (state.counters.get(replica) ?? 0) + 1;
      const live = cloneLive(state.live);
      const key = op.element.toString('hex');
      live.set(key, new Set(live.get(key)).add(tagOf(replica, counter)));
      return normalize(new Map(state.counters).set(replica, counter), live, new Set(state.removed));
    }
    if (op.op === 'remove') {
      checkElement(op.element);
      const observed = state.live.get(op.element.toString('hex'));
      if (!observed) return state;
      const removed = new Set(state.removed);
      for (const t of observed) removed.add(t);
      return normalize(new Map(state.counters), cloneLive(state.live), removed);
    }
    throw unsupported('orset', this.accepts, op);
  },
  value: (state) => [...state.live.keys()].sort().map((hex) => Buffer.from(hex, 'hex')),
  merge(a, b) {
    const counters = new Map(a.counters);
    for (const [r, n] of b.counters) if (n > (counters.get(r) ?? 0)) counters.set(r, n);
    const live = cloneLive(a.live);
    for (const [e, tags] of b.live) live.set(e, new Set([...(live.get(e) ?? []), ...tags]));
    return normalize(counters, live, new Set([...a.removed, ...b.removed]));
  },
  encode(state) {
    const w = new Writer(this.tag);
    const replicas = [...state.counters.keys()].sort();
    w.uint(replicas.length);
    for (const r of replicas) w.string(r).uint(state.counters.get(r) ?? 0);
    const elements = [...state.live.keys()].sort();
    w.uint(elements.length);
    for (const e of elements) {
      const tags = sortedTags(state.live.get(e) ?? []);
      w.bytes(Buffer.from(e, 'hex')).uint(tags.length);
      for (const t of tags) writeTag(w, t);
    }
    const removed = sortedTags(state.removed);
    w.uint(removed.length);
    for (const t of removed) writeTag(w, t);
    return w.finish();
  },
  decode(bytes) {
    const r = new Reader(bytes, 'orset', this.tag);
    const counters = new Map<string, number>();
    for (let i = r.uint(); i > 0; i--) {
      const replica = r.string();
      counters.set(replica, r.uint());
    }
    const live = new Map<string, Set<Tag>>();
    for (let i = r.uint(); i > 0; i--) {
      const element = r.bytes().toString('hex');
      const tags = new Set<Tag>();
      for (let j = r.uint(); j > 0; j--) tags.add(readTag(r));
      live.set(element, tags);
    }
    const removed = new Set<Tag>();
    for (let i = r.uint(); i > 0; i--) removed.add(readTag(r));
    r.end();
    return normalize(counters, live, removed);
  },
};

function writeTag(w: Writer, tag: Tag): void {
  const { replica, counter } = parseTag(tag);
  w.string(replica).uint(counter);
}

function readTag(r: Reader): Tag {
  const replica = r.string();
  return tagOf(replica, r.uint());
}
