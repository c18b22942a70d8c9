// What the read cache keeps: entries with Buffers of their own, not views of the store's memory
// (a memtable slab of up to 1 MiB, a table block), which a long-lived cached view would pin
// long after a flush.

import assert from 'node:assert/strict';
import { Store } from '../storage';
import { FaultFileSystem } from '../storage/fault-fs';
import { ReadCache } from './read-cache';

describe('read cache entries', () => {
  it('keeps a copy of what the store handed out, not a view of a memtable slab', async () => {
    const store = await Store.open('/data/store', { fs: new FaultFileSystem(), sync: 'none', autoCompact: false });
    try {
      const key = Buffer.from('hot');
      await store.write([{ key, value: Buffer.from('value'), ts: 1, origin: 'n1' }]);
      const fromStore = store.get(key);
      assert.ok(fromStore?.value && fromStore.value.buffer.byteLength >= 64 * 1024, 'the store hands out a view of its slab');
      const cache = new ReadCache(10);
      cache.get(key, (k) => store.get(k));
      const cached = cache.get(key, () => assert.fail('a second read is served from the cache'));
      assert.deepEqual(cached, fromStore);
      assert.ok(cached?.value && cached.value.buffer.byteLength < 64 * 1024, `cached value sits in ${cached?.value?.buffer.byteLength} bytes`);
    } finally {
      await store.close();
    }
  });
});
