// Secondary indexes (`indexFields`): for each indexed field, value -> keys whose stored value is
// a JSON object with that field. Local to the node and in memory: built by one synchronous scan
// of the store on start (no write can slip between the scan and the subscription), then kept
// current by every version ObservedStore applies — puts, deletes, replicated ops, repairs. A
// value that is not a JSON object, or whose field is not a string, number or boolean, is stored
// and simply not indexed.
//
// The index holds every stored key, but a query answers only keys of partitions the node
// replicates under its current map: a range the node gave up may still be stored here until it is
// dropped (a node that was down during the move drops it only once it is back), and its values
// there stop following the writes that now go to the new replicas.

import type { Store } from '../../storage';
import type { Entry } from '../../storage/types';
import type { ObservedStore } from '../convergence/observed-store';
import { indexedValues } from './json-fields';

const BUILD_PAGE = 10_000;

export class SecondaryIndexes {
  /** field -> value -> keys (latin1 ids, so any key bytes round-trip). */
  private readonly byField = new Map<string, Map<string, Set<string>>>();
  /** key -> field -> value it is indexed under, so a new version can take the old one out. */
  private readonly ofKey = new Map<string, Map<string, string>>();

  constructor(
    readonly fields: readonly string[],
    store: Store,
    observed: ObservedStore,
    private readonly replicates: (storedKey: Buffer) => boolean,
  ) {
    for (const f of fields) this.byField.set(f, new Map());
    if (fields.length === 0) return;
    let start: Buffer | undefined;
    for (;;) {
      const page = store.scan({ start, limit: BUILD_PAGE });
      for (const e of page) this.update(e);
      if (page.length < BUILD_PAGE) break;
      start = Buffer.concat([page[page.length - 1].key, Buffer.from([0])]);
    }
    // Subscribed for the node's lifetime, like the store it follows.
    observed.onApplied((entries) => {
      for (const e of entries) this.update(e);
    });
  }

  isIndexed(field: string): boolean {
    return this.byField.has(field);
  }

  /** Keys of partitions this node replicates whose stored value has `field` equal to `value`, sorted. */
  query(field: string, value: string): Buffer[] {
    const keys = this.byField.get(field)?.get(value);
    if (!keys) return [];
    const out: Buffer[] = [];
    for (const id of [...keys].sort()) {
      const key = Buffer.from(id, 'latin1');
      if (this.replicates(key)) out.push(key);
    }
    return out;
  }

  private update(e: Entry): void {
    const id = e.key.toString('latin1');
    const old = this.ofKey.get(id);
    if (old) {
      for (const [field, value] of old) {
        const keys = this.byField.get(field)?.get(value);
        keys?.delete(id);
        if (keys?.size === 0) this.byField.get(field)?.delete(value);
      }
      this.ofKey.delete(id);
    }
    const fields = indexedValues(e.value, this.byField.keys());
    for (const [field, v] of fields) {
      const values = this.byField.get(field) as Map<string, Set<string>>;
      let keys = values.get(v);
      if (!keys) values.set(v, (keys = new Set()));
      keys.add(id);
    }
    if (fields.size > 0) this.ofKey.set(id, fields);
  }
}
