import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { type CacheTicket, LruCache } from './lru';

const k = (n: number): Buffer => Buffer.from([n]);

describe('LRU read cache', () => {
  it('behaves like a reference LRU: same hits, same evictions', () => {
    const op = fc.oneof(
      fc.record({ op: fc.constant('get' as const), key: fc.nat(6) }),
      fc.record({ op: fc.constant('set' as const), key: fc.nat(6), value: fc.nat(100) }),
      fc.record({ op: fc.constant('invalidate' as const), key: fc.nat(6) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(op, { maxLength: 60 }), (capacity, ops) => {
        const cache = new LruCache<number>({ maxEntries: capacity });
        let model: [number, number][] = []; // least recently used first
        let hits = 0;
        for (const o of ops) {
          if (o.op === 'get') {
            const found = model.find(([key]) => key === o.key);
            assert.equal(cache.get(k(o.key)), found?.[1]);
            if (found) {
              hits++;
              model = [...model.filter(([key]) => key !== o.key), found];
            }
          } else if (o.op === 'set') {
            cache.set(k(o.key), o.value);
            model = [...model.filter(([key]) => key !== o.key), [o.key, o.value]];
            if (model.length > capacity) model = model.slice(model.length - capacity);
          } else {
            cache.invalidate(k(o.key));
            model = model.filter(([key]) => key !== o.key);
          }
          assert.equal(cache.stats().entries, model.length);
        }
        assert.equal(cache.stats().hits, hits);
      }),
      { numRuns: 300 },
    );
  });

  it('never serves a version older than the store, whatever reads and writes interleave', () => {
    // A read takes a ticket, reads the store, and fills the cache later; writes invalidate.
    const step = fc.oneof(
      fc.record({ op: fc.constant('write' as const), key: fc.nat(2) }),
      fc.record({ op: fc.constant('startRead' as const), key: fc.nat(2) }),
      fc.record({ op: fc.constant('finishRead' as const), which: fc.nat() }),
      fc.record({ op: fc.constant('get' as const), key: fc.nat(2) }),
      fc.constant({ op: 'clear' as const }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), fc.integer({ min: 1, max: 3 }), (steps, window) => {
        const cache = new LruCache<number>({ maxEntries: 3, invalidationWindow: window });
        const store = [0, 0, 0];
        const inFlight: { key: number; version: number; ticket: CacheTicket }[] = [];
        for (const s of steps) {
          if (s.op === 'write') {
            store[s.key]++;
            cache.invalidate(k(s.key));
          } else if (s.op === 'startRead') {
            const ticket = cache.ticket();
            inFlight.push({ key: s.key, version: store[s.key], ticket });
          } else if (s.op === 'finishRead' && inFlight.length > 0) {
            const [read] = inFlight.splice(s.which % inFlight.length, 1);
            cache.set(k(read.key), read.version, read.ticket);
          } else if (s.op === 'get') {
            const cached = cache.get(k(s.key));
            if (cached !== undefined) assert.equal(cached, store[s.key], `key ${s.key}: cache has version ${cached}, store ${store[s.key]}`);
          } else if (s.op === 'clear') {
            cache.clear();
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('drops a fill that raced with a write, and counts it', () => {
    const cache = new LruCache<string>({ maxEntries: 10 });
    const ticket = cache.ticket();
    cache.invalidate(k(1));
    assert.equal(cache.set(k(1), 'old', ticket), false);
    assert.equal(cache.get(k(1)), undefined);
    assert.equal(cache.set(k(1), 'new', cache.ticket()), true);
    assert.equal(cache.get(k(1)), 'new');
    assert.deepEqual(cache.stats(), { hits: 1, misses: 1, evictions: 0, invalidations: 1, staleFillsDropped: 1, entries: 1, bytes: 0 });
  });

  it('stays safe after an in-flight key invalidation has left the remembered window, and after clear', () => {
    const cache = new LruCache<string>({ maxEntries: 10, invalidationWindow: 1 });
    const ticket = cache.ticket();
    cache.invalidate(k(1));
    cache.invalidate(k(2)); // pushes key 1's invalidation out of the window
    assert.equal(cache.set(k(1), 'old', ticket), false);
    const beforeClear = cache.ticket();
    cache.clear();
    assert.equal(cache.set(k(3), 'old', beforeClear), false);
    assert.equal(cache.set(k(3), 'fresh', cache.ticket()), true);
  });

  it('respects a byte budget, and cacheSize 0 disables it', () => {
    const cache = new LruCache<Buffer>({ maxEntries: 100, maxBytes: 10, sizeOf: (v) => v.length });
    cache.set(k(1), Buffer.alloc(6));
    cache.set(k(2), Buffer.alloc(6));
    assert.equal(cache.get(k(1)), undefined, 'the older entry was evicted to fit');
    assert.equal(cache.stats().bytes, 6);
    assert.equal(cache.set(k(3), Buffer.alloc(11)), false, 'a value larger than the budget is not cached');
    const off = new LruCache<number>({ maxEntries: 0 });
    assert.equal(off.set(k(1), 1), false);
    assert.equal(off.get(k(1)), undefined);
    assert.throws(() => new LruCache({ maxEntries: -1 }), /cacheSize is a non-negative integer/);
  });
});
