// Merging R replicas' scan pages: newest version per key, key order, and a page cut short by its
// limit bounds the merge (keys past its last one may exist on that replica).
import assert from 'node:assert/strict';
import type { ScanEntry } from '../gen/ringdb/v1/node';
import { mergePages } from './coordinator';

const row = (key: string, ts: number, origin = 'n1', deleted = false): ScanEntry => ({
  key: Buffer.from(key), value: deleted ? Buffer.alloc(0) : Buffer.from(`${key}@${ts}`), deleted, version: { ts, origin, opId: '' },
});
const keys = (m: { entries: ScanEntry[] }) => m.entries.map((e) => e.value.toString() || `${e.key.toString()}(deleted)`);

describe('scan page merge', () => {
  it('keeps the newest version of each key in key order and drops tombstones unless asked', () => {
    const a = { entries: [row('a', 1), row('b', 5), row('c', 2)], more: false };
    const b = { entries: [row('a', 3), row('b', 5, 'n2'), row('c', 4, 'n1', true)], more: false };
    assert.deepEqual(keys(mergePages([a, b], 10, false)), ['a@3', 'b@5']);
    assert.deepEqual(keys(mergePages([a, b], 10, true)), ['a@3', 'b@5', 'c(deleted)']);
    assert.equal(mergePages([a, b], 10, false).continuationToken.length, 0);
  });

  it('stops at the last key of a page cut by its limit and at the limit', () => {
    const full = { entries: [row('a', 1), row('b', 1), row('c', 1), row('d', 1)], more: false };
    const cut = { entries: [row('a', 1), row('b', 2)], more: true };
    const merged = mergePages([full, cut], 3, false);
    assert.deepEqual(keys(merged), ['a@1', 'b@2']);
    assert.equal(merged.continuationToken.toString(), 'b');
    const limited = mergePages([full], 3, false);
    assert.deepEqual(keys(limited), ['a@1', 'b@1', 'c@1']);
    assert.equal(limited.continuationToken.toString(), 'c');
  });
});
